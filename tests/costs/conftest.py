"""Fixtures for the real agent CLIs against the loopback model: the binaries (from PATH or the
bootstrap's pinned install), a temporary HOME, the stub on 127.0.0.1 with its request log."""

import os
import threading

import pytest
from costs_helpers import find_cli


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
