#!/bin/sh
# Harmless: timestomps a file, clears shell history and deletes itself.
echo x > /tmp/implant
touch -d "2010-01-01 00:00" /tmp/implant
rm -f ~/.bash_history; history -c 2>/dev/null
rm -f "$0"
exit 0
