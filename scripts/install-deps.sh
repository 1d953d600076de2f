#!/usr/bin/env bash
# Installs everything airlock needs to build, test and benchmark, from Debian 12 packages only.
# Usage: scripts/install-deps.sh [--no-peers]   (as root)
set -euo pipefail
peers=1
[ "${1:-}" = "--no-peers" ] && peers=0
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ]; then echo "install-deps.sh: run as root (apt-get)" >&2; exit 2; fi
build=(build-essential cmake pkg-config git ca-certificates
       libseccomp-dev libcap-dev libtomlplusplus-dev nlohmann-json3-dev libcli11-dev libfmt-dev
       libgtest-dev libgmock-dev libbenchmark-dev libre2-dev libyaml-cpp-dev
       libyara-dev libarchive-dev libmagic-dev libgmime-3.0-dev libqpdf-dev libgsf-1-dev
       libmilter-dev libsqlite3-dev libssl-dev zlib1g-dev libnftables-dev)
runtime=(util-linux iproute2 passt slirp4netns uidmap python3 perl file libnftables1)  # libnftables1: --net sinkhole / --net-allow
tests=(yara clamav-testfiles zip unzip p7zip-full gcc keyutils clang libclang-rt-14-dev bc chromium fonts-liberation
       postfix swaks clamav-daemon clamav-milter)  # mail tests: private Postfix instances, clamav-milter peer
runtime+=(7zip)                       # airlock scan: encrypted 7z through the sandboxed 7zz
runtime+=(unar)                       # airlock scan: encrypted RAR through the sandboxed lsar/unar
build+=(libnats-dev libcpp-httplib-dev)  # src/service: nats.c (JetStream, KV) and the HTTP server
runtime+=(nats-server)                 # `airlock serve --local` starts its own; tests start private ones
tests+=(xvfb)                           # `airlock browser` tests: Chromium on a private Xvfb
tests+=(firefox-esr)                    # `airlock browser --browser firefox` tests
tests+=(keepassxc webext-keepassxc-browser)  # `airlock browser --keepassxc`: a real KeePassXC, its proxy and extension
tests+=(x11-utils desktop-file-utils)  # tests/integration/app_test.cc: real X clients, desktop-file-validate
runtime+=(xdg-dbus-proxy)              # `airlock browser|app --dbus`: the session bus through a filter
tests+=(libnotify-bin libglib2.0-bin)  # tests/watch/notify_test.cc: notify-send and gdbus inside an app sandbox
tests+=(pulseaudio pulseaudio-utils)   # tests/integration/app_test.cc: --audio against a real PulseAudio
tests+=(weston)                        # browser_session_test.cc: the browser and apps on a headless Wayland compositor
tests+=(sway pipewire pipewire-bin xdg-desktop-portal xdg-desktop-portal-wlr)  # --screen-share: a desktop with the screen-cast portal
runtime+=(fuse-overlayfs fuse3)       # boxes where the kernel has no overlayfs in user namespaces (tests: BoxFuse)
tests+=(clang-16 libclang-rt-16-dev)  # fuzz/run.sh: libFuzzer builds of the C++23 parsers
tests+=(python3-jsonschema)           # tests/schema: real `airlock run` reports against docs/schema/
tests+=(python3-pip)                  # tests/integration/box_test.cc: a real package install in a box
tests+=(zsh)                          # completions.zsh: the zsh completion is loaded and completes profile names
tests+=(curl)                         # docs/USAGE.md walkthrough (usage.root/user): curl in a --net-allow sandbox
tests+=(python3-msoffcrypto-tool)   # tests/scan/engine/office_crypto_test.cc: cross-checks the encrypted samples it makes
build+=(libglib2.0-dev)               # src/watch/notify_send.cc: GDBus (also pulled in by libgmime-3.0-dev)
tests+=(systemd)                      # units.check: systemd-analyze verify of the shipped units
tests+=(tcpdump)                      # tests/unit/net_pcap_test.cc, analyze_test.cc: a real reader of the sinkhole's PCAP
tests+=(dbus-daemon)                  # tests/watch/notify_test.cc: a private session bus (the binary only, no system bus)
peer=(bubblewrap firejail firejail-profiles strace hyperfine)  # bench/: peers side by side (browser_bench: firejail's chromium.profile)
pkgs=("${build[@]}" "${runtime[@]}" "${tests[@]}")
[ $peers = 1 ] && pkgs+=("${peer[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps.sh: installing ${missing[*]}"
  apt-get update -qq
  # postfix: install without configuring the system instance (the mail tests run private instances)
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-deps.sh: all dependencies present"
# /dev/net/tun: Debian's udev rule (50-udev-default.rules) makes it 0666, so the network helper
# (pasta from passt, else slirp4netns) can open it; it never runs as root, not even for root's runs
# (src/net/net.h), so machines without udev, which leave the kernel's 0600, fail every `--net user`
# run (with the fix in the message). Restore what the distribution would set.
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
  chmod 0666 /dev/net/tun && echo "install-deps.sh: /dev/net/tun set to 0666 (Debian's udev default)"
fi
# /dev/fuse: the same for fuse-overlayfs, which a box's sandbox runs as its own unprivileged user
# (docs/BOXES.md); Debian's udev rule makes it 0666, the kernel's default is 0600.
if [ -c /dev/fuse ] && [ "$(stat -c %a /dev/fuse)" != 666 ]; then
  chmod 0666 /dev/fuse && echo "install-deps.sh: /dev/fuse set to 0666 (Debian's udev default)"
fi
