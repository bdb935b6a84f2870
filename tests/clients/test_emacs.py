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


def _readme_snippet() -> str:
    text = (EMACS_DIR / "README.md").read_text()
    block = text.split("<!-- gastown-emacs-snippet", 1)[1].split("```elisp\n", 1)[1].split("```", 1)[0]
    assert "(require 'gastown)" in block
    return block


_SHOW_CONVOYS = """
(let ((buf (gastown-convoys)) (deadline (+ (float-time) 60)))
  (while (and (< (float-time) deadline)
              (not (string-match-p "Convoys (" (with-current-buffer buf (buffer-string)))))
    (accept-process-output nil 0.1))
  (princ (format "BUFFER<<%s>>" (with-current-buffer buf (buffer-substring-no-properties (point-min) (point-max))))))
"""


def _emacs_q(forms: str, town: Path) -> str:
    """Evaluate FORMS in `emacs -Q --batch` (no init file, no package.el, no site-lisp), as a new user would."""
    env = dict(os.environ, HOME=str(town.parent))  # no ~/.emacs.d of this machine's user
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    proc = subprocess.run([_emacs(), "-Q", "--batch", "--eval", f"(progn {forms} {_SHOW_CONVOYS})"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _town_with_a_convoy(tmp_path: Path) -> Path:
    town = tmp_path / "town"
    town.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("GT_TOWN", "BEADS_DB", "BD_ACTOR")}
    run = lambda *a: subprocess.run([sys.executable, "-m", *a], cwd=town, env=env, check=True,  # noqa: E731
                                    capture_output=True, text=True, timeout=60)
    run("gastown_server.cli.bd", "init", "--prefix", "qs")
    run("gastown_server.cli.gt", "convoy", "create", "Quick start convoy")
    return town


def test_the_readme_snippet_loads_the_client_under_emacs_q(tmp_path):
    """Seen: `M-x gastown-convoys` under emacs -Q with the README's lines failed with
    `Cannot open load file: magit-section` (Debian's elpa dirs are not on load-path under -Q)."""
    town = _town_with_a_convoy(tmp_path)
    forms = (_readme_snippet().replace('"~/src/gastown/clients/emacs"', f'"{EMACS_DIR}"')
             .replace('"~/gt"', f'"{town}"'))
    out = _emacs_q(forms, town)
    assert "Convoys (1)" in out and "Quick start convoy" in out, out[-3000:]


def test_the_demo_prints_a_snippet_that_works_under_emacs_q(tmp_path):
    from gastown_server.demo.town import emacs_snippet

    town = _town_with_a_convoy(tmp_path)
    lines = emacs_snippet(town)
    assert lines and "M-x gastown-dispatch" in lines[0]
    out = _emacs_q(lines[1].strip(), town)
    assert "Convoys (1)" in out and "Quick start convoy" in out, out[-3000:]
    # the "try it now" line is a valid shell command line (no quote breaks inside '...')
    import shlex

    argv = shlex.split(lines[2].split(":", 1)[1])
    assert argv[:3] == ["emacs", "-Q", "--eval"] and argv[3].endswith("(gastown-convoys))")
