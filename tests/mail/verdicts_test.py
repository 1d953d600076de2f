#!/usr/bin/env python3
"""mail.verdicts: clean mail is delivered with X-Airlock-* headers; each malicious kind is rejected,
quarantined (held by Postfix + in airlock's store; release delivers it unchanged) or stripped,
according to the configuration. Asserts on swaks' exit code and transcript, the Maildir, Postfix's
queue and log, and the milter's JSON log line."""

import json
import os
import re

from mail_test import AirlockMailTest, corpus, main
from postfix_instance import Message
from smtp_client import SWAKS_DATA_REFUSED, SWAKS_OK

HEADERS = ("X-Airlock-Verdict", "X-Airlock-Score")


def body_of(raw):
    """The message body (after the first empty line), LF line ends, trailing empty lines dropped."""
    raw = raw.replace(b"\r\n", b"\n")
    return raw.split(b"\n\n", 1)[1].rstrip(b"\n")


def attachments_of(raw):
    return Message.from_bytes(raw).attachments()


class Common:
    def sent(self, raw, want_code):
        r = self.send(raw)
        self.assertEqual(r.code, want_code, repr(r) + self.diagnostics())
        return r

    def log_for(self, mid_or_qid):
        """The milter's log line for a queue id."""
        return [e for e in self.milter.log_entries() if e.get("queue_id") == mid_or_qid]


class Reject(Common, AirlockMailTest):
    CONFIG = '[actions]\nmalicious = "reject"\nsuspicious = "reject"\nclean = "accept"\ntag_all = true\n'

    def test_clean_kinds_are_delivered_with_headers_and_unchanged(self):
        for kind, build in corpus.CLEAN.items():
            with self.subTest(kind=kind):
                raw = build()
                r = self.sent(raw, SWAKS_OK)
                mid = corpus.message_id_of(raw)
                self.postfix.wait_settled()
                got = self.delivered_by_mid(mid)
                self.assertEqual(len(got), 1, self.diagnostics())
                m = got[0]
                self.assertEqual(m.header("X-Airlock-Verdict"), "clean", m.raw[:2000])
                score = float(m.header("X-Airlock-Score"))
                self.assertGreaterEqual(score, 0.0)
                self.assertLessEqual(score, 10.0)
                self.assertEqual(body_of(m.raw), body_of(raw), kind)
                qid = r.final_reply().rsplit(" ", 1)[1]
                entries = self.log_for(qid)
                self.assertEqual(len(entries), 1, self.milter.log_entries()[-3:])
                self.assertEqual(entries[0]["verdict"], "clean")
                self.assertEqual(entries[0]["action"], "accept")
                self.assertEqual([r.strip("<>") for r in entries[0]["rcpt"]], ["rcpt@test.example"])
        self.assertMilterUp()

    def test_each_malicious_kind_is_rejected_with_550_5_7_1(self):
        for n, (kind, build) in enumerate(corpus.MALICIOUS.items(), 1):
            with self.subTest(kind=kind):
                raw = build()
                r = self.sent(raw, SWAKS_DATA_REFUSED)
                self.assertRegex(r.final_reply() or "", r"^550 5\.7\.1 airlock: .+", r)
                self.postfix.wait_settled()
                self.assertEqual(self.delivered_by_mid(corpus.message_id_of(raw)), [])
                rejects = re.findall(r"milter-reject: END-OF-MESSAGE from \S+: 5\.7\.1 airlock: ", self.postfix.log())
                self.assertEqual(len(rejects), n, self.postfix.log_tail(5))
        entries = [e for e in self.milter.log_entries() if e.get("action") == "reject"]
        self.assertGreaterEqual(len(entries), len(corpus.MALICIOUS))
        for e in entries:
            self.assertIn(e["verdict"], ("malicious", "suspicious"))
        self.assertEqual(self.postfix.held(), [])
        self.assertMilterUp()


class Defaults(Common, AirlockMailTest):
    """No [actions] at all: the documented defaults (malicious reject, suspicious tag, tag_all)."""
    CONFIG = ""

    def test_suspicious_is_delivered_tagged_with_techniques(self):
        raw = corpus.suspicious_script()
        self.sent(raw, SWAKS_OK)
        self.postfix.wait_settled()
        got = self.delivered_by_mid(corpus.message_id_of(raw))
        self.assertEqual(len(got), 1, self.diagnostics())
        m = got[0]
        self.assertEqual(m.header("X-Airlock-Verdict"), "suspicious")
        self.assertGreater(float(m.header("X-Airlock-Score")), 0.0)
        self.assertIn("T1204.002", m.header("X-Airlock-Techniques") or "")
        self.assertEqual(m.attachments(), attachments_of(raw))

    def test_malicious_is_rejected_by_default(self):
        r = self.sent(corpus.double_extension_script(), SWAKS_DATA_REFUSED)
        self.assertRegex(r.final_reply() or "", r"^550 5\.7\.1 airlock: ")

    def test_clean_has_no_techniques_header(self):
        raw = corpus.clean_text()
        self.sent(raw, SWAKS_OK)
        self.postfix.wait_settled()
        m = self.delivered_by_mid(corpus.message_id_of(raw))[0]
        self.assertEqual(m.header("X-Airlock-Verdict"), "clean")
        self.assertIsNone(m.header("X-Airlock-Techniques"))


class UnixSocket(Common, AirlockMailTest):
    """The same daemon on `unix:PATH` (the transport docs/PERFORMANCE.md recommends)."""
    TRANSPORT = "unix"

    def test_clean_is_tagged_and_malicious_rejected_over_a_unix_socket(self):
        self.assertTrue(self.postfix.milter.startswith("unix:"))
        raw = corpus.clean_docx()
        self.sent(raw, SWAKS_OK)
        self.postfix.wait_settled()
        got = self.delivered_by_mid(corpus.message_id_of(raw))
        self.assertEqual(len(got), 1, self.diagnostics())
        self.assertEqual(got[0].header("X-Airlock-Verdict"), "clean")
        r = self.sent(corpus.smuggling_html(), SWAKS_DATA_REFUSED)
        self.assertRegex(r.final_reply() or "", r"^550 5\.7\.1 airlock: ")


class Quarantine(Common, AirlockMailTest):
    CONFIG = ('[actions]\nmalicious = "quarantine"\nsuspicious = "quarantine"\ntag_all = true\n'
              '[quarantine]\nhold = true\n')

    def entry_for_qid(self, qid):
        r = self.milter.quarantine("list", "--json")
        listing = json.loads(r.stdout)
        entries = listing if isinstance(listing, list) else listing.get("entries", listing.get("messages", []))
        return [e for e in entries if e.get("queue_id") == qid], entries

    def test_each_malicious_kind_is_held_stored_and_released_unchanged(self):
        for kind, build in corpus.MALICIOUS.items():
            with self.subTest(kind=kind):
                raw = build()
                mid = corpus.message_id_of(raw)
                r = self.sent(raw, SWAKS_OK)
                qid = r.final_reply().rsplit(" ", 1)[1]
                self.postfix.wait_settled()
                # held by Postfix, not delivered
                self.assertIn(qid, [q["queue_id"] for q in self.postfix.held()], self.diagnostics())
                self.assertEqual(self.delivered_by_mid(mid), [])
                # in airlock's store, with the message as received
                mine, _ = self.entry_for_qid(qid)
                self.assertEqual(len(mine), 1, self.diagnostics())
                qd = os.path.join(self.milter.state_dir, "quarantine", mine[0]["id"])
                with open(os.path.join(qd, "message.eml"), "rb") as f:
                    stored = f.read()
                self.assertEqual(body_of(stored), body_of(raw))
                self.assertIn(mid.encode(), stored)
                with open(os.path.join(qd, "meta.json")) as f:
                    meta = json.load(f)
                self.assertEqual(meta["queue_id"], qid)
                self.assertIn(meta["verdict"], ("malicious", "suspicious"))
                self.assertTrue(os.path.exists(os.path.join(qd, "report.json")))
                # release: delivered unchanged, gone from the hold queue and from the store
                self.milter.quarantine("release", mine[0]["id"])
                got = self.postfix.wait_delivered_mid(mid)
                self.assertEqual(body_of(got.raw), body_of(raw), kind)
                self.assertEqual(got.attachments(), attachments_of(raw))
                self.postfix.wait_settled()
                self.assertNotIn(qid, [q["queue_id"] for q in self.postfix.held()])
                self.assertEqual(self.entry_for_qid(qid)[0], [])
                self.assertFalse(os.path.exists(qd))
        self.assertMilterUp()

    def test_delete_drops_the_held_message(self):
        raw = corpus.eicar_nested_zip()
        r = self.sent(raw, SWAKS_OK)
        qid = r.final_reply().rsplit(" ", 1)[1]
        self.postfix.wait_settled()
        mine, _ = self.entry_for_qid(qid)
        self.assertEqual(len(mine), 1)
        self.milter.quarantine("delete", mine[0]["id"])
        self.postfix.wait_settled()
        self.assertNotIn(qid, [q["queue_id"] for q in self.postfix.queue()])
        self.assertEqual(self.entry_for_qid(qid)[0], [])
        self.assertEqual(self.delivered_by_mid(corpus.message_id_of(raw)), [])
        self.assertEqual(self.milter.quarantine("release", mine[0]["id"], check=False).returncode, 1)

    def test_clean_is_not_quarantined(self):
        raw = corpus.clean_docx()
        self.sent(raw, SWAKS_OK)
        self.postfix.wait_settled()
        got = self.delivered_by_mid(corpus.message_id_of(raw))
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0].header("X-Airlock-Verdict"), "clean")


class QuarantineWithoutHold(Common, AirlockMailTest):
    """hold = false: Postfix discards the message, airlock keeps it; release re-injects message.eml
    with sendmail into the same instance."""
    CONFIG = ('[actions]\nmalicious = "quarantine"\nsuspicious = "quarantine"\ntag_all = true\n'
              '[quarantine]\nhold = false\n')

    def test_release_reinjects_the_stored_message_unchanged(self):
        raw = corpus.password_zip()
        mid = corpus.message_id_of(raw)
        r = self.sent(raw, SWAKS_OK)
        qid = r.final_reply().rsplit(" ", 1)[1]
        self.postfix.wait_settled()
        self.assertEqual(self.postfix.queue(), [], "held although hold = false")
        self.assertEqual(self.delivered_by_mid(mid), [])
        listing = json.loads(self.milter.quarantine("list", "--json").stdout)
        entries = listing if isinstance(listing, list) else listing.get("entries", listing.get("messages", []))
        mine = [e for e in entries if e.get("queue_id") == qid]
        self.assertEqual(len(mine), 1, entries)
        self.milter.quarantine("release", mine[0]["id"])
        got = self.postfix.wait_delivered_mid(mid)
        self.assertEqual(body_of(got.raw), body_of(raw))
        self.assertEqual(got.attachments(), attachments_of(raw))
        self.assertEqual(len(self.delivered_by_mid(mid)), 1)
        # it came back through sendmail/pickup, not through smtpd
        self.assertRegex(self.postfix.log(), r"postfix-airlock-test/pickup\[\d+\]: \w+: uid=0 from=<sender@test.example>")


class Strip(Common, AirlockMailTest):
    CONFIG = '[actions]\nmalicious = "strip"\nsuspicious = "strip"\ntag_all = true\n'

    def test_each_malicious_attachment_is_replaced_by_a_text_part(self):
        for kind, build in corpus.MALICIOUS.items():
            with self.subTest(kind=kind):
                raw = build()
                original = corpus.MALICIOUS_ATTACHMENT[kind]
                self.sent(raw, SWAKS_OK)
                self.postfix.wait_settled()
                got = self.delivered_by_mid(corpus.message_id_of(raw))
                self.assertEqual(len(got), 1, self.diagnostics())
                m = got[0]
                self.assertIn(m.header("X-Airlock-Verdict"), ("malicious", "suspicious"))
                names = [n for n, _ in m.attachments()]
                self.assertNotIn(original, names)
                self.assertIn(original + ".removed.txt", names, m.raw[:3000])
                text = dict(m.attachments())[original + ".removed.txt"].decode()
                self.assertTrue(text.startswith(f'airlock removed the attachment "{original}"'), text)
                self.assertRegex(text, "malicious|suspicious")
                # the text body is still there
                first_text = next(p for p in m.msg.walk() if p.get_content_type() == "text/plain"
                                  and p.get_filename() is None)
                self.assertTrue(first_text.get_content().strip())
                self.assertNotIn(corpus.eicar(), m.raw)
        self.assertMilterUp()

    def test_clean_attachment_is_kept(self):
        raw = corpus.clean_png()
        self.sent(raw, SWAKS_OK)
        self.postfix.wait_settled()
        got = self.delivered_by_mid(corpus.message_id_of(raw))
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0].attachments(), [("logo.png", corpus.png_bytes())])


if __name__ == "__main__":
    main()
