#!/usr/bin/env python3
"""Mail filtering cost through a real Postfix (docs/PERFORMANCE.md, "Mail").

Variants, each its own private Postfix instance (tests/mail/postfix_instance.py) on the same message mix:
  none           Postfix, no milter
  airlock        `airlock milter`, static triage only
  airlock+det    `airlock milter`, static triage + inline detonation of shell-script attachments
  clamav         clamav-milter + clamd with a small local signature database (tests/mail/milters.py)
each milter reached over a unix socket (/unix) or loopback TCP (/inet), e.g. "airlock/inet".
Mix: corpus.mix (tests/mail/corpus.py): per 10 messages 6 clean (text, PDF, docx, PNG), 1 suspicious
(a .js attachment), 3 malicious (the five kinds in turn); every 20th message (a clean text one) is
replaced by a shell script that only detonation condemns (see mix()); every attachment unique (a salt
per message), so no verdict comes from a cache.

Per round and variant, interleaved round by round (the host is noisy; compare within a run):
  latency      N messages one after another on one session: time from MAIL FROM to the reply after
               DATA (the time the client waits for Postfix + milter), p50/p99
  throughput   M messages over S concurrent sessions: messages/s
  cpu          CPU time (user+sys) of the milter's whole process tree (for clamav: clamd + clamav-milter)
               per message, over both phases
Usage (root): mail_bench.py --airlock build/src/cli/airlock [--rounds 3] [--latency 60] [--throughput 200]
              [--sessions 10] [--variants none,airlock,airlock+det,clamav] [--json out.json]
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "mail"))

import corpus  # noqa: E402
import smtp_load  # noqa: E402
from milters import AirlockMilter, ClamavMilter  # noqa: E402
from postfix_instance import PostfixInstance  # noqa: E402

STATIC = ('[milter]\nworkers = 2\nqueue = 64\n'
          '[actions]\nmalicious = "reject"\nsuspicious = "tag"\ntag_all = true\n')
DETONATE = STATIC + '[detonation]\nenabled = true\nkinds = ["shell"]\nmode = "inline"\ntimeout = "20s"\n'
CLK = os.sysconf("SC_CLK_TCK")


SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "samples", "analyze",
                      "credential_theft.sh")


def tool_script(salt):
    """A shell-script attachment that static triage finds harmless and only detonation condemns
    (tests/samples/analyze/credential_theft.sh, salted so that every copy is a new attachment)."""
    with open(SCRIPT, "rb") as f:
        script = f.read() + f"# {salt}\n".encode()
    return corpus._message("Cleanup tool", "Run this to tidy up your home directory.\n",
                           [("cleanup.sh", script, "application", "x-sh")])


def mix(n, tag):
    """corpus.mix, with every 20th message (a clean text one) replaced by tool_script, so that the
    airlock+det variant's detonations decide something: the mix's own `invoice.pdf.sh` (6 %) is
    condemned by static triage already (and detonated too); tool_script (5 %) only by detonation."""
    out = []
    for i, (mid, raw, _) in enumerate(corpus.mix(n, tag)):
        if i % 20 == 0:
            raw = tool_script(f"{tag}-{i}")
            mid = corpus.message_id_of(raw)
        out.append((mid, raw))
    return out


def tree_cpu_seconds(pids):
    """user+sys CPU of these processes and everything below them, including reaped children."""
    children = {}
    stats = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(name)
        children.setdefault(int(fields[1]), []).append(pid)
        stats[pid] = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    total, todo = 0, list(pids)
    while todo:
        p = todo.pop()
        total += stats.get(p, 0)
        todo.extend(children.get(p, []))
    return total / CLK


class Variant:
    def __init__(self, name, airlock_bin):
        self.name = name
        self.milter = None
        base, _, transport = name.partition("/")
        transport = transport or "unix"
        if base == "airlock":
            self.milter = AirlockMilter(airlock_bin, STATIC, transport=transport)
        elif base == "airlock+det":
            self.milter = AirlockMilter(airlock_bin, DETONATE, transport=transport)
        elif base == "clamav":
            self.milter = ClamavMilter(transport=transport)
        elif base != "none":
            raise SystemExit(f"unknown variant {name}")
        self.postfix = PostfixInstance(milter=self.milter.spec if self.milter else None)
        self.lat, self.rates, self.cpu, self.count, self.outcomes = [], [], 0.0, 0, {}

    def start(self):
        if isinstance(self.milter, AirlockMilter):
            self.milter.set_postfix(self.postfix)
        self.postfix.start()
        if self.milter:
            self.milter.start()
        # warm up: first connections, worker start-up
        smtp_load.send_all(self.postfix.port, mix(4, f"warm-{self.name}"), sessions=1, retry_for=60)

    def pids(self):
        if isinstance(self.milter, AirlockMilter):
            return [self.milter.proc.pid]
        if isinstance(self.milter, ClamavMilter):
            return [self.milter.clamd.pid, self.milter.milter.pid]
        return []

    def run_round(self, rnd, n_lat, n_tp, sessions):
        cpu0 = tree_cpu_seconds(self.pids())
        res = smtp_load.send_all(self.postfix.port, mix(n_lat, f"lat-{rnd}"), sessions=1, retry_for=120)
        self.lat += [r.latency for r in res.values() if r.latency is not None and r.tempfails == 0]
        self.tally(res)
        if n_tp:
            t0 = time.monotonic()
            res = smtp_load.send_all(self.postfix.port, mix(n_tp, f"tp-{rnd}"), sessions=sessions, retry_for=120)
            self.rates.append(n_tp / (time.monotonic() - t0))
            self.tally(res)
        self.cpu += tree_cpu_seconds(self.pids()) - cpu0
        self.count += n_lat + n_tp

    def tally(self, res):
        for r in res.values():
            key = str(r.code)
            self.outcomes[key] = self.outcomes.get(key, 0) + 1

    def close(self):
        self.postfix.close()
        if self.milter:
            self.milter.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--airlock", default=os.environ.get("AIRLOCK_BIN", ""))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--latency", type=int, default=60, help="sequential messages per round and variant")
    ap.add_argument("--throughput", type=int, default=200, help="concurrent messages per round and variant")
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--variants", default="none,airlock/unix,airlock/inet,airlock+det/unix,clamav/unix,clamav/inet")
    ap.add_argument("--json")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("mail_bench: run as root (Postfix's master)")
    names = a.variants.split(",")
    variants = [Variant(n, a.airlock) for n in names]
    try:
        for v in variants:
            v.start()
        for rnd in range(a.rounds):
            for v in variants:
                v.run_round(rnd, a.latency, a.throughput, a.sessions)
                print(f"round {rnd + 1}/{a.rounds} {v.name}: done", file=sys.stderr)
    finally:
        for v in variants:
            v.close()
    base = next((v for v in variants if v.name == "none"), None)
    b50 = smtp_load.percentile(base.lat, 50) * 1000 if base else 0.0
    b99 = smtp_load.percentile(base.lat, 99) * 1000 if base else 0.0
    brate = sorted(base.rates)[len(base.rates) // 2] if base and base.rates else None
    rows = []
    print(f"\n{a.rounds} rounds x ({a.latency} sequential + {a.throughput} over {a.sessions} sessions) per variant\n")
    print("| variant | p50 ms | p99 ms | added p50 ms | added p99 ms | msg/s (median round) | vs none | "
          "filter CPU ms/msg | outcomes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for v in variants:
        p50, p99 = smtp_load.percentile(v.lat, 50) * 1000, smtp_load.percentile(v.lat, 99) * 1000
        rate = sorted(v.rates)[len(v.rates) // 2] if v.rates else float("nan")
        cpu = v.cpu * 1000 / v.count if v.milter else 0.0
        row = {"variant": v.name, "p50_ms": p50, "p99_ms": p99, "added_p50_ms": p50 - b50,
               "added_p99_ms": p99 - b99, "msgs_per_s": rate, "rate_vs_none": rate / brate if brate else None,
               "cpu_ms_per_msg": cpu, "outcomes": v.outcomes, "samples": len(v.lat)}
        rows.append(row)
        ratio = f"{rate / brate:.2f}x" if brate else "-"
        print(f"| {v.name} | {p50:.1f} | {p99:.1f} | {p50 - b50:.1f} | {p99 - b99:.1f} | {rate:.1f} | {ratio} | "
              f"{cpu:.1f} | {' '.join(f'{k}:{n}' for k, n in sorted(v.outcomes.items()))} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
