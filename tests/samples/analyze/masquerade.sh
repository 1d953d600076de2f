#!/bin/bash
# Harmless: a copy of sleep named like a kernel thread, and exec -a with a kernel-thread name (T1036.004).
cp /bin/sleep /tmp/kworker
/tmp/kworker 0
(exec -a '[kworker/0:2]' sleep 0)
exit 0
