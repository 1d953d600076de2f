#!/usr/bin/env python3
"""Throughput of the analysis service (docs/SERVICE.md) against running airlock scan directly.

Usage: bench/service/service_bench.py AIRLOCK_BIN [--files N] [--workers 1,2] [--kind static|detonate]

For each worker count: starts `airlock serve --local` in a private directory, submits N distinct
small files, waits until every task is done, and reports tasks/s; then submits them again and reports
the API latency of a deduplicated submission (answered from the existing result). The baseline is the
same analysis run directly on the same files one after another, without the service: `airlock scan
--json` for static triage (its parser sandboxed, as the worker's is), `airlock analyze` for
detonation (the files are then small shell scripts that exit at once).
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


def run_service(airlock, files, workers, kind):
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
            body, ctype = multipart({"kind": kind, "timeout": "20"}, name, content)
            ids.append(call(url, key, "/api/v1/tasks", body, ctype)["task_id"])
        t_submit = time.monotonic() - t0
        pending = set(ids)
        while pending:
            for i in list(pending):
                if call(url, key, f"/api/v1/tasks/{i}")["state"] in ("done", "failed"):
                    pending.discard(i)
            time.sleep(0.02)
        total = time.monotonic() - t0
        lat = []
        for name, content in files[:20]:
            body, ctype = multipart({"kind": kind, "timeout": "20"}, name, content)
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
    ap.add_argument("--kind", choices=["static", "detonate"], default="static")
    a = ap.parse_args()
    if a.kind == "static":
        files = [(f"f{i}.txt", f"bench file {i} {uuid.uuid4()}\n".encode() * 50) for i in range(a.files)]
    else:
        files = [(f"s{i}.sh", f"#!/bin/sh\necho bench script {i} {uuid.uuid4()}\n".encode()) for i in range(a.files)]
    d = tempfile.mkdtemp(prefix="svc-direct-")
    t0 = time.monotonic()
    for name, content in files:
        path = os.path.join(d, name)
        open(path, "wb").write(content)
        if a.kind == "static":
            cmd = [a.airlock, "scan", "--json", "-q", path]
        else:
            cmd = [a.airlock, "analyze", path, "--out", path + ".out", "--json", "-q", "--timeout", "20s"]
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    direct = time.monotonic() - t0
    shutil.rmtree(d, ignore_errors=True)
    what = "airlock scan --json" if a.kind == "static" else "airlock analyze"
    print(f"files: {a.files} ({a.kind})")
    print(f"{what}, one after another, without the service: {direct:.2f} s, {a.files / direct:.1f} files/s")
    for w in [int(x) for x in a.workers.split(",")]:
        total, submit, dedupe = run_service(a.airlock, files, w, a.kind)
        print(f"service, {w} worker(s): {total:.2f} s, {a.files / total:.1f} tasks/s (submissions took {submit:.2f} s); "
              f"deduplicated submission at the API: median {dedupe * 1000:.1f} ms")


if __name__ == "__main__":
    main()
