import sys
import uuid
from pathlib import Path

import pytest

from gastown_server.runtime.tmux import TownTmux


@pytest.fixture(autouse=True)
def _no_bootstrap_agent_clis(tmp_path, monkeypatch):
    """These tests are about presets and fakes: the bootstrap's real claude/codex must not be found."""
    monkeypatch.setenv("GASTOWN_AGENT_CLIS", str(tmp_path / "no-agent-clis"))


@pytest.fixture
def tmux():
    """A TownTmux on a throwaway socket, killed at teardown."""
    t = TownTmux(f"gt-test-{uuid.uuid4().hex[:10]}")
    yield t
    t.kill_server()


@pytest.fixture
def base_env(tmp_path):
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
