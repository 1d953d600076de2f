#!/usr/bin/env python3
"""JSON text check: every JSON document under src/ is written through airlock::DumpJson.

core/json_text.h is the one rule for bytes in airlock's JSON (invalid UTF-8 as \\xNN, never a throw);
a direct nlohmann `.dump(` elsewhere would throw on the first file or DNS name that is not UTF-8 (or,
with error_handler_t::replace, lose its bytes). This check fails (exit 1, naming file and line) on a
`.dump(` or `->dump(` call in code under src/ outside src/core/json_text.cc. Comments are ignored.

Usage: scripts/check-json-dump.py [--root DIR]
Python 3 standard library only.
"""

import argparse
import os
import re
import sys

SOURCE_SUFFIXES = (".h", ".hh", ".hpp", ".c", ".cc", ".cpp", ".inc")
DUMP_RE = re.compile(r"(\.|->)\s*dump\s*\(")
ALLOWED = {os.path.join("src", "core", "json_text.cc")}


def code_part(line):
    """The line without a trailing // comment (string literals holding // are rare enough here)."""
    cut = line.find("//")
    return line if cut < 0 else line[:cut]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = ap.parse_args()
    found = []
    src = os.path.join(args.root, "src")
    for dirpath, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, args.root)
            if rel in ALLOWED:
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    if DUMP_RE.search(code_part(line)):
                        found.append(f"{rel}:{n}: JSON written with .dump(): use airlock::DumpJson (core/json_text.h)")
    for line in found:
        print(line)
    if found:
        return 1
    print(f"json-dump check: every JSON document under {src} goes through DumpJson")
    return 0


if __name__ == "__main__":
    sys.exit(main())
