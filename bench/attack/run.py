#!/usr/bin/env python3
"""ATT&CK recall of `airlock analyze` on harmless single-technique emulations (bench/attack/emulations.tsv).

Each emulation becomes a small shell script, detonated with `airlock analyze --json`; a technique
counts as named when the report's `techniques` hold it, its parent (T1053 for T1053.003) or one of
its sub-techniques. Prints one row per emulation (named or missed, verdict, what was named) and the
recall per tactic; --markdown prints the table docs/DETECTORS.md carries.

usage: bench/attack/run.py [--airlock PATH] [--only T1033,T1082] [--timeout 15s] [--markdown]
"""
import argparse, collections, json, os, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))


def load(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        if not line.strip() or line.startswith("#"):
            continue
        tech, tactic, cmd = line.rstrip("\n").split("\t", 2)
        rows.append((tech, tactic, cmd.replace("\\n", "\n")))
    return rows


def named(tech, techniques):
    parent = tech.split(".")[0]
    return any(t == tech or t == parent or t.startswith(tech + ".") for t in techniques)


def analyze(airlock, tech, cmd, timeout, work):
    sample = os.path.join(work, tech.replace(".", "_") + ".sh")
    with open(sample, "w", encoding="utf-8") as f:
        f.write("#!/bin/sh\n# emulation of %s\n%s\nexit 0\n" % (tech, cmd))
    os.chmod(sample, 0o755)
    out = os.path.join(work, tech.replace(".", "_") + ".out")
    start = time.time()
    subprocess.run([airlock, "analyze", "--quiet", "--timeout", timeout, "--out", out, sample],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    try:
        report = json.load(open(os.path.join(out, "report.json"), encoding="utf-8"))
    except (OSError, ValueError):
        report = {"verdict": "error", "techniques": []}
    return report, time.time() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--airlock", default=os.environ.get("AIRLOCK_BIN", os.path.join(HERE, "../../build/src/cli/airlock")))
    ap.add_argument("--only", default="")
    ap.add_argument("--timeout", default="15s")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    rows = load(os.path.join(HERE, "emulations.tsv"))
    if a.only:
        keep = set(a.only.split(","))
        rows = [r for r in rows if r[0] in keep]
    per_tactic = collections.OrderedDict()
    results = []
    with tempfile.TemporaryDirectory(prefix="airlock-attack-") as work:
        for tech, tactic, cmd in rows:
            report, secs = analyze(a.airlock, tech, cmd, a.timeout, work)
            techniques = report.get("techniques", [])
            ok = named(tech, techniques)
            results.append((tech, tactic, ok, report.get("verdict"), techniques))
            hit, total = per_tactic.get(tactic, (0, 0))
            per_tactic[tactic] = (hit + ok, total + 1)
            print("%-10s %-22s %-6s %-10s %5.1fs  %s" % (tech, tactic, "named" if ok else "MISSED", report.get("verdict"), secs,
                                                       ", ".join(techniques)), flush=True)
    hits = sum(r[2] for r in results)
    print("\nrecall per tactic:")
    for tactic, (hit, total) in per_tactic.items():
        print("  %-22s %2d / %2d  %3.0f%%" % (tactic, hit, total, 100.0 * hit / total))
    print("  %-22s %2d / %2d  %3.0f%%" % ("all", hits, len(results), 100.0 * hits / max(1, len(results))))
    if a.markdown:
        print("\n| tactic | named | emulated | recall |\n|---|---|---|---|")
        for tactic, (hit, total) in per_tactic.items():
            print("| %s | %d | %d | %.0f%% |" % (tactic, hit, total, 100.0 * hit / total))
        print("| **all** | **%d** | **%d** | **%.0f%%** |" % (hits, len(results), 100.0 * hits / max(1, len(results))))
        print("\nmissed: " + ", ".join(r[0] for r in results if not r[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
