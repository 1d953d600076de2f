#!/bin/sh
# Harmless: container-escape moves that the sandbox denies.
unshare -U -m true 2>/dev/null
mount -t tmpfs none /mnt 2>/dev/null
cat /proc/1/root/etc/hostname 2>/dev/null
echo c > /proc/sysrq-trigger 2>/dev/null
exit 0
