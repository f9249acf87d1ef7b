"""The release's setup cells work with `eep596gan` installed from a built wheel, as in Colab.

Colab installs the package with pip (the first code cell of each assignment), not as the editable
checkout the other tests import. So: build a wheel of the package (offline, no build isolation),
install it into a temporary target without dependencies (torch and the rest come from the venv),
and run each release notebook's Colab cell and its import cell in a subprocess whose
`PYTHONPATH` is that target, from a folder outside the checkout. `eep596gan` must be imported from
the wheel, with its assets (`eep596gan/assets/*`) in it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from submissions import VARIANTS, release_path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("pyproject.toml", "README.md", "setup.py", "setup.cfg", "MANIFEST.in", "LICENSE")

# Runs the setup cells as a notebook would: first the Colab cell outside Colab (it must not
# install anything), then inside a pretend Colab (it must pip-install eep596gan; the magic is
# recorded, not run: this machine is offline), then the import cell.
RUNNER = r'''
import builtins, json, sys, types

colab_cell, setup_cell = json.loads(sys.stdin.read())
calls = []


class Shell:
    def run_line_magic(self, name, line):
        calls.append([name, line])


builtins.get_ipython = lambda: Shell()
exec(compile(colab_cell, "<colab cell>", "exec"), {})
outside = list(calls)
sys.modules["google.colab"] = types.ModuleType("google.colab")
exec(compile(colab_cell, "<colab cell>", "exec"), {})
del sys.modules["google.colab"]
inside = calls[len(outside):]
namespace = {}
exec(compile(setup_cell, "<setup cell>", "exec"), namespace)

import eep596gan
from eep596gan.models.autoregressive import load_corpus

print("RESULT " + json.dumps({"file": eep596gan.__file__, "outside": outside, "inside": inside,
                              "corpus": len(load_corpus())}))
'''


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory):
    """(the wheel, the folder it is installed in)."""
    tmp = tmp_path_factory.mktemp("release-install")
    # build from a copy of the package's files, so that the build's build/ and *.egg-info do not
    # land in the checkout (where the editable install and the other test workers read)
    src = tmp / "src"
    shutil.copytree(ROOT / "eep596gan", src / "eep596gan",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in PROJECT_FILES:
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, src / name)
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp / "dist"), str(src)], check=True, env=env, cwd=tmp, timeout=120)
    (wheel,) = (tmp / "dist").glob("eep596gan-*.whl")
    site = tmp / "site"
    subprocess.run([*pip, "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, env=env, cwd=tmp, timeout=120)
    return wheel, site


def test_the_wheel_holds_the_package_and_its_assets(wheel_site):
    wheel, site = wheel_site
    names = set(zipfile.ZipFile(wheel).namelist())
    assets = {p.relative_to(ROOT).as_posix() for p in (ROOT / "eep596gan" / "assets").rglob("*")
              if p.is_file()}
    assert "eep596gan/assets/corpus.txt" in assets
    assert assets <= names, f"missing from the wheel: {sorted(assets - names)}"
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "eep596gan").rglob("*.py")}
    assert modules <= names, f"missing from the wheel: {sorted(modules - names)}"
    assert (site / "eep596gan" / "assets" / "corpus.txt").is_file()


def _setup_cells(assignment: str) -> tuple[str, str]:
    """(the Colab cell, the cell that imports eep596gan) of the release notebook."""
    code = [c for c in nbformat.read(release_path(assignment), as_version=4).cells
            if c.cell_type == "code"]
    colab = code[0]
    assert '"google.colab" in sys.modules' in colab.source and "pip" in colab.source, (
        f"{assignment}: the first code cell should install the package inside Colab only")
    importing = [i for i, c in enumerate(code) if "eep596gan" in c.source and "import" in c.source
                 and c is not colab]
    assert importing, f"{assignment}: no cell imports eep596gan"
    assert "import eep596gan" not in colab.source and "from eep596gan" not in colab.source, (
        f"{assignment}: the Colab cell must not import eep596gan before installing it")
    return colab.source, code[importing[0]].source


@pytest.mark.parametrize("assignment", sorted(VARIANTS))
def test_release_setup_cells_run_on_the_installed_wheel(assignment, wheel_site, tmp_path):
    _, site = wheel_site
    env = {**os.environ, "PYTHONPATH": str(site), "MPLBACKEND": "Agg", "EEP596GAN_QUICK": "1",
           "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", RUNNER],
                          input=json.dumps(_setup_cells(assignment)), capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    result = json.loads(line[len("RESULT "):])
    assert Path(result["file"]).resolve().is_relative_to(site.resolve()), (
        f"eep596gan was imported from {result['file']}, not from the wheel in {site}")
    assert result["outside"] == [], "outside Colab the first cell must not install anything"
    assert len(result["inside"]) == 1, result["inside"]
    magic, line = result["inside"][0]
    assert magic == "pip" and line.split()[0] == "install" and "eep596gan" in line, line
    assert result["corpus"] > 0
