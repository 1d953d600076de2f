#!/usr/bin/env python3
"""mail.harness: the private Postfix itself, without a milter and with clamav-milter (proves the
instance, Maildir delivery, the milter wiring, tempfail on a dead milter, and the cleanup)."""

import os
import unittest

from mail_test import corpus, main, swaks
from milters import ClamavMilter
import postfix_instance
from postfix_instance import PREFIX, PostfixInstance, free_port
from smtp_client import SWAKS_DATA_REFUSED, SWAKS_MAIL_REFUSED, SWAKS_OK


class NoMilter(unittest.TestCase):
    def test_delivers_each_clean_kind_unchanged(self):
        with PostfixInstance() as pf:
            sent = {}
            for kind, build in corpus.CLEAN.items():
                raw = build()
                r = swaks(pf.port, raw)
                self.assertEqual(r.code, SWAKS_OK, r)
                self.assertRegex(r.final_reply(), r"^250 2\.0\.0 Ok: queued as [0-9A-F]+", r)
                sent[corpus.message_id_of(raw)] = (kind, raw)
            msgs = pf.wait_delivered(len(sent))
            self.assertEqual(len(msgs), len(sent))
            for m in msgs:
                kind, raw = sent[m.header("Message-ID")]
                # Postfix prepends Return-Path/Delivered-To/Received; the message follows byte for byte
                # (Maildir lines end in LF; swaks ends the data with one more empty line).
                self.assertTrue(m.raw.rstrip(b"\n").endswith(raw.replace(b"\r\n", b"\n").rstrip(b"\n")), kind)
            self.assertEqual(pf.queue(), [])
            root = pf.root
        self.assertFalse(os.path.exists(root), "instance dir left behind")

    def test_dead_milter_tempfails_and_nothing_is_delivered(self):
        # milter_default_action = tempfail: a milter that is not there must not let mail through.
        with PostfixInstance(milter=f"inet:127.0.0.1:{free_port()}") as pf:
            r = swaks(pf.port, corpus.clean_text())
            # Postfix finds the milter dead at MAIL FROM already (swaks: error in MAIL transaction).
            self.assertIn(r.code, (SWAKS_MAIL_REFUSED, SWAKS_DATA_REFUSED), r)
            self.assertRegex(r.transcript, r"<\*\* 451 4\.7\.1", r)
            self.assertEqual(pf.maildir(), [])
            self.assertEqual(pf.queue(), [])
            self.assertIn("milter", pf.log())

    def test_stale_instance_of_a_dead_test_is_reaped(self):
        pf = PostfixInstance()
        pf.start()
        master = postfix_instance._master_pid(pf.root)
        self.assertIsNotNone(master)
        # Pretend its owner died: rename the dir to a pid that does not exist, then start another one.
        dead = os.path.join(os.path.dirname(pf.root), f"{PREFIX}postfix.999999999.stale")
        os.rename(pf.root, dead)
        try:
            with PostfixInstance():
                self.assertFalse(os.path.exists(dead))
                self.assertFalse(postfix_instance._pid_alive(master), "stale master still running")
        finally:
            pf.root = dead
            pf.close()


class WithClamavMilter(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists("/usr/sbin/clamav-milter") or not os.path.exists("/usr/sbin/clamd"):
            raise unittest.SkipTest("clamav-milter/clamav-daemon not installed")
        cls.clam = ClamavMilter()
        cls.clam.start()
        cls.postfix = PostfixInstance(milter=cls.clam.spec)
        cls.postfix.start()

    @classmethod
    def tearDownClass(cls):
        cls.postfix.close()
        cls.clam.close()

    def test_clean_is_delivered_with_clamav_header(self):
        raw = corpus.clean_pdf()
        r = swaks(self.postfix.port, raw)
        self.assertEqual(r.code, SWAKS_OK, r)
        mid = corpus.message_id_of(raw)
        self.postfix.wait_settled()
        got = [m for m in self.postfix.maildir() if m.header("Message-ID") == mid]
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0].header("X-Virus-Status"), "Clean")
        self.assertEqual(got[0].attachments(), [("report.pdf", corpus.pdf_bytes())])

    def test_eicar_in_nested_zips_is_rejected_and_not_delivered(self):
        raw = corpus.eicar_nested_zip()
        r = swaks(self.postfix.port, raw)
        self.assertEqual(r.code, SWAKS_DATA_REFUSED, r)
        self.assertRegex(r.final_reply(), r"^550 5\.7\.1", r)
        self.postfix.wait_settled()
        mid = corpus.message_id_of(raw)
        self.assertEqual([m for m in self.postfix.maildir() if m.header("Message-ID") == mid], [])
        self.assertIn("Airlock.Test.EICAR", self.clam.logs())


if __name__ == "__main__":
    main()
