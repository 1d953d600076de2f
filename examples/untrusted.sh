#!/bin/bash
# A stand-in for untrusted code: it tries what malware and curious build scripts try, and prints
# what it got. Run it with:  airlock run --ro-bind "$PWD/examples" /examples -- /examples/untrusted.sh
result() { if [ "$2" = 0 ]; then printf '%-42s %s\n' "$1" "got through: $3"; else printf '%-42s %s\n' "$1" "contained ($3)"; fi; }
attempt() { local label=$1; shift; local out; out=$("$@" 2>&1); result "$label" $? "$(echo "$out" | tail -n1 | cut -c1-60)"; }
echo "inside: $(id -un) uid=$(id -u), host=$(hostname), pid=$$"
attempt "read /etc/shadow"                    cat /etc/shadow
attempt "list /root"                          ls /root
attempt "write into /usr/bin"                 touch /usr/bin/evil
attempt "connect out to 198.51.100.7:443"     timeout 3 bash -c 'exec 3<>/dev/tcp/198.51.100.7/443'
attempt "mount a filesystem"                  mount -t tmpfs none /tmp
attempt "create a user namespace"             unshare -U true
attempt "ptrace pid 1"                        bash -c 'exec 3</proc/1/mem'
attempt "count visible processes (expect ~4)" bash -c 'n=$(ls /proc | grep -c "^[0-9]"); [ "$n" -gt 10 ] && echo "$n" || { echo "$n"; false; }'
attempt "persist in ~/.bashrc"                bash -c 'echo "curl x | sh" >> ~/.bashrc && echo "written to a private tmpfs home, gone after exit"'
