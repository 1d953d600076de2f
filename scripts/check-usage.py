#!/usr/bin/env python3
"""Runs the walkthrough in docs/USAGE.md as written: every ```sh block, in order, in one bash session
(so `cd`, variables and background jobs carry over, as in the user's terminal), in a fresh temporary
directory, with the built airlock first on PATH. Each block must end with its documented status, and
show the documented key line (ctest `usage.root`, `usage.user`; `usage.fixture_*` prove it fails).

Markdown contract (the words after ```sh on the fence line):
  run                    required on every sh block: a shell block without it is an error, so no
                         command in the document escapes the check
  exit=N                 the block's status; default 0, and then the block runs under `set -e` (any
                         failing command fails it); a block with another status holds one command
                         (so no other command's failure can hide behind it)
  expect="TEXT"          TEXT must appear in the block's output (stdout and stderr) and, when the
                         next fenced block is ```text (the output the doc shows), in that block too
  root-only="WHY"        skipped, loudly with WHY, when not run as root (user-only: the reverse)
  needs="CMD"            skipped, loudly with CMD, when the shell command CMD fails (no network
                         address here); in CI (CI=true) such a skip fails the run, like a skipped
                         required-in-ci test
  timeout=S              seconds (default 60)

Environment of the session: PATH starts with the directory of AIRLOCK (--airlock, else $AIRLOCK_BIN);
AIRLOCK_SRC = the source tree (--src, default: the document's ../..); HOME = a fresh directory;
TMPDIR is kept. Leftover processes of the session are killed at the end.

Usage: scripts/check-usage.py [--airlock BIN] [--src DIR] [--keep] DOC.md
Exit status: 0 every block passed or was skipped with its reason, 1 a block failed, 2 usage.
"""
import argparse
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

FENCE = re.compile(r"^```(\S*)(.*)$")
SHELLS = {"sh", "bash", "shell", "console"}


class Block:
    def __init__(self, line, lang, attrs, text):
        self.line, self.lang, self.attrs, self.text = line, lang, attrs, text
        self.shown = None  # the ```text block that follows, if any


def parse_attrs(rest, where):
    attrs = {}
    for word in shlex.split(rest):
        key, eq, value = word.partition("=")
        if key not in {"run", "exit", "expect", "root-only", "user-only", "needs", "timeout"}:
            raise ValueError(f"{where}: unknown fence attribute '{key}'")
        attrs[key] = value if eq else True
    return attrs


def commands(text):
    """The command lines of a block: non-empty, not comments, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    return [l for l in joined.split("\n") if l.strip() and not l.strip().startswith("#")]


def parse(path):
    """The fenced blocks of the document, shell blocks with their attributes and shown output."""
    blocks, current, body = [], None, []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for number, line in enumerate(lines, 1):
        m = FENCE.match(line)
        if current is None and m:
            current, body = (number, m.group(1), m.group(2)), []
        elif current is not None and line.strip() == "```":
            start, lang, rest = current
            attrs = parse_attrs(rest, f"{path}:{start}") if lang in SHELLS else {}
            blocks.append(Block(start, lang, attrs, "\n".join(body) + "\n"))
            current = None
        elif current is not None:
            body.append(line)
    if current is not None:
        raise ValueError(f"{path}:{current[0]}: fenced block never closed")
    runnable = []
    for i, b in enumerate(blocks):
        if b.lang not in SHELLS:
            continue
        if "run" not in b.attrs:
            raise ValueError(f"{path}:{b.line}: shell block not marked 'run' (every command in the "
                             "walkthrough runs in CI: mark it, or show it as ```text)")
        if int(b.attrs.get("exit", 0)) != 0 and len(commands(b.text)) != 1:
            raise ValueError(f"{path}:{b.line}: a block with exit={b.attrs['exit']} must hold one command "
                             "(the others would not be checked): split it")
        if i + 1 < len(blocks) and blocks[i + 1].lang == "text":
            b.shown = blocks[i + 1].text
        runnable.append(b)
    return runnable


def skip_reason(block, session_env, cwd):
    root = os.geteuid() == 0
    if "root-only" in block.attrs and not root:
        return f"root only: {block.attrs['root-only']}"
    if "user-only" in block.attrs and root:
        return f"ordinary users only: {block.attrs['user-only']}"
    if "needs" in block.attrs:
        r = subprocess.run(["bash", "-c", block.attrs["needs"]], env=session_env, cwd=cwd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        if r.returncode != 0:
            return f"needs `{block.attrs['needs']}`, which failed here"
    return None


class Session:
    """One bash reading commands from a pipe; each block is sourced from a file with stdin from
    /dev/null, its output in a file and fd 3 closed (so background jobs do not hold the status pipe
    open), and reports its status on fd 3."""

    def __init__(self, env, cwd, state):
        self.state = state
        self.status_r, status_w = os.pipe()
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc"], stdin=subprocess.PIPE, env=env,
                                     cwd=cwd, pass_fds=(status_w,), start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        os.close(status_w)
        self.send(f"exec 3>&{status_w} {status_w}>&-")
        self.buffer = b""

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def run(self, index, block, timeout):
        script = os.path.join(self.state, f"block{index}.sh")
        out = os.path.join(self.state, f"out{index}.txt")
        strict = int(block.attrs.get("exit", 0)) == 0
        with open(script, "w", encoding="utf-8") as f:
            f.write(("set -e\n" if strict else "") + block.text)
        self.send(f". {shlex.quote(script)} 3>&- </dev/null >{shlex.quote(out)} 2>&1; "
                  f"__rc=$?; set +e; echo \"{index} $__rc\" >&3")
        deadline = time.monotonic() + timeout
        status = None
        while status is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout", read(out)
            ready, _, _ = select.select([self.status_r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.status_r, 4096)
            if not chunk:  # the shell exited: `set -e` ended it at a failing command
                status = self.proc.wait(timeout=10)
                break
            self.buffer += chunk
            for line in self.buffer.decode().splitlines():
                number, _, rc = line.partition(" ")
                if number == str(index):
                    status = int(rc)
        return status, read(out)

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # Background jobs of the walkthrough (servers, sandboxes) are in the session's process group.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def check(block, status, output):
    """'' when the block did what the document says, else what differs."""
    want = int(block.attrs.get("exit", 0))
    if status == "timeout":
        return f"did not finish within {block.attrs.get('timeout', 60)} s"
    if status != want:
        return f"exited {status}, expected {want}"
    expect = block.attrs.get("expect")
    if expect:
        if expect not in output:
            return f"output lacks the documented line '{expect}'"
        if block.shown is not None and expect not in block.shown:
            return f"the output shown in the document lacks '{expect}' (the check and the doc disagree)"
    return ""


def run_all(blocks, doc, env, work, state):
    """Runs the blocks in order until one fails: (skipped [(where, why)], failure or None)."""
    session = Session(env, work, state)
    skipped = []
    try:
        for i, block in enumerate(blocks, 1):
            where = f"block {i} ({doc}:{block.line})"
            why = skip_reason(block, env, work)
            if why:
                skipped.append((where, why))
                print(f"SKIPPED {where}: {why}", flush=True)
                continue
            t0 = time.monotonic()
            status, output = session.run(i, block, float(block.attrs.get("timeout", 60)))
            problem = check(block, status, output)
            first = commands(block.text)[0][:70] if commands(block.text) else ""
            print(f"{'FAIL' if problem else 'ok'} {where} {time.monotonic() - t0:.1f}s exit {status}: {first}", flush=True)
            if problem:
                return skipped, (where, problem, block, output)
    finally:
        session.close()
    return skipped, None


def verdict(skipped, failure):
    """Prints the failure and the skipped blocks (stderr); True when the run passed."""
    if failure:
        where, problem, block, output = failure
        print(f"\ncheck-usage: {where} {problem}\n--- the block:\n{block.text}--- its output:\n{output}",
              file=sys.stderr)
    for where, why in skipped:
        print(f"check-usage: SKIPPED {where}: {why}", file=sys.stderr)
    if not failure and os.environ.get("CI") == "true" and any(why.startswith("needs ") for _, why in skipped):
        print("check-usage: in CI (CI=true) a block skipped because its `needs` failed is an error: the CI "
              "machine must run the whole walkthrough", file=sys.stderr)
        return False
    return failure is None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--airlock", default=os.environ.get("AIRLOCK_BIN"), help="the airlock binary to put first on PATH")
    ap.add_argument("--src", help="the source tree (AIRLOCK_SRC), default: DOC's ../..")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("doc")
    args = ap.parse_args()
    if not args.airlock or not os.access(args.airlock, os.X_OK):
        print(f"check-usage: no airlock binary (--airlock or AIRLOCK_BIN): {args.airlock}", file=sys.stderr)
        return 2
    try:
        blocks = parse(args.doc)
    except (OSError, ValueError) as e:
        print(f"check-usage: {e}", file=sys.stderr)
        return 2
    src = os.path.abspath(args.src or os.path.join(os.path.dirname(os.path.abspath(args.doc)), ".."))
    top = tempfile.mkdtemp(prefix="airlock-usage-")
    os.chmod(top, 0o755)
    work, home, state = (os.path.join(top, d) for d in ("work", "home", "state"))
    for d in (work, home, state):
        os.mkdir(d, 0o755)
    env = dict(os.environ)
    env.update(PATH=os.path.dirname(os.path.abspath(args.airlock)) + os.pathsep + env.get("PATH", "/usr/bin:/bin"),
               AIRLOCK_SRC=src, HOME=home, LC_ALL="C.UTF-8")
    env.pop("AIRLOCK_BIN", None)
    tier = "root" if os.geteuid() == 0 else f"uid {os.geteuid()}"
    print(f"check-usage: {len(blocks)} blocks of {args.doc} as {tier} in {work}")
    started = time.monotonic()
    skipped, failure = run_all(blocks, args.doc, env, work, state)
    passed = verdict(skipped, failure)
    print(f"check-usage: {'ok' if passed else 'FAILED'}, {len(blocks)} blocks, {len(skipped)} skipped, "
          f"{time.monotonic() - started:.1f}s")
    if args.keep:
        print(f"check-usage: kept {top}")
    else:
        shutil.rmtree(top, ignore_errors=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
