#!/usr/bin/env python3
# Harmless: runs a copy of /bin/true from an anonymous memory file (fileless execution pattern).
import os
fd = os.memfd_create("kworker", 0)
with open("/bin/true", "rb") as f:
    os.write(fd, f.read())
pid = os.fork()
if pid == 0:
    os.execv(f"/proc/self/fd/{fd}", ["kworker"])
os.waitpid(pid, 0)
