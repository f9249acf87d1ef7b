"""Submissions that read the hidden tests at call time and try to carry them onto the feedback page.

They run against `leaky`, the `mini` assignment of minicourse.py with three more cells: a
visible-only test before the first hidden one (`test_early`, 1 point), a visible-only test after
them (`test_visible`, 1 point) and a read-only cell at the end that calls `clip01`. It is worth
7 (test_early 1, test_mse 2, test_clip01 3, test_visible 1).

Every hostile `mse` is the right answer plus a leak: when the cell that called it holds the
hidden tests (it finds that cell's frame on the stack and reads its source from linecache,
`inspect` or its code object's constants and names), it encodes what it read and tries one
channel: printed (hex, base64, zlib+base64, rot13, reversed, one character per line, stderr and
warnings), displayed (HTML, Markdown, JSON, a PNG with the bytes as pixels or the text drawn),
raised (in the message, as the exception class's name), returned so that the test's own
assertion message prints it as numbers, as the name of a class the guard's message quotes, as a
thread's name, as findings forged into the guard's own record, as attribute names the guard
reports, as the kernel's execution count, or stashed and printed later (by a later answer cell,
a visible test, the read-only cell, the last cell). Each deserves its honest score: see
`leak_variants()`.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from . import minicourse as mc
from .variants import CLIP_RIGHT, MSE_WRONG, Variant, nb, with_cell

MAX_SCORE = 7.0
TEST_EARLY = "# mse: an early visible test\nassert math.isclose(mse([1, 2], [1, 4]), 2.0)"
TEST_VISIBLE = "# clip01: a late visible test\nassert clip01([0.25])[0] == 0.25"
FINAL = "# a read-only cell that uses the answer\n_final = clip01(np.zeros(1))"


def _cell(source: str, grade_id: str, **flags) -> nbformat.NotebookNode:
    meta = {"grade": False, "grade_id": grade_id, "locked": True, "schema_version": 3,
            "solution": False, "task": False, **flags}
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": meta})


def build_course(root: Path) -> Path:
    """The mini course with `mini` extended as described above."""
    mc.build_course(root)
    path = root / "solutions" / "mini" / "mini.ipynb"
    source = nbformat.read(path, as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in source.cells]
    cells = list(source.cells)
    cells.insert(ids.index("answer_mse") + 1,
                 _cell(TEST_EARLY, "test_early", grade=True, points=1))
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in cells]
    cells.insert(ids.index("test_clip01") + 1,
                 _cell(TEST_VISIBLE, "test_visible", grade=True, points=1))
    cells.append(_cell(FINAL, "final_check"))
    source.cells = cells
    nbformat.write(source, path)
    return root


READER = '''import base64 as _b64
import codecs as _codecs
import inspect as _inspect
import linecache as _lc
import sys as _sys
import zlib as _zlib

_stash = []


def _test_frame():
    """The frame of the notebook cell that called the graded function."""
    frame = _sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "<module>" and "ipykernel_" in code.co_filename:
            return frame
        frame = frame.f_back
    return None


def _hidden(how):
    """What the calling cell holds from its hidden tests on ("" when it has none)."""
    frame = _test_frame()
    if frame is None:
        return ""
    if how == "consts":
        code = frame.f_code
        text = repr(code.co_consts) + repr(code.co_names)
        return text if "allclose" in text else ""
    text = (_inspect.getsource(frame) if how == "inspect"
            else "".join(_lc.getlines(frame.f_code.co_filename)))
    at = text.find("BEGIN HIDDEN")
    return text[at:] if at >= 0 else ""


def _enc(text, how):
    raw = text.encode()
    return {"hex": raw.hex(), "b64": _b64.b64encode(raw).decode(),
            "zlib": _b64.b64encode(_zlib.compress(raw)).decode(),
            "rot13": _codecs.encode(text, "rot13"), "reversed": text[::-1],
            "chars": "\\n".join(text), "bytes": str(list(raw))}[how]
'''


def _mse(leak: str, how: str = "linecache", returns: str = "") -> str:
    """A right mse that runs `leak` (with `text`, what it read) the first time it can."""
    leak = "\n".join("        " + line for line in leak.strip().split("\n"))
    returns = "\n".join("    " + line for line in returns.strip().split("\n")) if returns else ""
    return READER + f'''

def mse(x, y):
    text = _hidden({how!r})
    if text and not _stash:
        _stash.append(text)
{leak}
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
{returns}
    return float(np.mean((x - y) ** 2))'''


def _print(how: str, reader: str = "linecache") -> str:
    return _mse(f"print(_enc(text, {how!r}))", reader)


PRINT_NOISY = _mse('''import warnings
print(_enc(text, "hex"))
_sys.stderr.write(_enc(text, "b64") + "\\n")
warnings.warn(_enc(text, "zlib"))''')
DISPLAY = _mse('''from IPython.display import HTML, Markdown, display
display(HTML("<pre>" + _enc(text, "b64") + "</pre>"))
display(Markdown(_enc(text, "hex")))
display({"application/json": {"leak": _enc(text, "zlib")}}, raw=True)''', "inspect")
PNG_PIXELS = _mse('''import struct
from IPython.display import Image, display
raw = text.encode()


def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", _zlib.crc32(kind + data) & 0xFFFFFFFF))


header = struct.pack(">IIBBBBB", len(raw), 1, 8, 0, 0, 0, 0)  # one row of grey pixels
png = (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", header)
       + chunk(b"IDAT", _zlib.compress(b"\\x00" + raw)) + chunk(b"IEND", b""))
display(Image(data=png, format="png"))''')
PNG_DRAWN = _mse('''import io
from IPython.display import Image, display
from matplotlib.figure import Figure  # not pyplot: it registers an IPython callback
fig = Figure(figsize=(12, 4))
for i, line in enumerate(text.split("\\n")[:8]):
    fig.text(0.01, 0.9 - 0.1 * i, line, family="monospace")
buf = io.BytesIO()
fig.savefig(buf, format="png")
display(Image(data=buf.getvalue(), format="png"))''')
RAISE_MESSAGE = _mse('raise ValueError(_enc(text, "b64"))')
RAISE_CLASS_NAME = _mse('raise type("E" + _enc(text, "hex")[:400], (Exception,), {})()')
# np.testing.assert_allclose(mse(np.arange(4.0), ...), 4.0) prints the first three lines of
# the ACTUAL array it got: the first hidden line's bytes
ASSERT_NUMBERS = _mse("pass", returns='''if len(x) == 4 and _stash:
    line = _stash[0].split("\\n")[1]
    return np.array(list(line.encode()), dtype=float)''')
QUALNAME = _mse("pass", "consts", returns='''if _stash:
    return type("Q" + _enc(_stash[0], "hex")[:300], (float,), {})(np.mean((x - y) ** 2))''')
THREAD_NAME = _mse('''import threading, time
threading.Thread(target=time.sleep, args=(3600,), name=_enc(text, "hex"), daemon=True).start()''')
FORGED = _mse('''record = _sys.modules["__eep596gan_guard_stash__"].violations
name = "h" + _enc(text, "hex")[:200]
record += [("reference", name, name), ("patched", "mse", "numpy." + name),
           ("profiler", "mse", name), ("reference", "mse", "eep596gan." + name)]''')
ATTRIBUTE_NAMES = _mse('''from IPython.core.interactiveshell import InteractiveShell
from traitlets.config.configurable import SingletonConfigurable
name = "h" + _enc(text, "hex")[:200]
setattr(SingletonConfigurable, name, lambda self: 0)
setattr(InteractiveShell, name, lambda self: 1)''')
# the 24 characters after "# " on the first hidden line, as the next cell's number
EXECUTION_COUNT = _mse('''get_ipython().execution_count = int.from_bytes(
    text.split("\\n", 1)[1][2:26].encode(), "big")''')
STASH = _mse("pass")
STASH_PRINT = '''for _t in _stash:
    for _how in ("hex", "b64", "zlib", "rot13", "bytes"):
        print(_enc(_t, _how))'''
CLIP_PRINTS_STASH = '''def clip01(x):
    for _t in _stash:
        print(_enc(_t, "b64"))
    return np.clip(np.asarray(x, dtype=float), 0.0, 1.0)'''
CLIP_PRINTS_IN_FINAL = '''def clip01(x):
    if np.shape(x) == (1,) and np.asarray(x)[0] == 0:  # the read-only cell's call
        for _t in _stash:
            print(_enc(_t, "hex"), _enc(_t, "rot13"))
    return np.clip(np.asarray(x, dtype=float), 0.0, 1.0)'''

EARLY, LATE = 'print("EARLY" + "-OUTPUT")', 'print("LATE" + "-OUTPUT")'


def innocent_variants() -> list[Variant]:
    """A right answer (that prints before and after the first hidden test) and a wrong one."""
    right = with_cell(with_cell(nb(), EARLY, after="answer_mse"), LATE, after="answer_clip01")
    return [Variant("innocent-right", right, 7, "graded"),
            Variant("innocent-wrong", nb(mse=MSE_WRONG), 4, "graded")]  # test_early, test_mse


def leak_variants() -> list[Variant]:
    """Each hostile submission with the score and status its honest answers deserve.

    A right answer that only prints, displays or stashes keeps all 7; one that raises, or
    returns a wrong value or a lying type, in test_mse loses that test's 2; findings void the
    tests they are found in (a forged reference call: test_mse; a thread that keeps running
    or attributes that stay added: every test from test_mse on, leaving test_early's 1).
    """
    v = Variant
    return [
        v("leak-print-hex", nb(mse=PRINT_NOISY), 7, "graded"),
        v("leak-print-b64", nb(mse=_print("b64", "inspect")), 7, "graded"),
        v("leak-print-zlib", nb(mse=_print("zlib")), 7, "graded"),
        v("leak-print-rot13", nb(mse=_print("rot13")), 7, "graded"),
        v("leak-print-reversed", nb(mse=_print("reversed")), 7, "graded"),
        v("leak-print-chars", nb(mse=_print("chars")), 7, "graded"),
        v("leak-print-consts", nb(mse=_print("bytes", "consts")), 7, "graded"),
        v("leak-display", nb(mse=DISPLAY), 7, "graded"),
        v("leak-png-pixels", nb(mse=PNG_PIXELS), 7, "graded"),
        v("leak-png-drawn", nb(mse=PNG_DRAWN), 7, "graded"),
        v("leak-raise-message", nb(mse=RAISE_MESSAGE), 5, "graded"),
        v("leak-raise-class-name", nb(mse=RAISE_CLASS_NAME), 5, "graded"),
        v("leak-assert-numbers", nb(mse=ASSERT_NUMBERS), 5, "graded"),
        v("leak-class-qualname", nb(mse=QUALNAME), 5, "graded"),
        v("leak-thread-name", nb(mse=THREAD_NAME), 1, "tampered"),
        v("leak-forged-findings", nb(mse=FORGED), 5, "uses-reference"),
        v("leak-attribute-names", nb(mse=ATTRIBUTE_NAMES), 1, "tampered"),
        v("leak-execution-count", nb(mse=EXECUTION_COUNT), 7, "graded"),
        v("leak-stash-answer", nb(mse=STASH, clip=CLIP_RIGHT + "\n\n\n" + STASH_PRINT), 7,
          "graded"),
        v("leak-stash-visible-test", nb(mse=STASH, clip=CLIP_PRINTS_STASH), 7, "graded"),
        v("leak-stash-read-only", nb(mse=STASH, clip=CLIP_PRINTS_IN_FINAL), 7, "graded"),
        v("leak-stash-last-cell", with_cell(nb(mse=STASH), STASH_PRINT), 7, "graded"),
    ]


def control_names() -> list[str]:
    """One hostile submission per channel family, run without the page to show the leak is real."""
    return ["leak-print-chars", "leak-png-pixels", "leak-raise-class-name",
            "leak-assert-numbers", "leak-forged-findings",
            "leak-execution-count", "leak-stash-read-only"]


__all__ = ["build_course", "innocent_variants", "leak_variants", "control_names", "MAX_SCORE"]
