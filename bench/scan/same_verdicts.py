#!/usr/bin/env python3
"""Compares two `airlock-scan --json` outputs of the same inputs: prints "identical" when every object
tree (types, hashes, findings, verdicts; durations, duration and duration_ms, ignored) is the same, else how many inputs differ
and whether the overall verdict/score/techniques changed. Usage: same_verdicts.py A.json B.json"""
import json
import sys


def norm(o):
    o = dict(o)
    o.pop("duration_ms", None)
    o.pop("duration", None)
    o["children"] = [norm(c) for c in o.get("children", [])]
    return o


def main():
    a, b = (json.load(open(p)) for p in sys.argv[1:3])
    top = [k for k in ("verdict", "score", "techniques", "limits_hit", "errors") if a.get(k) != b.get(k)]
    trees = sum(1 for x, y in zip(a["objects"], b["objects"]) if norm(x) != norm(y))
    trees += abs(len(a["objects"]) - len(b["objects"]))
    if not top and not trees:
        print("identical reports")
    else:
        print("%d of %d inputs differ%s" % (trees, len(a["objects"]), ("; changed: " + ", ".join(top)) if top else ""))


if __name__ == "__main__":
    main()
