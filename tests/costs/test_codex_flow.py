"""A Mayor on the real Codex CLI (interactive TUI in tmux) against the town's loopback model:
it primes itself through the shell tool, receives a nudge (the stub logs it as what the user typed)
and answers in the pane; `gt costs` equals the stub's reported usage; a seance question about the
finished session gets the stub's answer through `codex exec resume`. And codex missing from PATH."""

import json
import os
import subprocess
import time

import pytest
from costs_helpers import find_cli
from town_helpers import GT, wait_for

from gastown_server.modelstub import service
from gastown_server.town import config, lifecycle
from gastown_server.town.core import Town


@pytest.fixture
def town_stub(town_root, cli_path):
    """The town's own loopback model (`gt model-stub --detach`), stopped at teardown."""
    st = service.start_background(town_root)
    yield st
    service.stop(town_root)


def log_entries(st) -> list[dict]:
    try:
        return [json.loads(line) for line in open(st.log).read().splitlines()]
    except FileNotFoundError:
        return []


def gt(root, *argv):
    return subprocess.run([*GT, *argv], cwd=root, capture_output=True, text=True, timeout=120)


def test_mayor_on_codex_primes_takes_a_nudge_and_answers(town_root, cli_path, town_stub):
    config.set_default(town_root, "codex", role="mayor")
    with Town(town_root) as town:
        res = lifecycle.start_agent(town, "mayor")
        assert res.status == "started" and res.runtime == "codex"
        rec = lifecycle.sessions_of(town, town.identity("mayor"))[0]
        home = os.path.dirname(rec.logs)
        assert rec.logs.endswith("/sessions") and f"/agent-config/codex/hq-mayor/{res.session_id}" in home
        assert 'wire_api = "responses"' in open(os.path.join(home, "config.toml")).read()
        wait_for(lambda: any(e.get("kind") == "idle" for e in log_entries(town_stub)), timeout=60,
                 what="the Mayor to run gt prime and go idle")  # fmt: skip
        prime = next(e for e in log_entries(town_stub) if e.get("kind") == "prime")
        assert prime["api"] == "openai" and prime["calls"] == ["gt prime"]
        pane = wait_for(lambda: (p := town.tmux.capture(res.session)) and "Waiting for work" in p and p, timeout=30,
                        what="the idle reply on the Codex screen")  # fmt: skip
        assert "gt prime" in pane

        question = "which mail is unread for the mayor"
        nudged = gt(town_root, "nudge", "mayor", question, "--json")
        assert nudged.returncode == 0, nudged.stderr
        assert json.loads(nudged.stdout)["status"] == "delivered"
        asked = wait_for(lambda: next((e for e in log_entries(town_stub) if e.get("user") == question), None),
                         timeout=30, what="the nudge to reach the model as the user's message")  # fmt: skip
        assert asked["kind"] == "answer"
        first_line = asked["text"].splitlines()[0]
        wait_for(lambda: first_line[:40] in town.tmux.capture(res.session), timeout=30, what="the answer in the pane")

        # Every reply Codex recorded is one the stub gave: gt costs adds up exactly their usage.
        # (Codex's side request for a thread title, kind "side", is not in its rollout: not countable.)
        log = [e for e in log_entries(town_stub) if e.get("api") == "openai" and e.get("kind") != "side"]

        def counted():  # Codex appends the reply's token_count to its rollout just after showing it
            c = json.loads(gt(town_root, "costs", "--json").stdout)
            return c if c["total"]["requests"] >= len(log) else None

        costs = wait_for(counted, timeout=15, step=0.5, what="Codex to record every reply's usage")
        assert costs["total"]["input_tokens"] == sum(e["usage"]["input_tokens"] for e in log)
        assert costs["total"]["output_tokens"] == sum(e["usage"]["output_tokens"] for e in log)
        assert [r["key"] for r in costs["rows"]] == ["mayor"] and costs["total"]["requests"] == len(log)
        assert costs["rows"][0]["models"] == ["gpt-5-codex"] and costs["total"]["cost_usd"] > 0

        lifecycle.stop_agent(town, "mayor", grace_s=2)
    # Seance: the finished session answers through `codex exec resume` in its own CODEX_HOME.
    before = len(log_entries(town_stub))
    talk = gt(town_root, "seance", "--talk", res.session_id, "-p", "what did you see about unread mail", "--json")
    assert talk.returncode == 0, talk.stderr
    answer = json.loads(talk.stdout)
    reply = [e for e in log_entries(town_stub)[before:] if e.get("user") == "what did you see about unread mail"]
    assert reply and answer["source"] == "resume" and answer["answer"] == reply[-1]["text"]
    assert answer["command"][1:4] == ["exec", "--skip-git-repo-check", "resume"]


def test_codex_missing_from_path_is_one_line(town_root, cli_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{os.path.dirname(GT[0])}:/usr/bin:/bin")
    monkeypatch.setenv("GASTOWN_AGENT_CLIS", str(cli_path / "none"))
    assert gt(town_root, "config", "agent", "default", "codex", "--role", "mayor").returncode == 0
    proc = gt(town_root, "up")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "gt: error: runtime 'codex' not found on PATH: no 'codex' executable "
        "(install it, or pick another runtime with `gt config agent default <name>`)"
    ]
    with Town(town_root) as town:
        assert not town.tmux.running() or not town.tmux.sessions()
