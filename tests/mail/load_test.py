#!/usr/bin/env python3
"""mail.load: 1,000 messages (corpus.mix: 6 clean, 1 suspicious, 3 malicious in 10; every attachment
unique so no verdict comes from the cache) from 20 concurrent SMTP sessions. Every message ends
accounted for, by Message-ID and queue id: delivered (clean, with X-Airlock-Verdict), held (suspicious
-> quarantine) or rejected (malicious, 550 5.7.1), and the three add up to what was sent."""

import collections
import time

from mail_test import AirlockMailTest, corpus, main
import smtp_load

TOTAL = 1000
SESSIONS = 20


class Load(AirlockMailTest):
    # malicious -> reject, suspicious -> quarantine (held): all three outcomes occur under load.
    CONFIG = ('[milter]\nworkers = 2\nqueue = 64\n'
              '[actions]\nmalicious = "reject"\nsuspicious = "quarantine"\nclean = "accept"\ntag_all = true\n'
              '[quarantine]\nhold = true\n')

    def test_1000_messages_from_20_sessions_are_all_accounted_for(self):
        mix = corpus.mix(TOTAL, "load")
        kind_of = {mid: kind for mid, _, kind in mix}
        t0 = time.monotonic()
        results = smtp_load.send_all(self.postfix.port, [(m, r) for m, r, _ in mix], sessions=SESSIONS,
                                     rcpts=("load@test.example",), retry_for=150)
        elapsed = time.monotonic() - t0
        self.postfix.wait_settled(timeout=120)
        self.assertMilterUp()

        delivered = {}
        for m in self.postfix.maildir("load"):
            mid = m.header("Message-ID")
            self.assertNotIn(mid, delivered, "delivered twice")
            delivered[mid] = m
        held_qids = {q["queue_id"] for q in self.postfix.held()}

        outcome = {}
        for mid, res in results.items():
            if res.code == 250 and mid in delivered:
                outcome[mid] = "delivered"
            elif res.code == 250 and res.queue_id in held_qids:
                outcome[mid] = "held"
            elif res.code == 550 and res.reply.startswith(b"5.7.1 airlock:"):
                outcome[mid] = "rejected"
            else:
                outcome[mid] = f"LOST ({res})"
        counts = collections.Counter(v if not v.startswith("LOST") else "lost" for v in outcome.values())
        by_kind = collections.Counter((kind_of[m], o) for m, o in outcome.items())
        summary = (f"{TOTAL} messages, {SESSIONS} sessions, {elapsed:.1f} s, {TOTAL / elapsed:.1f} msg/s, "
                   f"retried after 4xx: {sum(1 for r in results.values() if r.tempfails)}; {dict(counts)}")
        print(summary)
        print(dict(by_kind))

        lost = {m: o for m, o in outcome.items() if o.startswith("LOST")}
        self.assertEqual(lost, {}, summary)
        self.assertEqual(counts["delivered"] + counts["rejected"] + counts["held"], TOTAL, summary)
        self.assertEqual(len(delivered), counts["delivered"], "a delivered message nobody sent")
        self.assertEqual(len(held_qids), counts["held"], "a held message nobody sent")
        for mid, m in delivered.items():
            self.assertEqual(m.header("X-Airlock-Verdict"), "clean", mid)
        # each kind ends the way its verdict says: clean delivered, suspicious held, malicious rejected
        for mid, o in outcome.items():
            kind = kind_of[mid]
            want = "delivered" if kind in corpus.CLEAN else "held" if kind == "suspicious_script" else "rejected"
            self.assertEqual(o, want, kind)
        # every message the milter saw has exactly one log line
        qids = [e.get("queue_id") for e in self.milter.log_entries()]
        dupes = [q for q, n in collections.Counter(qids).items() if n > 1 and q]
        self.assertEqual(dupes, [])


if __name__ == "__main__":
    main()
