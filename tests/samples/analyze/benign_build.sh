#!/bin/sh
# Benign: a small C build in the home directory, then the test binary runs.
mkdir -p ~/proj && cd ~/proj
printf '#include <stdio.h>\nint main(void){puts("hello");return 0;}\n' > hello.c
if command -v cc >/dev/null; then cc -O1 -o hello hello.c && ./hello; else echo "no compiler"; fi
exit 0
