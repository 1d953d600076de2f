#!/usr/bin/env python3
"""mail.bad_input: broken MIME, huge headers, thousands of parts, a zip bomb, an oversized message. Each
gets a decision (delivered with X-Airlock-Verdict, or 550 5.7.1; oversized: 451 fail-closed), one log
line, and the milter stays up and keeps answering."""

from mail_test import AirlockMailTest, corpus, main
from smtp_client import SWAKS_DATA_REFUSED, SWAKS_OK


class BadInput(AirlockMailTest):
    CONFIG = ('[milter]\nmax_message_size = "1M"\nmessage_budget = "60s"\n'
              '[actions]\nmalicious = "reject"\nsuspicious = "tag"\nclean = "accept"\ntag_all = true\n')

    def decide(self, kind, raw):
        r = self.send(raw)
        mid = corpus.message_id_of(raw)
        self.postfix.wait_settled()
        got = self.delivered_by_mid(mid)
        if r.code == SWAKS_OK:
            self.assertEqual(len(got), 1, f"{kind}: accepted but not delivered" + self.diagnostics())
            verdict = got[0].header("X-Airlock-Verdict")
            self.assertIn(verdict, ("clean", "suspicious", "malicious"), f"{kind}: delivered unscanned")
            decision = f"delivered, {verdict}"
        else:
            self.assertEqual(r.code, SWAKS_DATA_REFUSED, r)
            self.assertRegex(r.final_reply() or "", r"^550 5\.7\.1 airlock: ", r)
            self.assertEqual(got, [])
            decision = "rejected"
        self.assertMilterUp()
        print(f"{kind}: {decision}")
        return decision

    def test_each_bad_input_gets_a_decision_and_the_milter_survives(self):
        decisions = {}
        for kind, build in corpus.BAD.items():
            with self.subTest(kind=kind):
                decisions[kind] = self.decide(kind, build())
        # A bomb must not pass as clean: it is either stopped or delivered marked.
        self.assertNotEqual(decisions.get("zip_bomb"), "delivered, clean", decisions)
        # still answering normally afterwards
        self.assertEqual(self.decide("clean after bad input", corpus.clean_text()), "delivered, clean")
        self.assertGreaterEqual(len(self.milter.log_entries()), len(corpus.BAD) + 1)

    def test_oversized_message_fails_closed(self):
        raw = corpus._message("big", "x\n", [("big.bin", b"\x00\x01" * (1 << 20), "application", "octet-stream")])
        r = self.send(raw)
        self.assertEqual(r.code, SWAKS_DATA_REFUSED, r)
        self.assertRegex(r.final_reply() or "", r"^451 4\.7\.1", r)
        self.postfix.wait_settled()
        self.assertEqual(self.delivered_by_mid(corpus.message_id_of(raw)), [])
        self.assertMilterUp()


if __name__ == "__main__":
    main()
