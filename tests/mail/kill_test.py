#!/usr/bin/env python3
"""mail.kill: SIGKILL the milter in mid-message. Postfix must tempfail (451 4.7.1, never accept); once
the milter is back, the client's retry ends with the message delivered (with X-Airlock-Verdict) or
rejected: none lost, none delivered unscanned."""

import os
import smtplib
import threading
import time

from mail_test import AirlockMailTest, corpus, main
from smtp_client import SWAKS_DATA_REFUSED, SWAKS_OK
import smtp_load


def analysis_running(milter):
    """True while a descendant of the milter runs `airlock analyze` (argv has "analyze", or the
    airlock-analyze helper `airlock` execs is argv[0])."""
    parents, cmdlines = {}, {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parents[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdlines[int(pid)] = f.read().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
    root = milter.proc.pid
    for pid, argv in cmdlines.items():
        if not any(a == b"analyze" or a.rsplit(b"/", 1)[-1] == b"airlock-analyze" for a in argv):
            continue
        p, hops = parents.get(pid), 0
        while p and p != root and hops < 64:
            p, hops = parents.get(p), hops + 1
        if p == root:
            return True
    return False


class KillMidMessage(AirlockMailTest):
    CONFIG = '[actions]\nmalicious = "reject"\nsuspicious = "reject"\ntag_all = true\n'

    def kill_during_data(self, raw):
        """Sends MAIL/RCPT/DATA and half of the message, SIGKILLs the milter, sends the rest.
        Returns Postfix's reply to the end of data."""
        s = smtplib.SMTP("127.0.0.1", self.postfix.port, local_hostname="client.test.example", timeout=120)
        try:
            s.ehlo()
            self.assertEqual(s.mail("sender@test.example")[0], 250)
            self.assertEqual(s.rcpt("rcpt@test.example")[0], 250)
            code, _ = s.docmd("DATA")
            self.assertEqual(code, 354)
            half = len(raw) // 2
            s.send(raw[:half])
            # No wait: Postfix answered RCPT after the milter's connection was set up, so the milter is
            # in this message's session now, whichever part of DATA Postfix has read when it dies.
            self.milter.kill()
            s.send(raw[half:] + b".\r\n")
            return s.getreply()
        finally:
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                s.close()

    def restart_and_retry(self, raw, want_code):
        self.milter.start()
        r = self.send(raw)
        self.assertEqual(r.code, want_code, repr(r) + self.diagnostics())
        return r

    def test_clean_message_tempfails_then_is_delivered_scanned(self):
        raw = corpus.clean_pdf()
        code, reply = self.kill_during_data(raw)
        self.assertEqual(code, 451, reply)
        self.assertIn(b"4.7.1", reply)
        self.postfix.wait_settled()
        mid = corpus.message_id_of(raw)
        self.assertEqual(self.delivered_by_mid(mid), [], "delivered while the milter was dead")
        self.restart_and_retry(raw, SWAKS_OK)
        self.postfix.wait_settled()
        got = self.delivered_by_mid(mid)
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0].header("X-Airlock-Verdict"), "clean")

    def test_malicious_message_tempfails_then_is_rejected(self):
        raw = corpus.eicar_nested_zip()
        code, reply = self.kill_during_data(raw)
        self.assertEqual(code, 451, reply)
        r = self.restart_and_retry(raw, SWAKS_DATA_REFUSED)
        self.assertRegex(r.final_reply(), r"^550 5\.7\.1 airlock:")
        self.postfix.wait_settled()
        self.assertEqual(self.delivered_by_mid(corpus.message_id_of(raw)), [])

    def test_kill_under_traffic_loses_nothing(self):
        """200 messages from 10 sessions; the milter is SIGKILLed after 40 answers and restarted 1 s
        later. The sender retries 4xx answers like a client queue does."""
        kinds = list(corpus.CLEAN.items()) + list(corpus.MALICIOUS.items())
        msgs, kind_of = [], {}
        for i in range(200):
            name, build = kinds[i % len(kinds)]
            raw = build(salt=f"kill-{i}")
            mid = corpus.message_id_of(raw)
            msgs.append((mid, raw))
            kind_of[mid] = name
        answered = [0]
        killed = threading.Event()

        def on_result(_):
            answered[0] += 1
            if answered[0] == 40 and not killed.is_set():
                killed.set()
                self.milter.kill()
                threading.Timer(1.0, self.milter.start).start()

        results = smtp_load.send_all(self.postfix.port, msgs, sessions=10, rcpts=("load@test.example",),
                                     retry_for=120, on_result=on_result)
        self.assertTrue(killed.is_set())
        self.postfix.wait_settled()
        self.assertTrue(self.milter.alive(), self.diagnostics())
        delivered = {m.header("Message-ID"): m for m in self.postfix.maildir("load")}
        tempfailed = sum(1 for r in results.values() if r.tempfails)
        self.assertGreater(tempfailed, 0, "the kill was not noticed by any message")
        for mid, res in results.items():
            with self.subTest(mid=mid, kind=kind_of[mid]):
                if res.code == 250:
                    self.assertIn(mid, delivered, res)
                    self.assertIn(delivered[mid].header("X-Airlock-Verdict"), ("clean", "suspicious", "malicious"))
                    self.assertIn(kind_of[mid], corpus.CLEAN, "malicious kind delivered")
                else:
                    self.assertEqual(res.code, 550, res)
                    self.assertIn(kind_of[mid], corpus.MALICIOUS, res)
                    self.assertNotIn(mid, delivered)
        self.assertEqual(len(delivered), sum(1 for r in results.values() if r.code == 250))
        self.assertEqual(set(delivered) - set(results), set())


class KillDuringDetonation(AirlockMailTest):
    CONFIG = ('[milter]\nmessage_budget = "60s"\n'
              '[detonation]\nenabled = true\nkinds = ["shell"]\nmode = "inline"\ntimeout = "30s"\n'
              '[actions]\nmalicious = "reject"\nsuspicious = "reject"\ntag_all = true\n')

    def test_kill_while_analysing_tempfails_then_rejects(self):
        raw = corpus.double_extension_script(salt="detonate-kill")
        box = {}
        t = threading.Thread(target=lambda: box.setdefault("r", self.send(raw)))
        t.start()
        # The ready marker: an `airlock analyze` below the milter (the detonation is running, the
        # end-of-message verdict is not given yet). SIGKILL the milter there.
        mid = corpus.message_id_of(raw)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "r" not in box and not analysis_running(self.milter):
            time.sleep(0.02)
        self.assertTrue(analysis_running(self.milter), "no analysis was seen running" + self.diagnostics())
        self.assertNotIn("r", box, "the message was answered before the kill: not mid-message")
        self.milter.kill()
        t.join(180)
        r = box["r"]
        self.assertEqual(r.code, SWAKS_DATA_REFUSED, r)
        self.assertRegex(r.final_reply() or "", r"^451 4\.7\.1", r)
        self.postfix.wait_settled()
        self.assertEqual(self.delivered_by_mid(mid), [])
        self.milter.start()
        r = self.send(raw)
        self.assertEqual(r.code, SWAKS_DATA_REFUSED, repr(r) + self.diagnostics())
        self.assertRegex(r.final_reply(), r"^550 5\.7\.1 airlock:")
        self.assertEqual(self.delivered_by_mid(mid), [])


if __name__ == "__main__":
    main()
