"""gt costs over real Claude Code sessions: town sessions run the real `claude` (print mode, so no
first-run screen is involved) in tmux against the loopback model; what `gt costs` adds up from
Claude Code's own session files must equal the usage the stub reported, priced by the town's table."""

import json
import subprocess
import time
from pathlib import Path

import pytest
from conftest import find_cli, stub_log
from town_helpers import GT

from gastown_server.town import config, lifecycle
from gastown_server.town.core import Town

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


def test_costs_equal_the_usage_the_stub_reported(town_root, cli_path, stub):
    (town_root / "settings" / "costs.json").write_text(json.dumps({"prices": {MODEL: {"input": 2.0, "output": 10.0}}}))
    agent = claude_print_agent(town_root, stub)
    with Town(town_root) as town:
        from gastown_server.town import dogs

        dogs.add(town, "alpha")  # (not the Deacon: a patrol agent never ends its turn)
        mayor = run_session(town, "mayor", agent)
        run_session(town, "deacon/dogs/alpha", agent)
    log = [e for e in stub_log(stub) if e.get("api") == "anthropic"]
    assert {e["kind"] for e in log} >= {"prime"}, log  # the agents really worked (gt prime through the Bash tool)
    want_in = sum(e["usage"]["input_tokens"] for e in log)
    want_out = sum(e["usage"]["output_tokens"] for e in log)

    proc = gt(town_root, "costs", "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    summary = json.loads(proc.stdout)
    total = summary["total"]
    assert (total["input_tokens"], total["output_tokens"], total["requests"]) == (want_in, want_out, len(log))
    assert total["cost_usd"] == pytest.approx((want_in * 2.0 + want_out * 10.0) / 1e6, abs=1e-6)
    rows = {r["key"]: r for r in summary["rows"]}
    assert set(rows) == {"mayor", "deacon/dogs/alpha"}
    assert rows["mayor"]["input_tokens"] + rows["deacon/dogs/alpha"]["input_tokens"] == want_in
    assert rows["mayor"]["models"] == [MODEL] and not rows["mayor"]["unpriced"]

    by_rig = json.loads(gt(town_root, "costs", "--by", "rig", "--json").stdout)
    assert [(r["key"], r["input_tokens"]) for r in by_rig["rows"]] == [("town", want_in)]
    by_day = json.loads(gt(town_root, "costs", "--by", "day", "--json").stdout)
    assert [r["key"] for r in by_day["rows"]] == [time.strftime("%Y-%m-%d", time.gmtime())]
    text = gt(town_root, "costs")
    assert text.returncode == 0 and "mayor" in text.stdout and f"{want_in:,}" in text.stdout.splitlines()[-1]

    # A damaged line in a session file: one warning line, every other line still counted.
    with open(mayor.logs, "ab") as f:
        f.write(b'{"type": "assistant", "message": {"usage": {"input_tok\n')
    damaged = gt(town_root, "costs", "--json")
    assert damaged.returncode == 0
    warnings = damaged.stderr.strip().splitlines()
    assert len(warnings) == 1 and warnings[0].startswith(f"gt: warning: {mayor.logs}:") and "rest counted" in warnings[0]
    assert json.loads(damaged.stdout)["total"]["input_tokens"] == want_in

    # The Stop hook's command: idempotent, quiet, always exit 0.
    rec = gt(town_root, "costs", "record", "--session", mayor.session_id, "--json")
    assert rec.returncode == 0 and json.loads(rec.stdout)["session_id"] == mayor.session_id
    hook_input = json.dumps({"session_id": mayor.session_id, "hook_event_name": "Stop"})
    assert gt(town_root, "costs", "record", input=hook_input).returncode == 0
    assert json.loads(gt(town_root, "costs", "--json").stdout)["total"]["input_tokens"] == want_in
    nobody = gt(town_root, "costs", "record", input="")
    assert nobody.returncode == 0 and nobody.stderr.startswith("gt costs record: no session")


def test_costs_survive_the_runtime_deleting_its_session_file(town_root, cli_path, stub):
    agent = claude_print_agent(town_root, stub)
    with Town(town_root) as town:
        rec = run_session(town, "mayor", agent)
    before = json.loads(gt(town_root, "costs", "--json").stdout)["total"]
    assert before["input_tokens"] > 0
    Path(rec.logs).unlink()  # Claude Code cleans up old sessions (cleanupPeriodDays)
    after = json.loads(gt(town_root, "costs", "--json").stdout)["total"]
    assert after == before
