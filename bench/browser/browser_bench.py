#!/usr/bin/env python3
"""Chromium under airlock against the same browser bare and under firejail's profile for it.

Usage: bench/browser/browser_bench.py AIRLOCK_BIN [--rounds N] [--user NAME] [--browser chromium|firefox]
  As root; every browser runs as NAME (default: the first user with a uid from 1000 on), so Chromium's
  own sandbox is on in every variant (as root it refuses to start one) and firejail accepts the user
  (it refuses system users such as nobody).

Measured, variants interleaved round by round (docs/PERFORMANCE.md "Browser"):
  1. start to first load: `chromium --headless --dump-dom` of a small page from a loopback server,
     from exec to exit (start, first navigation, the DOM printed): bare, under `firejail
     --profile=chromium` (Debian's firejail-profiles), under `airlock run --profile browser` (what
     `airlock browser` starts), and the whole `airlock browser --headless --until-settled` session
     (its report's first_load_ms too).
  2. memory: resident memory (PSS, /proc/PID/smaps_rollup) summed over the process tree 3 s after the
     page loaded, bare against `airlock run --profile browser` (airlock's own supervisor and init
     included).
  With --browser firefox: Debian's Firefox ESR instead, start to first load measured as `firefox-esr
  --headless --screenshot` of the page (start, load, the PNG written, exit) bare, under firejail's
  firefox-esr profile and under `airlock run --profile browser`, and the whole `airlock browser
  --browser firefox` session (the page server then on the host's own address, allowed with
  --net-allow: Firefox refuses --net host).
  3. download to verdict: `airlock browser` fetching a clean PDF (static triage, then released) and a
     shell script (detonated before release): the time from the session's "finished: judging" line to
     its verdict line.
"""
import argparse, http.server, json, os, pwd, shutil, signal, statistics, subprocess, sys, tempfile, threading, time

USER = None  # (uid, gid), set in main
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
SCRIPT = b"#!/bin/sh\necho hello from a download\n"
PAGE = b"<html><body><h1>airlock-bench-page</h1>" + b"<p>text</p>" * 200 + b"</body></html>"
sent = {}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body, ctype, extra = PAGE, "text/html", {}
        if self.path.endswith(".pdf"):
            body, ctype, extra = PDF, "application/pdf", {"Content-Disposition": 'attachment; filename="report.pdf"'}
        elif self.path.endswith(".sh"):
            body, ctype, extra = SCRIPT, "application/x-sh", {"Content-Disposition": 'attachment; filename="setup.sh"'}
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        sent[self.path] = time.monotonic()

    def log_message(self, *a):
        pass


def as_user(home):
    def drop():
        os.setgroups([])
        os.setresgid(USER[1], USER[1], USER[1])
        os.setresuid(USER[0], USER[0], USER[0])
    env = {"HOME": home, "PATH": "/usr/bin:/bin", "XDG_DATA_HOME": home + "/data", "DBUS_SESSION_BUS_ADDRESS": "disabled:"}
    return drop, env


def timed(argv, home, timeout=120):
    drop, env = as_user(home)
    t = time.monotonic()
    r = subprocess.run(argv, preexec_fn=drop, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return time.monotonic() - t, r


def tree(root):
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        for t in os.listdir(f"/proc/{p}/task") if os.path.isdir(f"/proc/{p}/task") else []:
            try:
                todo += [int(c) for c in open(f"/proc/{p}/task/{t}/children").read().split()]
            except OSError:
                pass
    return out


def pss_mib(root):
    total = 0
    for p in tree(root):
        try:
            for line in open(f"/proc/{p}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def memory(argv, home):
    drop, env = as_user(home)
    p = subprocess.Popen(argv, preexec_fn=drop, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(6)
    m = pss_mib(p.pid)
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return m


def download_to_verdict(airlock, url, home):
    """Seconds from the browser's "finished: judging" line to its verdict line, and that line."""
    argv = [airlock, "browser", "--headless", "--until-settled", "--net", "host", "--timeout", "120", url]
    drop, env = as_user(home)
    p = subprocess.Popen(argv, preexec_fn=drop, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    finished, verdict = None, None
    for line in p.stderr:
        now = time.monotonic()
        if "finished (" in line and finished is None:
            finished = now
        elif finished is not None and verdict is None and (" is clean" in line or "MALICIOUS" in line or "suspicious" in line):
            verdict = (now - finished, line.strip())
    p.wait()
    return verdict


def interleaved(variants, rounds, home):
    """Each variant once per round, the order rotated round by round: {variant: [seconds]}, and the
    first_load_ms of each `airlock browser` session's report (home/reportN.json)."""
    times = {k: [] for k in variants}
    first_load = []
    for r in range(rounds):
        names = list(variants)
        names = names[r % len(names):] + names[:r % len(names)]
        for k in names:
            dt, res = timed(variants[k](r), home)
            if res.returncode != 0:
                print(f"warning: {k} exited {res.returncode}: {res.stderr[-300:]!r}", file=sys.stderr)
            times[k].append(dt)
            if k.startswith("airlock browser"):
                try:
                    first_load.append(json.load(open(f"{home}/report{r}.json"))["first_load_ms"])
                except (OSError, ValueError, KeyError):
                    pass
    return times, first_load


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("airlock")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--user")
    ap.add_argument("--browser", choices=["chromium", "firefox"], default="chromium")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (the browsers run as an ordinary user, --user)")
    users = [u for u in pwd.getpwall() if (u.pw_name == a.user if a.user else 1000 <= u.pw_uid < 60000)]
    if not users:
        sys.exit("no ordinary user to run the browsers as: create one (useradd -m bench) or pass --user NAME")
    global USER
    USER = (users[0].pw_uid, users[0].pw_gid)
    print(f"browsers run as {users[0].pw_name} (uid {USER[0]})")
    if a.browser == "firefox":
        return firefox_bench(a)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    work = tempfile.mkdtemp(prefix="browser-bench-")
    os.chmod(work, 0o755)
    home = os.path.join(work, "home")
    os.makedirs(home)
    os.chown(home, USER[0], USER[1])
    url = base + "/page.html"
    chromium = ["chromium", "--headless", "--dump-dom", "--no-first-run", "--disable-gpu"]
    variants = {
        "bare": lambda i: chromium + [f"--user-data-dir={home}/bare{i}", url],
        "firejail --profile=chromium": lambda i: ["firejail", "--quiet", "--profile=chromium"] + chromium + [f"--user-data-dir={home}/fj{i}", url],
        "airlock run --profile browser": lambda i: [a.airlock, "run", "--profile", "browser", "--net", "host", "--rlimit", "as=unlimited",
                                                    "--setenv", "HOME=/home/sandbox", "--"] + chromium + ["--user-data-dir=/home/sandbox/c", url],
        "airlock browser (whole session, 2 s settle)": lambda i: [a.airlock, "browser", "--headless", "--until-settled", "--net", "host",
                                                                  "--report", f"{home}/report{i}.json", url],
    }
    times, first_load = interleaved(variants, a.rounds, home)
    bare = statistics.median(times["bare"])
    print(f"## start to first load, {a.rounds} rounds, median (ratio to bare)")
    for k, v in times.items():
        print(f"| {k} | {statistics.median(v):.2f} s | {statistics.median(v) / bare:.2f}x |")
    if first_load:
        print(f"airlock browser's own first_load_ms (from the browser's start): median {statistics.median(first_load):.0f} ms")
    m_bare = memory(chromium[:1] + ["--headless", "--remote-debugging-port=0", f"--user-data-dir={home}/mb", url], home)
    m_air = memory([a.airlock, "run", "--profile", "browser", "--net", "host", "--rlimit", "as=unlimited", "--setenv", "HOME=/home/sandbox", "--",
                    "chromium", "--headless", "--remote-debugging-port=0", "--user-data-dir=/home/sandbox/m", url], home)
    print(f"## memory (PSS of the whole tree, 6 s after start): bare {m_bare:.0f} MiB, airlock {m_air:.0f} MiB (+{m_air - m_bare:.0f} MiB)")
    for path in ("/report.pdf", "/setup.sh"):
        v = download_to_verdict(a.airlock, base + path, home)
        print(f"## download {path}: " + (f"verdict {v[0]:.2f} s after it finished: {v[1]}" if v else "no verdict seen"))
    srv.shutdown()
    shutil.rmtree(work, ignore_errors=True)


def host_address():
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], stdout=subprocess.PIPE, text=True).stdout.split()
    return out[3].split("/")[0] if len(out) > 3 else None


def firefox_bench(a):
    addr = host_address()
    if not addr:
        sys.exit("no non-loopback IPv4 address for the page server (airlock browser --browser firefox refuses --net host)")
    srv = http.server.ThreadingHTTPServer((addr, 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    hostport = f"{addr}:{srv.server_address[1]}"
    url = f"http://{hostport}/page.html"
    work = tempfile.mkdtemp(prefix="browser-bench-")
    os.chmod(work, 0o755)
    home = os.path.join(work, "home")
    os.makedirs(home)
    os.chown(home, USER[0], USER[1])
    fj_home = os.path.join(pwd.getpwuid(USER[0]).pw_dir, ".mozilla", "airlock-bench")
    ff = lambda profile, shot: ["firefox-esr", "--headless", "--no-remote", "--profile", profile, "--screenshot", shot, url]
    variants = {
        "bare": lambda i: ["sh", "-c", 'mkdir -p "$1" && shift && exec "$@"', "sh", f"{home}/bare{i}"] + ff(f"{home}/bare{i}", f"{home}/bare{i}.png"),
        # firejail's Firefox profile whitelists ~/.mozilla of the user's real home and filters the session
        # bus (it refuses to start without one): a private bus from dbus-run-session.
        "firejail --profile=firefox-esr": lambda i: ["sh", "-c", 'mkdir -p "$1" && shift && exec "$@"', "sh", f"{fj_home}/fj{i}", "dbus-run-session",
                                                     "--", "firejail", "--quiet", "--profile=firefox-esr"] + ff(f"{fj_home}/fj{i}", f"{fj_home}/fj{i}.png"),
        "airlock run --profile browser": lambda i: [a.airlock, "run", "--profile", "browser", "--net-allow", hostport, "--rlimit", "as=unlimited",
                                                    "--setenv", "HOME=/home/sandbox", "--", "sh", "-c", 'mkdir -p /home/sandbox/p && exec "$@"',
                                                    "sh"] + ff("/home/sandbox/p", "/home/sandbox/shot.png"),
        "airlock browser --browser firefox (whole session, 2 s settle)": lambda i: [a.airlock, "browser", "--browser", "firefox", "--headless",
                                                                                     "--until-settled", "--net-allow", hostport,
                                                                                     "--report", f"{home}/report{i}.json", url],
    }
    times, first_load = interleaved(variants, a.rounds, home)
    bare = statistics.median(times["bare"])
    print(f"## Firefox ESR: start to first load (screenshot written), {a.rounds} rounds, median (ratio to bare)")
    for k, v in times.items():
        print(f"| {k} | {statistics.median(v):.2f} s | {statistics.median(v) / bare:.2f}x |")
    if first_load:
        print(f"airlock browser's own first_load_ms (from the browser's start): median {statistics.median(first_load):.0f} ms")
    srv.shutdown()
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(fj_home, ignore_errors=True)


if __name__ == "__main__":
    main()
