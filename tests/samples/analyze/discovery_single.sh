#!/bin/sh
# Harmless: one discovery command. Stays clean, but the report names T1033 (issue 17).
whoami
