"""Fixtures for the real agent CLIs against the loopback model: the binaries (from PATH or the
bootstrap's pinned install), a temporary HOME, the stub on 127.0.0.1 with its request log."""

import json
import os
import shutil
import threading
from pathlib import Path

import pytest


def find_cli(name: str) -> str:
    """The real CLI (PATH first, then scripts/bootstrap's install); a clear failure when absent."""
    try:
        from gastown_server.runtime import agent_clis
    except ImportError:  # the bootstrap install step lands with the Claude Code runtime work
        base = os.environ.get("GASTOWN_AGENT_CLIS") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gastown", "agent-clis")
        found = shutil.which(name) or shutil.which(name, path=os.path.join(base, "node_modules", ".bin"))
    else:
        found = agent_clis.find(name)
    assert found, f"{name} is not installed: run scripts/bootstrap --all (npm @anthropic-ai/claude-code, @openai/codex)"
    return found


@pytest.fixture
def cli_path(monkeypatch, tmp_path):
    """PATH with the real claude and codex first, and HOME a temporary directory (never the user's)."""
    bins = {os.path.dirname(find_cli(n)) for n in ("claude", "codex")}
    monkeypatch.setenv("PATH", os.pathsep.join([*sorted(bins), os.environ["PATH"]]))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def stub(tmp_path):
    """The loopback model in this process (a thread), logging each request to stub.jsonl."""
    from gastown_server.modelstub import service

    server = service.make_server(0, log_path=tmp_path / "stub.jsonl")
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield server
    server.shutdown()
    server.server_close()


def stub_log(server) -> list[dict]:
    path = Path(server.log_path)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def which(name: str) -> str:
    return shutil.which(name) or ""
