"""Milter processes for the private Postfix: airlock's (`airlock milter`, as root or as uid 65534) and
clamav-milter in front of a private clamd with a small signature database generated here.

Each is a context manager: started on a free loopback port, stopped (and its files removed) on exit.
`spec` is the smtpd_milters value for Postfix.
"""

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time

import corpus
from postfix_instance import Started, free_port, owned_tempdir, reap_stale, record_pid, wait_for_port

NOBODY = 65534
SETPRIV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all",
           "--bounding-set=-all"]


def _stop(proc, sig=signal.SIGTERM, timeout=30):
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


class AirlockMilter(Started):
    """`airlock milter` with `config` (TOML text), its own state dir and JSON log file.

    user="root" runs it as root; user="nobody" runs it through setpriv as uid/gid 65534 with no
    capabilities (the .user test variant). The state dir and log survive restart() (the kill test).
    """

    def __init__(self, airlock_bin, config="", user="root", postfix=None, port=None, transport="inet"):
        self.airlock = airlock_bin
        self.user = user
        reap_stale()
        self.dir = owned_tempdir("airlock-milter")
        self.transport = transport
        if transport == "unix":
            self.port = None
            self.sock = os.path.join(self.dir, "run", "milter.sock")
            os.makedirs(os.path.dirname(self.sock))
            if user != "root":
                os.chown(os.path.dirname(self.sock), NOBODY, NOBODY)
            self.spec = f"unix:{self.sock}"
        else:
            self.port = port or free_port()
            self.spec = f"inet:127.0.0.1:{self.port}"
        self.state_dir = os.path.join(self.dir, "state")
        self.home = os.path.join(self.dir, "home")
        self.log_path = os.path.join(self.dir, "milter.jsonl")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.config_path = os.path.join(self.dir, "milter.toml")
        for d in (self.state_dir, self.home):
            os.makedirs(d)
        self.config = config
        self.postfix = postfix
        if user != "root":
            for d in (self.state_dir, self.home):
                os.chown(d, NOBODY, NOBODY)
            open(self.log_path, "a").close()
            os.chown(self.log_path, NOBODY, NOBODY)
        self.proc = None
        self.starts = 0

    def set_postfix(self, postfix):
        """The private instance whose hold queue quarantine uses (postsuper/sendmail -c DIR)."""
        self.postfix = postfix

    def write_config(self):
        config = self.config
        if self.postfix is not None and "postfix_config_dir" not in config:
            if "[quarantine]" in config:
                config = config.replace("[quarantine]", f'[quarantine]\npostfix_config_dir = "{self.postfix.etc}"', 1)
            else:
                config += f'\n[quarantine]\npostfix_config_dir = "{self.postfix.etc}"\n'
        with open(self.config_path, "w") as f:
            f.write(config)
        os.chmod(self.config_path, 0o644)

    def command(self):
        cmd = [self.airlock, "milter", "--listen", self.spec, "--config", self.config_path,
               "--state-dir", self.state_dir, "--log", self.log_path]
        return (SETPRIV + cmd) if self.user != "root" else cmd

    def start(self, timeout=60):
        if self.starts == 0:
            self.write_config()
        env = dict(os.environ, HOME=self.home, TMPDIR=self.home)
        self.starts += 1
        err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env,
                                     start_new_session=True)
        err.close()
        record_pid(self.dir, self.proc.pid)
        deadline = time.monotonic() + timeout
        want = f"airlock-milter: listening on {self.spec}"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"airlock milter exited {self.proc.returncode} before listening:\n{self.stderr()}")
            if self.stderr().count(want) >= self.starts:
                if self.port:
                    wait_for_port(self.port, timeout=10)
                else:
                    os.chmod(self.sock, 0o666)  # Postfix's smtpd runs as user postfix
                return
            time.sleep(0.05)
        raise TimeoutError(f"airlock milter did not say '{want}' in {timeout}s:\n{self.stderr()}")

    def kill(self):
        """SIGKILL, no chance to finish anything (the kill test)."""
        _stop(self.proc, signal.SIGKILL)

    def stop(self):
        _stop(self.proc, signal.SIGTERM)
        return self.proc.returncode if self.proc else None

    def uid(self):
        """The real uid the running daemon has (from /proc)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
        return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def close(self):
        _stop(self.proc)
        with contextlib.suppress(ProcessLookupError, TypeError):
            if self.proc:
                os.killpg(self.proc.pid, signal.SIGKILL)  # scan workers left behind, if any
        if os.environ.get("AIRLOCK_MAIL_KEEP"):
            print(f"milter dir kept in {self.dir}")
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_entries(self):
        """The JSON log lines written so far."""
        out = []
        try:
            with open(self.log_path, errors="replace") as f:
                for line in f:
                    line = line.strip()
                    if line.startswith("{"):
                        out.append(json.loads(line))
        except OSError:
            pass
        return out

    def quarantine(self, *args, check=True):
        """`airlock quarantine --state-dir S --config C ARGS` as root (the admin's command)."""
        cmd = [self.airlock, "quarantine", "--state-dir", self.state_dir, "--config", self.config_path, *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} -> {r.returncode}\n{r.stdout}{r.stderr}")
        return r


def clamav_signatures():
    """A small local ClamAV database: EICAR and two of the corpus's attack patterns (.ndb), and the
    dropper script by hash (.hdb). Not a real AV database; enough to make clamd do real work."""
    ndb = [
        "Airlock.Test.EICAR:0:*:" + corpus.eicar()[:68].hex(),
        "Airlock.Test.HtmlSmuggling:3:*:" + b"url.createobjecturl(blob)".hex(),  # normalized HTML
        "Airlock.Test.DDEAUTO:0:*:" + b"DDEAUTO".hex(),
    ]
    with open(os.path.join(corpus.SAMPLES, "dropper_persistence.sh"), "rb") as f:
        dropper = f.read()
    hdb = [f"{hashlib.md5(dropper).hexdigest()}:{len(dropper)}:Airlock.Test.Dropper"]
    return "\n".join(ndb) + "\n", "\n".join(hdb) + "\n"


class ClamavMilter(Started):
    """clamd (private socket, signature db in a temp dir) + clamav-milter on a free loopback port."""

    def __init__(self, transport="inet"):
        reap_stale()
        self.dir = owned_tempdir("clamav")
        if transport == "unix":
            self.port = None
            self.milter_sock = os.path.join(self.dir, "clamav-milter.sock")
            self.spec = f"unix:{self.milter_sock}"
            listen = f"unix:{self.milter_sock}\nMilterSocketMode 666"
        else:
            self.port = free_port()
            self.spec = f"inet:127.0.0.1:{self.port}"
            listen = f"inet:{self.port}@127.0.0.1"
        self.db = os.path.join(self.dir, "db")
        os.makedirs(self.db)
        ndb, hdb = clamav_signatures()
        with open(os.path.join(self.db, "airlock-test.ndb"), "w") as f:
            f.write(ndb)
        with open(os.path.join(self.db, "airlock-test.hdb"), "w") as f:
            f.write(hdb)
        self.sock = os.path.join(self.dir, "clamd.sock")
        self.tmp = os.path.join(self.dir, "tmp")
        os.makedirs(self.tmp)
        with open(os.path.join(self.dir, "clamd.conf"), "w") as f:
            f.write(f"LocalSocket {self.sock}\nFixStaleSocket yes\nForeground yes\n"
                    f"DatabaseDirectory {self.db}\nTemporaryDirectory {self.tmp}\n"
                    f"LogFile {self.dir}/clamd.log\nPidFile {self.dir}/clamd.pid\nBytecode no\n"
                    "ScanArchive yes\nScanMail yes\nScanOLE2 yes\nScanPDF yes\nScanHTML yes\n"
                    "MaxThreads 4\nSelfCheck 0\n")
        with open(os.path.join(self.dir, "clamav-milter.conf"), "w") as f:
            f.write(f"MilterSocket {listen}\nClamdSocket unix:{self.sock}\nForeground yes\n"
                    f"LogFile {self.dir}/clamav-milter.log\nPidFile {self.dir}/clamav-milter.pid\n"
                    f"TemporaryDirectory {self.tmp}\nOnClean Accept\nOnInfected Reject\nOnFail Defer\n"
                    "AddHeader Replace\nMaxThreads 20\nReadTimeout 60\nLogInfected Basic\n")
        self.clamd = None
        self.milter = None

    def start(self):
        out = open(os.path.join(self.dir, "clamd.out"), "wb")
        self.clamd = subprocess.Popen(["/usr/sbin/clamd", "-c", os.path.join(self.dir, "clamd.conf")],
                                      stdout=out, stderr=out, start_new_session=True)
        record_pid(self.dir, self.clamd.pid)
        deadline = time.monotonic() + 60
        while not os.path.exists(self.sock):
            if self.clamd.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"clamd did not start:\n{self.logs()}")
            time.sleep(0.05)
        out = open(os.path.join(self.dir, "clamav-milter.out"), "wb")
        self.milter = subprocess.Popen(["/usr/sbin/clamav-milter", "-c", os.path.join(self.dir, "clamav-milter.conf")],
                                       stdout=out, stderr=out, start_new_session=True)
        record_pid(self.dir, self.milter.pid)
        try:
            if self.port:
                wait_for_port(self.port, timeout=60)
            else:
                deadline = time.monotonic() + 60
                while not os.path.exists(self.milter_sock):
                    if self.milter.poll() is not None or time.monotonic() > deadline:
                        raise TimeoutError(f"no socket {self.milter_sock}")
                    time.sleep(0.05)
        except TimeoutError as e:
            raise RuntimeError(f"clamav-milter did not listen: {e}\n{self.logs()}") from e

    def close(self):
        _stop(self.milter)
        _stop(self.clamd)
        if not os.environ.get("AIRLOCK_MAIL_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self):
        out = ""
        for n in ("clamd.out", "clamd.log", "clamav-milter.out", "clamav-milter.log"):
            with contextlib.suppress(OSError), open(os.path.join(self.dir, n), errors="replace") as f:
                out += f"--- {n}\n{f.read()}"
        return out
