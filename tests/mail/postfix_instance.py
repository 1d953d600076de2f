"""A private Postfix instance for the mail tests and the mail benchmark.

Everything lives in one temp dir: its own config_directory, queue_directory, data_directory, a log
file (postlogd, not syslog), and a Maildir base for virtual delivery. smtpd listens on a free
127.0.0.1 port only; nothing is relayed off the machine (default/relay transport = error). The
system's default instance (/etc/postfix, /var/spool/postfix) is neither read nor changed.

Needs root (Postfix's master). Use as a context manager: the instance is stopped and its dir removed
even when the test fails; instances (and milters) left behind by a killed test run are reaped at the
next start (their dir names the owning pid).
"""

import contextlib
import email
import email.policy
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTQUEUE = "/usr/sbin/postqueue"
POSTSUPER = "/usr/sbin/postsuper"
DOMAIN = "test.example"
MAILBOX_UID = 65534  # virtual delivery writes the Maildirs as nobody
PREFIX = "airlock-mail."
MAILBOXES = ("rcpt", "rcpt2", "sender", "load")

# Services a delivering instance needs; none chrooted (the queue dir is private anyway).
MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def free_port():
    """A currently free TCP port on 127.0.0.1 (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=30.0, banner=b""):
    """Waits until 127.0.0.1:port accepts a connection (and sends `banner` first, when given)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                if banner:
                    data = s.recv(512)
                    if not data.startswith(banner):
                        raise OSError(f"unexpected banner {data!r}")
                return
        except OSError as e:
            last = e
            time.sleep(0.1)
    raise TimeoutError(f"127.0.0.1:{port} not ready after {timeout}s: {last}")


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _master_pid(root):
    try:
        with open(os.path.join(root, "spool", "pid", "master.pid")) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _kill_master(root):
    pid = _master_pid(root)
    if pid is None or not _pid_alive(pid):
        return
    subprocess.run([POSTFIX, "-c", os.path.join(root, "etc"), "stop"], capture_output=True, timeout=60)
    deadline = time.monotonic() + 10
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _pid_alive(pid):
        # master did not stop: kill it and its process group (its children share it).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def owned_tempdir(kind):
    """A 0755 temp dir named for this process (airlock-mail.<kind>.<pid>.XXXX), so that what a killed
    test run left behind can be found and cleaned by the next one (reap_stale)."""
    d = tempfile.mkdtemp(prefix=f"{PREFIX}{kind}.{os.getpid()}.")
    os.chmod(d, 0o755)
    return d


def record_pid(dirname, pid):
    """Remembers a daemon started for this dir (its process group is killed by reap_stale)."""
    with open(os.path.join(dirname, "daemon.pids"), "a") as f:
        f.write(f"{pid}\n")


def reap_stale(tmp=None):
    """Stops the daemons of, and removes, the dirs whose owning test process is gone."""
    tmp = tmp or tempfile.gettempdir()
    for name in os.listdir(tmp):
        if not name.startswith(PREFIX):
            continue
        try:
            owner = int(name[len(PREFIX):].split(".")[1])
        except (ValueError, IndexError):
            continue
        if _pid_alive(owner):
            continue
        root = os.path.join(tmp, name)
        _kill_master(root)
        try:
            with open(os.path.join(root, "daemon.pids")) as f:
                pids = [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            pids = []
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


class Started:
    """Context-manager protocol for a started service: `with X(...) as x` calls start(), and close() on
    exit or when start() itself fails (so a half-started service never outlives its test)."""

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Message:
    """A delivered message: raw bytes as stored in the Maildir, and the parsed form."""

    def __init__(self, path, raw=None):
        self.path = path
        if raw is None:
            with open(path, "rb") as f:
                raw = f.read()
        self.raw = raw
        self.msg = email.message_from_bytes(self.raw, policy=email.policy.default)

    @classmethod
    def from_bytes(cls, raw):
        return cls(None, raw)

    def header(self, name):
        v = self.msg.get(name)
        return None if v is None else str(v)

    def attachments(self):
        """(filename, bytes) of every part that has a filename."""
        out = []
        for part in self.msg.walk():
            fn = part.get_filename()
            if fn is not None:
                out.append((fn, part.get_payload(decode=True) or b""))
        return out


class PostfixInstance(Started):
    """One private Postfix. `milter` is an smtpd_milters spec or None; `main` adds/overrides main.cf."""

    def __init__(self, milter=None, main=None):
        reap_stale()
        self.root = owned_tempdir("postfix")
        self.etc = os.path.join(self.root, "etc")
        self.spool = os.path.join(self.root, "spool")
        self.data = os.path.join(self.root, "data")
        self.mailbase = os.path.join(self.root, "mail")
        self.logfile = os.path.join(self.root, "log", "maillog")
        self.port = free_port()
        self.milter = milter
        self.main_extra = dict(main or {})
        self.started = False

    # -- lifecycle -------------------------------------------------------------------------------
    def main_cf(self):
        cf = {
            "compatibility_level": "3.6",
            "queue_directory": self.spool,
            "data_directory": self.data,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "maillog_file": self.logfile,
            "maillog_file_prefixes": self.root,
            "syslog_name": "postfix-airlock-test",
            "myhostname": "mx.airlock-test.invalid",
            "mydomain": "airlock-test.invalid",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "default_transport": "error:the airlock test instance delivers nothing off this host",
            "relay_transport": "error:the airlock test instance delivers nothing off this host",
            "virtual_mailbox_domains": DOMAIN,
            "virtual_mailbox_base": self.mailbase,
            "virtual_mailbox_maps": f"texthash:{self.etc}/vmailbox",
            "virtual_uid_maps": f"static:{MAILBOX_UID}",
            "virtual_gid_maps": f"static:{MAILBOX_UID}",
            "virtual_minimum_uid": "100",
            "virtual_mailbox_limit": "0",
            "message_size_limit": "52428800",
            "biff": "no",
            "append_dot_mydomain": "no",
            "readme_directory": "no",
            "smtputf8_enable": "no",
            # fast, deterministic tests: no throttling, short retries and timeouts
            "in_flow_delay": "0",
            "smtpd_error_sleep_time": "0",
            "smtpd_soft_error_limit": "1000",
            "smtpd_hard_error_limit": "1000",
            "smtpd_client_connection_count_limit": "0",
            "smtpd_timeout": "60s",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "default_process_limit": "100",
            "milter_default_action": "tempfail",
            "milter_protocol": "6",
            "milter_connect_timeout": "5s",
            "milter_command_timeout": "15s",
            "milter_content_timeout": "90s",
            "smtpd_milters": self.milter or "",
            "non_smtpd_milters": "",
        }
        cf.update(self.main_extra)
        return cf

    def start(self):
        for d in (self.etc, self.spool, self.data, os.path.dirname(self.logfile)):
            os.makedirs(d, mode=0o755, exist_ok=True)
        os.makedirs(self.mailbase, mode=0o700)
        os.chown(self.mailbase, MAILBOX_UID, MAILBOX_UID)
        postfix_pw = _uid_gid("postfix")
        os.chown(self.data, *postfix_pw)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            for k, v in self.main_cf().items():
                f.write(f"{k} = {v}\n")
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen=f"127.0.0.1:{self.port}"))
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            for user in MAILBOXES:  # a trailing slash makes virtual(8) deliver into a Maildir
                f.write(f"{user}@{DOMAIN} {user}/\n")
        # `postfix start` creates the queue tree (postfix-files) and starts master as a daemon.
        self._postfix("start")
        self.started = True
        wait_for_port(self.port, banner=b"220")

    def close(self):
        if self.started or _master_pid(self.root):
            _kill_master(self.root)
        self.started = False
        if os.environ.get("AIRLOCK_MAIL_KEEP"):
            print(f"postfix instance kept in {self.root}")
            return
        shutil.rmtree(self.root, ignore_errors=True)

    def _postfix(self, *args):
        r = subprocess.run([POSTFIX, "-c", self.etc, *args], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            # Postfix writes early fatal errors to stderr only when it is a terminal: ask again on one.
            why = subprocess.run(["script", "-qc", f"{POSTFIX} -c {self.etc} {' '.join(args)}", "/dev/null"],
                                 capture_output=True, text=True, timeout=120).stdout
            raise RuntimeError(f"postfix {' '.join(args)} failed ({r.returncode}): {r.stderr}{r.stdout}{why}"
                               f"\n{self.log_tail()}")
        return r

    def maildir(self, user="rcpt"):
        """Delivered messages for user@test.example, oldest first."""
        new = os.path.join(self.mailbase, user, "new")
        if not os.path.isdir(new):
            return []
        paths = [os.path.join(new, n) for n in os.listdir(new)]
        paths.sort(key=lambda p: (os.stat(p).st_mtime_ns, p))
        return [Message(p) for p in paths]

    def queue(self):
        """postqueue -j: one dict per queued message (queue_name is incoming/active/deferred/hold)."""
        r = subprocess.run([POSTQUEUE, "-c", self.etc, "-j"], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"postqueue -j: {r.stderr}")
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    def held(self):
        return [q for q in self.queue() if q["queue_name"] == "hold"]

    def wait_settled(self, timeout=60.0):
        """Waits until nothing is waiting for delivery (held messages stay held). Returns the queue."""
        deadline = time.monotonic() + timeout
        while True:
            q = self.queue()
            pending = [m for m in q if m["queue_name"] != "hold"]
            if not pending:
                return q
            if time.monotonic() > deadline:
                raise TimeoutError(f"queue not empty after {timeout}s: {pending[:5]}\n{self.log_tail()}")
            time.sleep(0.2)

    def wait_delivered(self, count, user="rcpt", timeout=60.0):
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.maildir(user)
            if len(msgs) >= count:
                return msgs
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(msgs)} of {count} delivered to {user} after {timeout}s\n"
                                   f"{self.log_tail()}")
            time.sleep(0.1)

    def wait_delivered_mid(self, mid, user="rcpt", timeout=60.0):
        """The one delivered message with this Message-ID (waits for it)."""
        deadline = time.monotonic() + timeout
        while True:
            got = [m for m in self.maildir(user) if m.header("Message-ID") == mid]
            if got:
                return got[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{mid} not delivered to {user} after {timeout}s\n{self.log_tail()}")
            time.sleep(0.1)

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines=40):
        return "\n".join(self.log().splitlines()[-lines:])


def _uid_gid(user):
    import pwd
    pw = pwd.getpwnam(user)
    return pw.pw_uid, pw.pw_gid
