#!/usr/bin/env python3
"""The man page covers every command and option: each `airlock CMD [SUB] --help` is read, and every
option it lists must appear in man/airlock.1 (as \\-\\-name), every command in its SYNOPSIS. The help
texts are the definitions (CLI11 in src/cli, the helpers' own parsers); this keeps the page from
drifting from them (ctest `man.check`).
Usage: scripts/check-man.py AIRLOCK_BIN MAN_PAGE
"""
import re
import subprocess
import sys

# Every command and subcommand with a --help of its own.
COMMANDS = [
    ["run"], ["ps"], ["stop"], ["exec"], ["pool"], ["profile", "list"], ["profile", "show"], ["check"],
    # `box run NAME` opens the box before parsing: its options are `run`'s.
    ["box", "create"], ["box", "list"], ["box", "diff"], ["box", "review"], ["box", "commit"],
    ["box", "discard"], ["box", "rm"], ["box", "export"], ["box", "import"], ["box", "snapshot"],
    ["box", "restore"], ["box", "snapshots"], ["box", "snapshot-rm"],
    ["scan"], ["analyze"], ["audit"], ["rules", "check"], ["rules", "match"], ["milter"],
    ["serve"], ["worker"], ["watch"], ["verdicts"], ["open"], ["browser"], ["downloads"], ["app"], ["desktop"],
    ["quarantine", "list"], ["quarantine", "show"], ["quarantine", "release"], ["quarantine", "delete"],
]
# Options every CLI11 parser has.
IGNORED = {"--help"}


def help_options(airlock, words):
    r = subprocess.run([airlock, *words, "--help"], capture_output=True, text=True, timeout=60)
    text = r.stdout + r.stderr
    if r.returncode != 0:
        return None, text
    return set(re.findall(r"(?:^|[\s,\[|])(--[a-z][a-z0-9-]*)", text, re.M)) - IGNORED, text


def main():
    airlock, man = sys.argv[1], sys.argv[2]
    page = open(man, encoding="utf-8").read().replace("\\-", "-")
    synopsis = page.split(".SH DESCRIPTION")[0]
    missing, failed = [], []
    for words in COMMANDS:
        opts, text = help_options(airlock, words)
        name = " ".join(words)
        if opts is None:
            failed.append(f"airlock {name} --help failed: {text.strip()[:200]}")
            continue
        if f"airlock {words[0]}" not in synopsis.replace("\n.B ", "\n").replace(".B ", ""):
            missing.append(f"airlock {words[0]}: not in the SYNOPSIS")
        for o in sorted(opts):
            if not re.search(re.escape(o) + r"(?![a-z0-9-])", page):
                missing.append(f"airlock {name}: {o}")
    for f in failed:
        print(f"check-man: {f}", file=sys.stderr)
    for m in sorted(set(missing)):
        print(f"check-man: not in {man}: {m}", file=sys.stderr)
    if failed or missing:
        return 1
    print(f"check-man: {len(COMMANDS)} commands, every option documented in {man}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
