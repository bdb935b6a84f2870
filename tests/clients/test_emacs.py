"""The Emacs client's own checks, run through pytest so one command runs everything.

Each step is real `emacs --batch`: byte-compilation with warnings as errors,
checkdoc on every file, and the ERT suite (which starts the real
`gastown-server --stdio` on real towns).  A failing step prints Emacs's output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EMACS_DIR = ROOT / "clients" / "emacs"
RUN = EMACS_DIR / "run-tests.sh"


def _emacs() -> str:
    emacs = os.environ.get("EMACS") or shutil.which("emacs")
    assert emacs, (
        "emacs not found: install it (apt-get install emacs-nox elpa-magit-section "
        "elpa-transient) or set EMACS"
    )
    return emacs


def _run(*step: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, EMACS=_emacs(), GASTOWN_TEST_PYTHON=sys.executable)
    # The server and CLI the tests start must be this checkout's.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    proc = subprocess.run(
        ["bash", str(RUN), *step],
        cwd=EMACS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, (
        f"run-tests.sh {' '.join(step)} failed ({proc.returncode}):\n"
        f"{proc.stdout[-8000:]}\n{proc.stderr[-12000:]}"
    )
    return proc


def test_byte_compiles_without_warnings():
    out = _run("compile")
    assert "byte-compile cleanly" in out.stdout + out.stderr


def test_checkdoc_clean():
    out = _run("checkdoc")
    assert "checkdoc clean" in out.stdout + out.stderr


@pytest.mark.slow
def test_ert_suite():
    out = _run("test")
    text = out.stdout + out.stderr
    assert "0 unexpected" in text, text[-4000:]
