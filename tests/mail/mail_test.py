"""Shared pieces of the mail tests: options, skips, and fixtures around a private Postfix.

Every test script takes `--milter-user root|nobody` (which uid runs `airlock milter`; Postfix itself
always runs as root) and `--airlock PATH`, then runs its unittest cases. Exit 77 (ctest SKIP) with the
reason when not root or when postfix/swaks are missing, and when any case or class was skipped.
"""

import argparse
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import corpus  # noqa: E402
from milters import AirlockMilter  # noqa: E402
from postfix_instance import PostfixInstance  # noqa: E402
from smtp_client import swaks  # noqa: E402

SKIP = 77
OPTIONS = argparse.Namespace(milter_user="root", airlock=os.environ.get("AIRLOCK_BIN", ""))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--milter-user", choices=["root", "nobody"], default="root")
    p.add_argument("--airlock", default=os.environ.get("AIRLOCK_BIN", ""))
    opts, rest = p.parse_known_args()
    OPTIONS.milter_user, OPTIONS.airlock = opts.milter_user, opts.airlock
    if os.geteuid() != 0:
        print("SKIP: the mail tests run a private Postfix, whose master needs root", file=sys.stderr)
        sys.exit(SKIP)
    for tool in ("/usr/sbin/postfix", "/usr/bin/swaks"):
        if not os.path.exists(tool):
            print(f"SKIP: {tool} missing (scripts/install-deps.sh installs postfix and swaks)", file=sys.stderr)
            sys.exit(SKIP)
    sys.exit(exit_code(unittest.main(argv=[sys.argv[0]] + rest, verbosity=2, exit=False).result))


def exit_code(result):
    """0 when every case ran and passed, 1 on a failure, SKIP when a case or a whole class was skipped
    (a setUpClass raising SkipTest counts: unittest alone exits 0 then, and ctest would say Passed)."""
    if not result.wasSuccessful():
        return 1
    if result.skipped:
        for test, reason in result.skipped:
            print(f"SKIPPED: {test}: {reason}", file=sys.stderr)
        return SKIP
    return 0


class AirlockMailTest(unittest.TestCase):
    """A private Postfix wired to `airlock milter` with the class's CONFIG, one pair per test class."""

    CONFIG = ""
    POSTFIX_MAIN = {}
    TRANSPORT = "inet"  # or "unix": smtpd_milters = unix:PATH

    @classmethod
    def setUpClass(cls):
        if not OPTIONS.airlock or not os.access(OPTIONS.airlock, os.X_OK):
            raise unittest.SkipTest(f"airlock binary not given or not executable: {OPTIONS.airlock!r}")
        cls.milter = AirlockMilter(OPTIONS.airlock, cls.CONFIG, user=OPTIONS.milter_user, transport=cls.TRANSPORT)
        cls.postfix = PostfixInstance(milter=cls.milter.spec, main=cls.POSTFIX_MAIN)
        # The milter's quarantine needs the instance's config dir; the instance needs the milter's port.
        cls.milter.set_postfix(cls.postfix)
        try:
            cls.postfix.start()
            cls.milter.start()
            want_uid = 0 if OPTIONS.milter_user == "root" else 65534
            if cls.milter.uid() != want_uid:
                raise AssertionError(f"airlock milter runs as uid {cls.milter.uid()}, expected {want_uid}")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for name in ("postfix", "milter"):
            obj = getattr(cls, name, None)
            if obj is not None:
                obj.close()

    def send(self, raw, **kw):
        return swaks(self.postfix.port, raw, **kw)

    def delivered_by_mid(self, mid, user="rcpt"):
        return [m for m in self.postfix.maildir(user) if m.header("Message-ID") == mid]

    def diagnostics(self):
        return (f"\n--- postfix log\n{self.postfix.log_tail(30)}\n--- milter stderr\n{self.milter.stderr()[-3000:]}"
                f"\n--- milter log\n{self.milter.log_entries()[-5:]}")

    def assertMilterUp(self):
        self.assertTrue(self.milter.alive(), "airlock milter died" + self.diagnostics())
