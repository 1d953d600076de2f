#!/usr/bin/env python3
"""Throughput of the analysis service (docs/SERVICE.md) against running airlock scan directly.

Usage: bench/service/service_bench.py AIRLOCK_BIN [--files N] [--workers 1,2]

For each worker count: starts `airlock serve --local` in a private directory, submits N distinct
small files (static), waits until every task is done, and reports tasks/s; then submits one of them
again and reports the API latency of a deduplicated submission (answered from the existing result).
The baseline is `airlock scan --json` run on the same files one after another (no sandbox, no queue).
"""
import argparse, json, os, shutil, signal, subprocess, sys, tempfile, time, urllib.request, uuid


def multipart(fields, filename, content):
    b = uuid.uuid4().hex
    body = b""
    for k, v in fields.items():
        body += f"--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
    body += f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\r\n".encode()
    body += content + f"\r\n--{b}--\r\n".encode()
    return body, f"multipart/form-data; boundary={b}"


def call(url, key, path, data=None, ctype=None):
    req = urllib.request.Request(url + path, data=data, headers={"Authorization": "Bearer " + key})
    if ctype:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def run_service(airlock, files, workers):
    d = tempfile.mkdtemp(prefix="svc-bench-")
    p = subprocess.Popen([airlock, "serve", "--local", "--state-dir", d + "/state", "--listen", "127.0.0.1:0",
                          "--url-file", d + "/url", "--workers", str(workers), "--burst", "100000", "--rate", "100000"],
                         stderr=open(d + "/serve.log", "w"))
    try:
        while not os.path.exists(d + "/url"):
            if p.poll() is not None:
                sys.exit("serve exited: " + open(d + "/serve.log").read())
            time.sleep(0.05)
        url = open(d + "/url").read().strip()
        key = open(d + "/state/admin.key").read().strip()
        t0 = time.monotonic()
        ids = []
        for name, content in files:
            body, ctype = multipart({"kind": "static"}, name, content)
            ids.append(call(url, key, "/api/v1/tasks", body, ctype)["task_id"])
        t_submit = time.monotonic() - t0
        pending = set(ids)
        while pending:
            for i in list(pending):
                if call(url, key, f"/api/v1/tasks/{i}")["state"] in ("done", "failed"):
                    pending.discard(i)
            time.sleep(0.1)
        total = time.monotonic() - t0
        lat = []
        for name, content in files[:20]:
            body, ctype = multipart({"kind": "static"}, name, content)
            t = time.monotonic()
            r = call(url, key, "/api/v1/tasks", body, ctype)
            lat.append(time.monotonic() - t)
            assert r["duplicate"] and r["state"] == "done", r
        lat.sort()
        return total, t_submit, lat[len(lat) // 2]
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("airlock")
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--workers", default="1,2")
    a = ap.parse_args()
    files = [(f"f{i}.txt", f"bench file {i} {uuid.uuid4()}\n".encode() * 50) for i in range(a.files)]
    d = tempfile.mkdtemp(prefix="svc-direct-")
    t0 = time.monotonic()
    for name, content in files:
        path = os.path.join(d, name)
        open(path, "wb").write(content)
        subprocess.run([a.airlock, "scan", "--json", "-q", path], stdout=subprocess.DEVNULL, check=False)
    direct = time.monotonic() - t0
    shutil.rmtree(d, ignore_errors=True)
    print(f"files: {a.files} (static triage)")
    print(f"airlock scan --json, one after another, no sandbox: {direct:.2f} s, {a.files / direct:.1f} files/s")
    for w in [int(x) for x in a.workers.split(",")]:
        total, submit, dedupe = run_service(a.airlock, files, w)
        print(f"service, {w} worker(s): {total:.2f} s, {a.files / total:.1f} tasks/s (submissions took {submit:.2f} s); "
              f"deduplicated submission at the API: median {dedupe * 1000:.1f} ms")


if __name__ == "__main__":
    main()
