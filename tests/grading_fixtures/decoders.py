"""Everything a text could decode to, for the tests that no feedback page carries a hidden test.

Hex, base64 (standard and URL-safe), zlib inside either, rot13, reversed, one character per
line, runs of byte values (a list or an array), big integers and PNG pixels, nested two levels.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import re
import struct
import zlib

__all__ = ["decodings"]

BYTE = r"(?<![\d.])\d{1,3}(?:\.\d*)?(?![\d.])"  # a byte value: 35, 35. or 35.0
NUMBERS = rf"(?:{BYTE}[,\s\[\]]+){{8,}}"  # eight or more of them in a row (a list or an array)


def _blobs(view: str) -> list[bytes]:
    """Every byte string a run of `view` could encode."""
    out = []
    for run in re.findall(r"[0-9a-fA-F]{16,}", view):
        for start in (0, 1):  # a run may begin with a hex letter that belongs to a name
            part = run[start:]
            with contextlib.suppress(ValueError):
                out.append(bytes.fromhex(part[: len(part) // 2 * 2]))
    for run in re.findall(r"[A-Za-z0-9+/_\-]{16,}={0,2}", view):
        for start in range(4):
            part = run[start:].rstrip("=")
            with contextlib.suppress(binascii.Error, ValueError):
                out.append(base64.b64decode(part + "=" * (-len(part) % 4), altchars=b"+/"))
            with contextlib.suppress(binascii.Error, ValueError):
                out.append(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    for run in re.findall(NUMBERS, view):
        values = [int(float(n)) for n in re.findall(BYTE, run)]
        out.append(bytes(v for v in values if v < 256))
    for run in re.findall(r"\d{12,}", view):
        n = int(run)
        out.append(n.to_bytes((n.bit_length() + 7) // 8, "big"))
    return out


def _png_pixels(blob: bytes) -> bytes | None:
    if not blob.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    pos, idat = 8, b""
    while pos + 8 <= len(blob):
        (size,), kind = struct.unpack(">I", blob[pos:pos + 4]), blob[pos + 4:pos + 8]
        if kind == b"IDAT":
            idat += blob[pos + 8:pos + 8 + size]
        pos += 12 + size
    with contextlib.suppress(zlib.error):
        return zlib.decompress(idat)
    return None


def _single_chars(text: str) -> str:
    """Runs of lines of at most one character, joined (text printed one character per line)."""
    out, run = [], []
    for line in text.split("\n"):
        if len(line) <= 1:
            run.append(line or "\n")
        else:
            out.append("".join(run))
            run = []
    return "\n".join(out + ["".join(run)])


def decodings(text: str, depth: int = 2) -> list[str]:
    """`text` and everything it could decode to, to `depth` levels of nesting."""
    views = [text, codecs.encode(text, "rot13"), text[::-1], _single_chars(text),
             re.sub(r"\s+", "", text)]
    out = list(views)
    blobs = [b for view in views for b in _blobs(view)]
    for blob in list(blobs):
        for extra in (_png_pixels(blob),):
            if extra:
                blobs.append(extra)
        with contextlib.suppress(zlib.error):
            blobs.append(zlib.decompress(blob))
    for blob in blobs:
        decoded = blob.decode("latin-1")
        out.append(decoded)
        if depth > 1 and len(decoded) > 16:
            out += decodings(decoded, depth - 1)[1:]
    return out
