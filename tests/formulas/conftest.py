import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gastown_server.beads.store import Ledger

BIN = Path(sys.executable).parent


@pytest.fixture
def ledger(tmp_path):
    led = Ledger(tmp_path / "ledger.db", create=True)
    led.config_set("issue_prefix", "bd", actor="test")
    yield led
    led.disconnect()


@pytest.fixture
def fdir(tmp_path, monkeypatch):
    """A formula directory on the search path (GT_FORMULA_PATH); write(name, toml)."""
    d = tmp_path / "extra-formulas"
    d.mkdir()
    monkeypatch.setenv("GT_FORMULA_PATH", str(d))
    monkeypatch.delenv("GT_TOWN", raising=False)
    monkeypatch.delenv("GT_RIG", raising=False)
    monkeypatch.chdir(tmp_path)

    def write(name: str, text: str) -> Path:
        path = d / f"{name}.formula.toml"
        path.write_text(textwrap.dedent(text))
        return path

    write.dir = d
    return write


def _env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("GT_TOWN", "BEADS_DB", "BD_ACTOR", "GT_ACTOR", "GT_RIG", "GT_FORMULA_PATH")}
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    env.update(extra)
    return env


@pytest.fixture
def cli(tmp_path):
    """Run the real `bd` / `gt` processes inside a fresh town (ledger-only)."""
    home = tmp_path / "town"
    home.mkdir()

    def run(prog, *argv, check=True, env=None, cwd=None):
        proc = subprocess.run(
            [str(BIN / prog), *argv], cwd=cwd or home, env=_env(**(env or {})), capture_output=True, text=True
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"{prog} {' '.join(argv)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    run.home = home
    run("bd", "init", "--prefix", "t")
    return run
