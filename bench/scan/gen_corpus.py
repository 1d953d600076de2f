#!/usr/bin/env python3
"""Generates a mail corpus for the scan benchmark: N .eml files with a realistic mix of bodies and
attachments (plain/HTML text, CSV, small PNG, PDF-like text, zip of documents, docx-like zip, tar.gz of
logs, a password zip with the password in the body, nested zip, and ~1% EICAR samples built from the
string). Deterministic for a given seed. Usage: gen_corpus.py OUTDIR [N] [SEED]"""
import io
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from email.message import EmailMessage

WORDS = ("invoice report meeting quarterly budget schedule contract review project update customer "
         "delivery order payment shipment draft figures summary minutes agenda please attached find "
         "regards thanks team office monday friday deadline").split()
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010800000000"
                    "3a7e9b550000000a49444154789c63600000000200014 8afa4710000000049454e44ae426082".replace(" ", ""))


def eicar():
    return ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*").encode()


def text(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def zip_of(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            z.writestr(name, data)
    return buf.getvalue()


def docx(rng):
    body = text(rng, 200)
    return zip_of([
        ("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
         '<Default Extension="xml" ContentType="application/xml"/></Types>'),
        ("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'),
        ("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
         'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>%s</w:t></w:r></w:p></w:body></w:document>' % body),
    ])


def tgz(rng):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for i in range(3):
            data = ("\n".join("2024-01-0%d INFO %s" % (i + 1, text(rng, 8)) for _ in range(300))).encode()
            info = tarfile.TarInfo("logs/app-%d.log" % i)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def password_zip(rng, password, payload):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "document.txt")
        with open(p, "wb") as f:
            f.write(payload)
        out = os.path.join(d, "out.zip")
        subprocess.run(["zip", "-q", "-j", "-P", password, out, p], check=True)
        with open(out, "rb") as f:
            return f.read()


def message(rng, i):
    m = EmailMessage()
    m["From"] = "sender%d@example.org" % rng.randrange(500)
    m["To"] = "rcpt%d@example.com" % rng.randrange(500)
    m["Subject"] = text(rng, 4)
    m["Message-ID"] = "<bench-%d@example.org>" % i
    m["Date"] = "Tue, 14 Nov 2023 10:%02d:00 +0000" % (i % 60)
    body = text(rng, rng.randrange(20, 400))
    kind = rng.random()
    if kind < 0.02:
        pw = "pw%04d" % rng.randrange(10000)
        m.set_content(body + "\n\nThe archive password: %s\n" % pw)
        payload = eicar() if rng.random() < 0.5 else text(rng, 100).encode()
        m.add_attachment(password_zip(rng, pw, payload), maintype="application", subtype="zip", filename="secure.zip")
        return m
    m.set_content(body)
    if kind < 0.30:
        return m                                  # plain text only
    if kind < 0.40:
        m.add_alternative("<html><body><p>%s</p></body></html>" % body, subtype="html")
        return m
    if kind < 0.50:
        m.add_attachment(PNG, maintype="image", subtype="png", filename="logo.png")
    elif kind < 0.60:
        csv = "\n".join(",".join(str(rng.randrange(1000)) for _ in range(8)) for _ in range(200))
        m.add_attachment(csv.encode(), maintype="text", subtype="csv", filename="figures.csv")
    elif kind < 0.72:
        m.add_attachment(docx(rng), maintype="application",
                         subtype="vnd.openxmlformats-officedocument.wordprocessingml.document", filename="report.docx")
    elif kind < 0.84:
        m.add_attachment(zip_of([("notes.txt", text(rng, 300)), ("data.csv", text(rng, 300))]),
                         maintype="application", subtype="zip", filename="documents.zip")
    elif kind < 0.92:
        m.add_attachment(tgz(rng), maintype="application", subtype="gzip", filename="logs.tar.gz")
    elif kind < 0.97:
        inner = zip_of([("inner.txt", text(rng, 100))])
        m.add_attachment(zip_of([("inner.zip", inner), ("readme.txt", "see inner")]), maintype="application",
                         subtype="zip", filename="nested.zip")
    elif kind < 0.98:
        m.add_attachment(zip_of([("eicar.com", eicar())]), maintype="application", subtype="zip", filename="sample.zip")
    else:
        m.add_attachment(("%PDF-1.4\n1 0 obj<<>>endobj\n" + text(rng, 200) + "\n%%EOF\n").encode(),
                         maintype="application", subtype="pdf", filename="statement.pdf")
    return m


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 42)
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        with open(os.path.join(out, "mail-%05d.eml" % i), "wb") as f:
            f.write(bytes(message(rng, i)))


if __name__ == "__main__":
    main()
