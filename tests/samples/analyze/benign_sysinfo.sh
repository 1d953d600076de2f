#!/bin/sh
# Benign: a support script printing the date and the system name: clean (two discovery techniques
# at most, no other signal).
date
uname -sr
exit 0
