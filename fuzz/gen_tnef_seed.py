#!/usr/bin/env python3
"""Writes the TNEF fuzz seed fuzz/corpus/tnef/two-attachments.tnef: a message class, the body as
compressed RTF (LZFu, one reference into the preset dictionary) in attMAPIProps, two attachments (one
with a UTF-16 long file name in its MAPI properties). Layout as in src/scan/unpack/tnef.h."""
import os
import struct


def attr(level, aid, value):
    return struct.pack("<BII", level, aid, len(value)) + value + struct.pack("<H", sum(value) & 0xFFFF)


def pad4(b):
    return b + b"\0" * ((4 - len(b) % 4) % 4)


def props_long_name(name):
    v = name.encode("utf-16-le") + b"\0\0"
    return struct.pack("<IHHII", 1, 0x001F, 0x3707, 1, len(v)) + pad4(v)


out = b"\x78\x9f\x3e\x22" + struct.pack("<H", 0x1234)
out += attr(1, 0x00089006, b"\x00\x00\x01\x00")
out += attr(1, 0x00078008, b"IPM.Microsoft Mail.Note\0")
lzfu_body = b"\x41\x00\x0dhello\x0e\x30"
lzfu = struct.pack("<II", len(lzfu_body) + 12, 20) + b"LZFu" + struct.pack("<I", 0) + lzfu_body
out += attr(1, 0x00069003, struct.pack("<IHHII", 1, 0x0102, 0x1009, 1, len(lzfu)) + pad4(lzfu))
for title, data, long_name in ((b"README.TXT\0", b"hello\n", None), (b"REPORT~1.PDF\0", b"%PDF-1.4\n", "Report 2024.pdf")):
    out += attr(2, 0x00069002, b"\0" * 14)
    out += attr(2, 0x00018010, title)
    out += attr(2, 0x0006800F, data)
    if long_name:
        out += attr(2, 0x00069005, props_long_name(long_name))
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "tnef", "two-attachments.tnef")
with open(path, "wb") as f:
    f.write(out)
