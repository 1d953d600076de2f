#!/usr/bin/env python3
"""Writes a minimal RAR 5.0 archive with one STORED file, optionally AES-256 encrypted.

Test-time generator (no free tool creates RAR archives), written from RARLAB's published
"RAR 5.0 archive format" description: signature, main archive header, one file header (with a
file encryption record in its extra area when a password is given), end of archive header.
Each header is CRC32, header size (vint), header type, header flags, [extra size], [data size],
type-specific fields, extra area; the data area follows the header.

Encryption: AES-256-CBC; key = PBKDF2-HMAC-SHA256(password, salt, 2**kdf_log2); the password
check value is PBKDF2 run 32 iterations further, folded to 8 bytes by XOR, followed by the
first 4 bytes of its SHA-256. The data is zero-padded to the AES block size; the file's CRC32
is the plain CRC32 of the unpacked data (the "tweaked checksums" flag is not set).

With --claim-compressed, the stored data is labelled as compressed (method 3, "normal"): the archive
is well formed up to that member, whose data no reader can decompress (a damaged archive, for tests).

With --encrypt-headers (RAR's -hp), an archive encryption header (version 0, salt, KDF count,
check value) follows the signature and every later header is AES-256-CBC encrypted with that
key: a random 16-byte IV, then the header zero-padded to the block size.

usage: make_rar5.py [--encrypt-headers | --claim-compressed] OUT NAME CONTENT_FILE [PASSWORD]
"""
import hashlib
import os
import struct
import sys
import zlib


def vint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def header(htype, flags, body, extra=b"", data_size=None):
    """One block header: CRC32, size, then type, flags, optional sizes, body, extra area."""
    if extra:
        flags |= 0x0001
    if data_size is not None:
        flags |= 0x0002
    fields = vint(htype) + vint(flags)
    if extra:
        fields += vint(len(extra))
    if data_size is not None:
        fields += vint(data_size)
    fields += body + extra
    sized = vint(len(fields)) + fields
    return struct.pack("<I", zlib.crc32(sized) & 0xFFFFFFFF) + sized


def pbkdf2_chain(password, salt, log2):
    """PBKDF2-HMAC-SHA256 values after 2**log2, +16 and +32 iterations (key, hash key, check)."""
    count = 1 << log2
    key = hashlib.pbkdf2_hmac("sha256", password, salt, count, 32)
    hash_key = hashlib.pbkdf2_hmac("sha256", password, salt, count + 16, 32)
    check = hashlib.pbkdf2_hmac("sha256", password, salt, count + 32, 32)
    return key, hash_key, check


def aes_cbc(key, iv, data):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    padded = data + b"\0" * (-len(data) % 16)
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(padded) + enc.finalize()


def key_and_check(password, salt, kdf_log2):
    key, _hash_key, check_value = pbkdf2_chain(password.encode("utf-8"), salt, kdf_log2)
    check = bytearray(8)
    for i, b in enumerate(check_value):
        check[i % 8] ^= b
    return key, bytes(check) + hashlib.sha256(bytes(check)).digest()[:4]


def encrypt(data, password, kdf_log2=15):
    salt = os.urandom(16)
    iv = os.urandom(16)
    key, check = key_and_check(password, salt, kdf_log2)
    packed = aes_cbc(key, iv, data)
    # File encryption record: type 1, version 0 (AES-256), flags 0x1 (check value present),
    # KDF count, salt, IV, check value.
    record = vint(0x01) + vint(0) + vint(0x0001) + bytes([kdf_log2]) + salt + iv + check
    return packed, vint(len(record)) + record


def make_rar5(name, data, password=None, encrypt_headers=False, kdf_log2=15, claim_compressed=False):
    out = bytearray(b"Rar!\x1a\x07\x01\x00")
    seal = lambda h: h  # noqa: E731
    if encrypt_headers:
        salt = os.urandom(16)
        key, check = key_and_check(password, salt, kdf_log2)
        # Archive encryption header: version 0 (AES-256), flags 0x1 (check value present).
        out += header(4, 0, vint(0) + vint(0x0001) + bytes([kdf_log2]) + salt + check)

        def seal(h):
            iv = os.urandom(16)
            return iv + aes_cbc(key, iv, h)
    out += seal(header(1, 0, vint(0)))  # main archive header, no archive flags
    packed, extra = (data, b"") if password is None else encrypt(data, password)
    body = (
        vint(0x0004)                                  # file flags: CRC32 present
        + vint(len(data))                             # unpacked size
        + vint(0o100644)                              # attributes (Unix mode)
        + struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF)
        + vint(3 << 7 if claim_compressed else 0)     # compression: version 0, method 0 (store) or 3
        + vint(1)                                     # host OS: Unix
        + vint(len(name.encode("utf-8")))
        + name.encode("utf-8")
    )
    out += seal(header(2, 0, body, extra, data_size=len(packed)))
    out += packed
    out += seal(header(5, 0, vint(0)))  # end of archive, not a volume
    return bytes(out)


def main(argv):
    encrypt_headers = len(argv) > 1 and argv[1] == "--encrypt-headers"
    claim_compressed = len(argv) > 1 and argv[1] == "--claim-compressed"
    if encrypt_headers or claim_compressed:
        argv = argv[:1] + argv[2:]
    if len(argv) not in (4, 5) or (encrypt_headers and len(argv) != 5):
        sys.stderr.write(__doc__)
        return 2
    with open(argv[3], "rb") as f:
        data = f.read()
    blob = make_rar5(argv[2], data, argv[4] if len(argv) == 5 else None, encrypt_headers,
                     claim_compressed=claim_compressed)
    with open(argv[1], "wb") as f:
        f.write(blob)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
