"""Helpers of the real-CLI tests (a plain module: test files import it by name)."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from town_helpers import GT

from gastown_server.town import config, lifecycle
from gastown_server.town.core import Town


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


def stub_log(server) -> list[dict]:
    path = Path(server.log_path)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


MODEL = "gastown-test-model"


def claude_print_agent(root: Path, stub, name: str = "claude-print") -> str:
    """A town agent running `claude -p <prompt>` (one turn, then exit) against the stub."""
    config.set_agent(
        root, name, [find_cli("claude"), "--dangerously-skip-permissions", "--model", MODEL, "-p"], preset="claude",
        env={"IS_SANDBOX": "1", "ANTHROPIC_BASE_URL": stub.url, "ANTHROPIC_API_KEY": "sk-gastown-test-key"},
    )  # fmt: skip
    return name


def run_session(town: Town, address: str, agent: str, timeout: float = 60.0) -> lifecycle.SessionRecord:
    res = lifecycle.start_agent(town, address, agent=agent)
    assert res.status == "started", res
    deadline = time.monotonic() + timeout
    while town.tmux.has(res.session):
        assert time.monotonic() < deadline, f"{address}'s claude -p did not finish within {timeout}s"
        time.sleep(0.2)
    rec = lifecycle.sessions_of(town, town.identity(address))[0]
    assert rec.session_id == res.session_id and rec.logs.endswith(f"{res.session_id}.jsonl"), rec
    assert Path(rec.logs).is_file(), f"Claude Code wrote no session file at {rec.logs}"
    return rec


def gt(root, *argv, input=None):
    return subprocess.run([*GT, *argv], cwd=root, capture_output=True, text=True, timeout=120, input=input)
