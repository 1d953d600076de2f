#!/usr/bin/env python3
# Benign: reads its own configuration and the OS release, writes a cache file in its home.
import json, os
cfg = {"name": "tool", "retries": 3}
os.makedirs(os.path.expanduser("~/.config/tool"), exist_ok=True)
with open(os.path.expanduser("~/.config/tool/config.json"), "w") as f:
    json.dump(cfg, f)
with open(os.path.expanduser("~/.config/tool/config.json")) as f:
    print(json.load(f)["name"])
print(open("/etc/os-release").read().splitlines()[0])
