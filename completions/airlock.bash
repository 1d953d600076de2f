# bash completion for airlock
_airlock() {
  local cur prev words cword
  _init_completion 2>/dev/null || { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; cword=$COMP_CWORD; words=("${COMP_WORDS[@]}"); }
  local cmds="run ps stop exec box pool profile check scan analyze audit rules milter quarantine serve worker watch verdicts open browser downloads app desktop version help"
  if [ "$cword" -eq 1 ]; then COMPREPLY=($(compgen -W "$cmds" -- "$cur")); return; fi
  local i
  for ((i = 2; i < cword; i++)); do [ "${words[i]}" = "--" ] && { COMPREPLY=($(compgen -c -- "$cur")); return; }; done
  case "${words[1]}" in
    run)
      case "$prev" in
        -p|--profile) COMPREPLY=($(compgen -W "$(airlock profile list 2>/dev/null | cut -d' ' -f1)" -- "$cur") $(compgen -f -X '!*.toml' -- "$cur")); return ;;
        --net) COMPREPLY=($(compgen -W "none host user sinkhole" -- "$cur")); return ;;
        --landlock) COMPREPLY=($(compgen -W "required best-effort disabled" -- "$cur")); return ;;
        --pool) COMPREPLY=($(compgen -W "auto off required" -- "$cur")); return ;;
        --on-interrupt) COMPREPLY=($(compgen -W "forward kill" -- "$cur")); return ;;
        --bind|--ro-bind|--dev-bind|--chdir|--report) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --allow|--deny) COMPREPLY=($(compgen -W "@ptrace @mount @namespaces @keyring @bpf @perf @io-uring @debug @handles @chroot @clock-set" -- "$cur")); return ;;
      esac
      COMPREPLY=($(compgen -W "--profile --bind --ro-bind --dev-bind --tmpfs --tmp-size --shm-size --home-size --tmpfs-inodes --chdir --workdir --net --net-allow --listen --net-pcap --memory --pids --cpu --timeout --rlimit --setenv --keep-env --pass-fd --hostname --uid --gid --allow --deny --landlock --pool --on-interrupt --name --explain --report --monitor --monitor-reads --verbose --help --" -- "$cur")) ;;
    box)
      if [ "$cword" -eq 2 ]; then COMPREPLY=($(compgen -W "create run list diff review commit discard rm export import snapshot restore snapshots snapshot-rm --store --help" -- "$cur"));
      elif [ "$cword" -eq 3 ] && [ "${words[2]}" != "create" ] && [ "${words[2]}" != "list" ] && [ "${words[2]}" != "import" ]; then
        COMPREPLY=($(compgen -W "$(airlock box list --json 2>/dev/null | sed -n 's/^ *"name": "\(.*\)",$/\1/p')" -- "$cur"));
      else COMPREPLY=($(compgen -W "--profile --over --from --monitor --json --no-scan --force --help --" -- "$cur") $(compgen -f -- "$cur")); fi ;;
    pool)
      case "$prev" in
        -p|--profile) COMPREPLY=($(compgen -W "$(airlock profile list 2>/dev/null | cut -d' ' -f1)" -- "$cur") $(compgen -f -X '!*.toml' -- "$cur")); return ;;
        --socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
      esac
      COMPREPLY=($(compgen -W "--profile --size --max-age --socket --verbose --help" -- "$cur")) ;;
    profile)
      if [ "$cword" -eq 2 ]; then COMPREPLY=($(compgen -W "list show" -- "$cur"));
      else COMPREPLY=($(compgen -W "$(airlock profile list 2>/dev/null | cut -d' ' -f1)" -- "$cur") $(compgen -f -- "$cur")); fi ;;
    check) COMPREPLY=($(compgen -W "--json --help" -- "$cur")) ;;
    ps) COMPREPLY=($(compgen -W "--json --all --help" -- "$cur")) ;;
    stop) COMPREPLY=($(compgen -W "$(airlock ps --json 2>/dev/null | sed -n 's/^ *"id": "\(.*\)",$/\1/p') --grace --all --help" -- "$cur")) ;;
    exec) COMPREPLY=($(compgen -W "$(airlock ps --json 2>/dev/null | sed -n 's/^ *"id": "\(.*\)",$/\1/p') --cwd --all --help" -- "$cur")) ;;
    scan) COMPREPLY=($(compgen -W "--json --extract --rules --navigator -j --no-sandbox --help" -- "$cur") $(compgen -f -- "$cur")) ;;
    audit) COMPREPLY=($(compgen -W "endpoint $(airlock profile list 2>/dev/null | cut -d' ' -f1) --json --min-score --help" -- "$cur") $(compgen -f -- "$cur")) ;;
    rules) COMPREPLY=($(compgen -W "check match" -- "$cur") $(compgen -d -- "$cur")) ;;
    milter)
      case "$prev" in
        --config|--log) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --state-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
      esac
      COMPREPLY=($(compgen -W "--listen --config --state-dir --log --help" -- "$cur")) ;;
    quarantine)
      case "$prev" in
        --config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --state-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
      esac
      COMPREPLY=($(compgen -W "list show release delete --json --state-dir --config --help" -- "$cur")) ;;
    watch)
      case "$prev" in
        --config|--log) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --state-dir|--watch|--mark-fs|--mark-mount|--notify-bus-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --fail-mode) COMPREPLY=($(compgen -W "closed open" -- "$cur")); return ;;
        --interpreter-reads) COMPREPLY=($(compgen -W "downloads untrusted" -- "$cur")); return ;;
        --notify) COMPREPLY=($(compgen -W "off blocked all" -- "$cur")); return ;;
      esac
      COMPREPLY=($(compgen -W "status --monitor --enforce --config --fail-mode --decision-timeout --state-dir --watch --mark-fs --mark-mount --allow --no-dpkg --dpkg-info --no-interpreters --interpreter-reads --concurrency --queue-limit --max-file-size-mb --watch-flat --watch-flat-subdir --watch-max-dirs --no-start-sweep --build-dir --builder --no-detonate --detonate-timeout --log --notify --notify-bus-dir --json --help" -- "$cur")) ;;
    verdicts)
      case "$prev" in
        --state-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
      esac
      COMPREPLY=($(compgen -W "list release --json --state-dir --help" -- "$cur")) ;;
    open)
      case "$prev" in
        --profile) COMPREPLY=($(compgen -W "default workdir network analysis browser gui" -- "$cur")); return ;;
      esac
      COMPREPLY=($(compgen -f -- "$cur")) ;;
    browser)
      case "$prev" in
        --net) COMPREPLY=($(compgen -W "user none sinkhole host" -- "$cur")); return ;;
        --screenshot|--report|--chromium|--firefox) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --browser) COMPREPLY=($(compgen -W "chromium firefox" -- "$cur")); return ;;
        --quarantine|--downloads) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --box|--timeout|--browser-flag|--max-download|--net-allow) return ;;
        --notify) COMPREPLY=($(compgen -W "on off" -- "$cur")); return ;;
        --notify-bus-dir|--uploads) COMPREPLY=($(compgen -d -- "$cur")); return ;;
      esac
      COMPREPLY=($(compgen -W "--box --disposable --browser --net --net-allow --check --json --headless --until-settled --screenshot --report --timeout --browser-flag --chromium --firefox --quarantine --downloads --max-download --notify --notify-bus-dir --dbus --audio --gpu --screen-share --keepassxc --uploads --box-per-site --help" -- "$cur")) ;;
    downloads)
      case "$prev" in
        --quarantine|--downloads) COMPREPLY=($(compgen -d -- "$cur")); return ;;
      esac
      COMPREPLY=($(compgen -W "list release delete --json --quarantine --downloads --help" -- "$cur")) ;;
    app)
      case "$prev" in
        --net) COMPREPLY=($(compgen -W "none user sinkhole host" -- "$cur")); return ;;
        --file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --box) return ;;
      esac
      COMPREPLY=($(compgen -W "--box --disposable --net --file --dbus --audio --gpu --screen-share --headless --help" -- "$cur")) ;;
    desktop)
      case "$prev" in
        --dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
      esac
      COMPREPLY=($(compgen -W "install uninstall --dir --help" -- "$cur")) ;;
  esac
}
complete -F _airlock airlock
