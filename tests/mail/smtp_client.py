"""Sending mail to a private instance: swaks for single messages (exit code + transcript), and the
reply code of the DATA phase pulled out of the transcript."""

import os
import re
import subprocess
import tempfile

SWAKS = "/usr/bin/swaks"

# swaks exit codes (swaks(1) "EXIT CODES")
SWAKS_OK = 0
SWAKS_MAIL_REFUSED = 23  # error in the MAIL transaction
SWAKS_DATA_REFUSED = 26  # the server did not accept the mail after DATA


class SwaksResult:
    def __init__(self, code, transcript):
        self.code = code
        self.transcript = transcript

    def final_reply(self):
        """The server's reply to the end of DATA (`<~ ` lines after the `.`), e.g. '550 5.7.1 ...'."""
        lines = self.transcript.splitlines()
        seen_dot = False
        for line in lines:
            if line.strip() == "-> .":
                seen_dot = True
                continue
            if seen_dot:
                m = re.match(r"^<[-~*]{1,2}\s+(\d{3}.*)$", line)
                if m:
                    return m.group(1)
        return None

    def __repr__(self):
        return f"swaks exit {self.code}:\n{self.transcript}"


def swaks(port, message_bytes, sender="sender@test.example", rcpts=("rcpt@test.example",), timeout=120):
    """Sends a complete RFC 5322 message (headers + body) through 127.0.0.1:port."""
    with tempfile.NamedTemporaryFile(prefix="airlock-mail-msg.", suffix=".eml", delete=False) as f:
        f.write(message_bytes)
        path = f.name
    try:
        cmd = [SWAKS, "--server", "127.0.0.1", "--port", str(port), "--helo", "client.test.example",
               "--from", sender, "--timeout", str(timeout), "--data", "@" + path]
        for r in rcpts:
            cmd += ["--to", r]
        p = subprocess.run(cmd, capture_output=True, timeout=timeout + 30)
        return SwaksResult(p.returncode, (p.stdout + p.stderr).decode(errors="replace"))
    finally:
        os.unlink(path)
