"""The mail corpus, built at test time (nothing malicious is committed; EICAR is assembled here).

Each builder returns the bytes of a complete message (headers + body, CRLF line ends) with a unique
Message-ID. Clean: plain text, PDF, docx, PNG. Malicious: HTML smuggling, a DDE docx, a script with a
double extension (invoice.pdf.sh, the dropper from tests/samples/analyze), EICAR in nested zips, a
password-protected zip whose password is in the body. Bad input: broken MIME, huge headers, thousands
of parts, a zip bomb.
"""

import base64
import io
import itertools
import os
import struct
import subprocess
import tempfile
import uuid
import zipfile
import zlib
from email.message import EmailMessage
from email.policy import SMTP

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLES = os.path.join(SOURCE_DIR, "tests", "samples", "analyze")
_counter = itertools.count(1)


def eicar():
    # Split so that this source file is not itself an EICAR match.
    return (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")


def new_message_id(tag="m"):
    return f"<{tag}.{next(_counter)}.{uuid.uuid4().hex}@test.example>"


def _message(subject, body, attachments=(), mid=None, sender="sender@test.example", rcpt="rcpt@test.example"):
    m = EmailMessage()
    m["From"] = sender
    m["To"] = rcpt
    m["Subject"] = subject
    m["Message-ID"] = mid or new_message_id()
    m["Date"] = "Fri, 27 Nov 2026 08:00:00 +0000"
    m.set_content(body)
    for name, data, maintype, subtype in attachments:
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes(policy=SMTP)


def message_id_of(raw):
    for line in raw.split(b"\r\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode()
        if not line:
            break
    return None


# -- clean attachments -----------------------------------------------------------------------------
def pdf_bytes(text="Quarterly report: revenue up 3%."):
    """A minimal well-formed PDF with one page of text (no JavaScript, no actions)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx_bytes(body_xml=None):
    """A minimal Word document; `body_xml` replaces the paragraph inside <w:body>."""
    body_xml = body_xml or "<w:p><w:r><w:t>Minutes of the meeting: nothing to report.</w:t></w:r></w:p>"
    files = {
        "[Content_Types].xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        "_rels/.rels":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        "word/document.xml":
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {_W}><w:body>'
            f"{body_xml}</w:body></w:document>",
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def png_bytes(w=16, h=16):
    """A small valid RGB PNG (a gradient)."""
    raw = b"".join(b"\x00" + b"".join(bytes((x * 16 % 256, y * 16 % 256, 128)) for x in range(w))
                   for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def zip_bytes(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


def encrypted_zip_bytes(name, data, password):
    """A traditional-PKWARE encrypted zip, written by Info-ZIP's zip (Python cannot encrypt)."""
    with tempfile.TemporaryDirectory(prefix="airlock-mail-zip.") as d:
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        subprocess.run(["zip", "-q", "-P", password, "out.zip", name], cwd=d, check=True)
        with open(os.path.join(d, "out.zip"), "rb") as f:
            return f.read()


# -- messages ----------------------------------------------------------------------------------------
def clean_text(mid=None, salt=""):
    return _message("Lunch on Friday", f"Hi,\n\nshall we meet at noon on Friday?\n\nBob {salt}\n", mid=mid)


def clean_pdf(mid=None, salt=""):
    return _message("Quarterly report", "The report is attached.\n",
                    [("report.pdf", pdf_bytes(f"Quarterly report: revenue up 3%. {salt}".strip()), "application", "pdf")],
                    mid=mid)


def clean_docx(mid=None, salt=""):
    body = f"<w:p><w:r><w:t>Minutes of the meeting: nothing to report. {salt}</w:t></w:r></w:p>" if salt else None
    return _message("Minutes", "Minutes attached.\n",
                    [("minutes.docx", docx_bytes(body), "application",
                      "vnd.openxmlformats-officedocument.wordprocessingml.document")], mid=mid)


def clean_png(mid=None, salt=""):
    return _message("Logo", "The new logo.\n", [("logo.png", png_bytes(16, 16 + len(salt)), "image", "png")],
                    mid=mid)


def smuggling_html(mid=None, salt=""):
    payload = b"MZ" + b"\x00" * 0x3a + b"\x80\x00\x00\x00" + b"\x00" * 0x40 + b"PE\x00\x00\x4c\x01" + b"\x00" * 500
    html = ("<!DOCTYPE html><html><body><p>Loading your document...</p><script>\n"
            f"var b64 = '{base64.b64encode(payload).decode()}';\n"
            "var bin = atob(b64); var bytes = new Uint8Array(bin.length);\n"
            "for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);\n"
            "var blob = new Blob([bytes], {type: 'application/octet-stream'});\n"
            "var a = document.createElement('a'); a.href = URL.createObjectURL(blob);\n"
            "a.download = 'Invoice_2291.exe'; document.body.appendChild(a); a.click();\n"
            f"</script><!-- {salt} --></body></html>\n").encode()
    return _message("Your invoice", "Open the attached page to view your invoice.\n",
                    [("invoice.html", html, "text", "html")], mid=mid)


def dde_docx(mid=None, salt=""):
    body = ('<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
            '<w:r><w:instrText xml:space="preserve"> DDEAUTO c:\\\\Windows\\\\System32\\\\cmd.exe '
            '"/c powershell -nop -w hidden -c calc"</w:instrText></w:r>'
            f'<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>Loading {salt}</w:t></w:r>'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>')
    return _message("Order confirmation", "Please confirm the order in the attached document.\n",
                    [("order.docx", docx_bytes(body), "application",
                      "vnd.openxmlformats-officedocument.wordprocessingml.document")], mid=mid)


def double_extension_script(mid=None, salt=""):
    with open(os.path.join(SAMPLES, "dropper_persistence.sh"), "rb") as f:
        script = f.read()
    if salt:
        script = script.replace(b"\n", f"\n# {salt}\n".encode(), 1)
    return _message("Invoice 2291", "The invoice is attached.\n",
                    [("invoice.pdf.sh", script, "application", "octet-stream")], mid=mid)


def eicar_nested_zip(mid=None, salt=""):
    inner = zip_bytes([("eicar.com", eicar())])
    middle = zip_bytes([("inner.zip", inner), ("readme.txt", f"documents {salt}\n".encode())])
    outer = zip_bytes([("middle.zip", middle)])
    return _message("Scanned documents", "The scans are in the archive.\n",
                    [("scans.zip", outer, "application", "zip")], mid=mid)


PASSWORD = "Plum-7431"


def password_zip(mid=None, salt=""):
    z = encrypted_zip_bytes("eicar.com", eicar() if not salt else eicar() + f"\n{salt}".encode(), PASSWORD)
    return _message("Secure delivery", f"Hi,\n\nthe archive is protected.\nPassword: {PASSWORD}\n\nRegards\n",
                    [("secure.zip", z, "application", "zip")], mid=mid)


def suspicious_script(mid=None, salt=""):
    """A JScript attachment: an executable script by mail, no known-bad content (triage: suspicious)."""
    js = f'var s = new ActiveXObject("WScript.Shell"); s.Run("calc"); // {salt}\n'.encode()
    return _message("Update", "Run the attached update.\n", [("update.js", js, "application", "javascript")],
                    mid=mid)


def mix(n, tag):
    """The load/bench mix, (mid, raw, kind) x n: per 10 messages 6 clean (the four kinds in turn),
    1 suspicious, 3 malicious (the five kinds in turn). Every attachment unique (salted by tag and
    index), so no verdict can come from a cache."""
    clean, bad = list(CLEAN.items()), list(MALICIOUS.items())
    out, n_clean, n_bad = [], 0, 0
    for i in range(n):
        if i % 10 in (3, 6, 9):
            kind, build = bad[n_bad % len(bad)]
            n_bad += 1
        elif i % 10 == 5:
            kind, build = "suspicious_script", suspicious_script
        else:
            kind, build = clean[n_clean % len(clean)]
            n_clean += 1
        raw = build(salt=f"{tag}-{i}")
        out.append((message_id_of(raw), raw, kind))
    return out


CLEAN = {"text": clean_text, "pdf": clean_pdf, "docx": clean_docx, "png": clean_png}
MALICIOUS = {"smuggling": smuggling_html, "dde": dde_docx, "double_extension": double_extension_script,
             "eicar_nested_zip": eicar_nested_zip, "password_zip": password_zip}
# The attachment name of each malicious message (what strip replaces).
MALICIOUS_ATTACHMENT = {"smuggling": "invoice.html", "dde": "order.docx", "double_extension": "invoice.pdf.sh",
                        "eicar_nested_zip": "scans.zip", "password_zip": "secure.zip"}


# -- bad input ---------------------------------------------------------------------------------------
def _raw(headers, body, mid=None):
    mid = mid or new_message_id("bad")
    h = [b"From: sender@test.example", b"To: rcpt@test.example", b"Message-ID: " + mid.encode(),
         b"Date: Fri, 27 Nov 2026 08:00:00 +0000"] + headers
    return b"\r\n".join(h) + b"\r\n\r\n" + body


def broken_mime(mid=None):
    """multipart without a closing boundary, a part with a bogus transfer encoding, bad base64."""
    body = (b"--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
            b"--b1\r\nContent-Type: application/octet-stream; name=\"x.bin\"\r\n"
            b"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"x.bin\"\r\n\r\n"
            b"!!!!not base64 at all@@@@\r\nQUJD===\r\n"
            b"--b1\r\nContent-Type: multipart/mixed; boundary=\"b2\"\r\nContent-Transfer-Encoding: x-bogus\r\n\r\n"
            b"--b2\r\nContent-Type: text/html\r\n\r\n<html><body>unterminated")
    return _raw([b"Subject: broken", b"MIME-Version: 1.0", b"Content-Type: multipart/mixed; boundary=\"b1\""],
                body, mid)


def huge_headers(mid=None):
    """200 KB of header: one folded 100 KB header and 2,000 short ones."""
    long = b"X-Long: " + b"\r\n ".join([b"a" * 70] * 1400)
    many = [b"X-Filler-%d: %s" % (i, b"v" * 40) for i in range(2000)]
    return _raw([b"Subject: huge headers", long] + many, b"body\r\n", mid)


def many_parts(mid=None, n=5000):
    parts = b"".join(b"--bnd\r\nContent-Type: text/plain; name=\"p%d.txt\"\r\n"
                     b"Content-Disposition: attachment; filename=\"p%d.txt\"\r\n\r\npart %d\r\n" % (i, i, i)
                     for i in range(n))
    return _raw([b"Subject: many parts", b"MIME-Version: 1.0", b"Content-Type: multipart/mixed; boundary=\"bnd\""],
                parts + b"--bnd--\r\n", mid)


_bomb_cache = {}


def zip_bomb(mid=None):
    """backup.zip holding 10 zips, each with a 256 MiB member of zeros (2.5 GiB unpacked, ~280 KB sent)."""
    if "level1" not in _bomb_cache:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            with z.open("zeros.bin", "w", force_zip64=True) as f:
                chunk = b"\x00" * (1 << 20)
                for _ in range(256):
                    f.write(chunk)
        _bomb_cache["level1"] = buf.getvalue()
    outer = zip_bytes([(f"copy{i}.zip", _bomb_cache["level1"]) for i in range(10)])
    return _message("Backup", "The backup archive.\n", [("backup.zip", outer, "application", "zip")], mid=mid)


BAD = {"broken_mime": broken_mime, "huge_headers": huge_headers, "many_parts": many_parts, "zip_bomb": zip_bomb}
