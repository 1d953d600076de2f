"""Concurrent SMTP sender for the load test and the benchmark.

send_all() pushes (message_id, bytes) pairs through `sessions` persistent SMTP sessions (threads, one
connection each, several messages per connection). A 4xx answer is retried (a real client's queue
does the same) until `retry_for` seconds have passed; a 5xx answer is final. Each result records the
last reply, the queue id from "250 ... queued as QID", the number of attempts and the latency of the
accepted/rejected transaction (MAIL FROM to the reply after DATA).
"""

import queue
import re
import smtplib
import threading
import time

QUEUED_AS = re.compile(rb"queued as ([0-9A-Za-z]+)")


class Result:
    __slots__ = ("mid", "code", "reply", "queue_id", "attempts", "latency", "tempfails")

    def __init__(self, mid):
        self.mid, self.code, self.reply, self.queue_id = mid, None, b"", None
        self.attempts, self.latency, self.tempfails = 0, None, 0

    def __repr__(self):
        return f"{self.mid}: {self.code} {self.reply[:80]!r} qid={self.queue_id} attempts={self.attempts}"


def _transaction(s, sender, rcpts, data):
    code, resp = s.mail(sender)
    if code != 250:
        return code, resp
    for r in rcpts:
        code, resp = s.rcpt(r)
        if code not in (250, 251):
            return code, resp
    return s.data(data)


def send_all(port, messages, sessions=20, sender="sender@test.example", rcpts=("load@test.example",),
             retry_for=120.0, per_session=50, on_result=None):
    """Sends every message; returns {message_id: Result}. Never raises for SMTP-level failures."""
    work = queue.Queue()
    for mid, data in messages:
        work.put((mid, data, 0.0))
    results = {mid: Result(mid) for mid, _ in messages}
    remaining = [len(messages)]
    lock = threading.Lock()
    deadline = time.monotonic() + retry_for

    def finish(res):
        with lock:
            remaining[0] -= 1
        if on_result:
            on_result(res)

    def worker():
        s = None
        sent_here = 0
        while True:
            with lock:
                if remaining[0] == 0:
                    break
            try:
                mid, data, not_before = work.get(timeout=0.2)
            except queue.Empty:
                continue
            wait = not_before - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, 0.5))
                if not_before > time.monotonic():
                    work.put((mid, data, not_before))
                    continue
            res = results[mid]
            res.attempts += 1
            try:
                if s is None or sent_here >= per_session:
                    if s is not None:
                        _quietly(s.quit)
                    s = smtplib.SMTP("127.0.0.1", port, local_hostname="load.test.example", timeout=120)
                    s.ehlo()
                    sent_here = 0
                t0 = time.monotonic()
                code, resp = _transaction(s, sender, rcpts, data)
                elapsed = time.monotonic() - t0
                sent_here += 1
                if code != 250:
                    _quietly(s.rset)
            except (smtplib.SMTPException, OSError) as e:
                code, resp, elapsed = 421, str(e).encode(), None
                if s is not None:
                    _quietly(s.close)
                s = None
            res.code, res.reply = code, resp
            if 400 <= code < 500 and time.monotonic() < deadline:
                res.tempfails += 1
                work.put((mid, data, time.monotonic() + min(0.2 * res.attempts, 2.0)))
                continue
            res.latency = elapsed
            m = QUEUED_AS.search(resp or b"")
            res.queue_id = m.group(1).decode() if m else None
            finish(res)
        if s is not None:
            _quietly(s.quit)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _quietly(fn):
    try:
        fn()
    except (smtplib.SMTPException, OSError):
        pass


def percentile(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)
