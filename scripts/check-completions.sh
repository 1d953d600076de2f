#!/usr/bin/env bash
# The shell completions complete what they promise, with the airlock in BIN_DIR first on PATH:
# commands (ps, stop, exec), built-in profile names after --profile, run's options (--name).
#   check-completions.sh bash|zsh BIN_DIR COMPLETIONS_DIR      (exit 77: that shell is not installed)
set -euo pipefail
shell=$1 bin_dir=$2 dir=$3
export PATH="$bin_dir:$PATH"
fail() { echo "check-completions ($shell): $*" >&2; exit 1; }
case "$shell" in
  bash)
    # shellcheck disable=SC1091
    source "$dir/airlock.bash"
    set +e  # completion functions are not written for errexit (compgen fails when nothing matches)
    COMP_WORDS=(airlock run --profile ""); COMP_CWORD=3; COMPREPLY=(); _airlock
    [[ " ${COMPREPLY[*]} " == *" default "* && " ${COMPREPLY[*]} " == *" analysis "* ]] || fail "--profile offers: ${COMPREPLY[*]}"
    COMP_WORDS=(airlock s); COMP_CWORD=1; COMPREPLY=(); _airlock
    [[ " ${COMPREPLY[*]} " == *" stop "* && " ${COMPREPLY[*]} " == *" scan "* ]] || fail "commands after 's': ${COMPREPLY[*]}"
    COMP_WORDS=(airlock e); COMP_CWORD=1; COMPREPLY=(); _airlock
    [[ " ${COMPREPLY[*]} " == *" exec "* ]] || fail "commands after 'e': ${COMPREPLY[*]}"
    COMP_WORDS=(airlock exec --c); COMP_CWORD=2; COMPREPLY=(); _airlock
    [[ " ${COMPREPLY[*]} " == *" --cwd "* ]] || fail "exec options after '--c': ${COMPREPLY[*]}"
    COMP_WORDS=(airlock run --na); COMP_CWORD=2; COMPREPLY=(); _airlock
    [[ " ${COMPREPLY[*]} " == *" --name "* ]] || fail "run options after '--na': ${COMPREPLY[*]}"
    ;;
  zsh)
    command -v zsh >/dev/null || { echo "zsh is not installed: the zsh completion is not checked"; exit 77; }
    zsh -n "$dir/_airlock" || fail "syntax"
    # The completion's helpers with zsh's completion builtins stubbed to print what they are given.
    out=$(zsh -f -c '
      _describe() { print -rl -- "${(@P)2}"; }
      _alternatives() { print -rl -- "$@"; }
      source <(sed "\$d" "$1")
      _airlock_profiles
    ' zsh "$dir/_airlock" 2>&1)
    [[ "$out" == *"(default workdir network analysis browser gui)"* ]] || fail "profiles: $out"
    grep -q "'stop:stop a running sandbox'" "$dir/_airlock" || fail "stop is not among the commands"
    grep -q "'exec:run a command inside a running sandbox'" "$dir/_airlock" || fail "exec is not among the commands"
    ;;
  *) echo "usage: $0 bash|zsh BIN_DIR COMPLETIONS_DIR" >&2; exit 2 ;;
esac
echo "check-completions ($shell): ok"
