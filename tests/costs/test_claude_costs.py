"""gt costs over real Claude Code sessions: town sessions run the real `claude` (print mode, so no
first-run screen is involved) in tmux against the loopback model; what `gt costs` adds up from
Claude Code's own session files must equal the usage the stub reported, priced by the town's table."""

import json
import os
import time
from pathlib import Path

import pytest
from costs_helpers import MODEL, claude_print_agent, gt, run_session, stub_log

from gastown_server.costs.report import format_usd
from gastown_server.rpc.client import Client
from gastown_server.rpc.errors import RpcError
from gastown_server.town.core import Town


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

    # The same figures in gt status and over RPC (costs/summary, agent/list).
    status = json.loads(gt(town_root, "status", "--json").stdout)
    agents = {a["address"]: a for a in status["agents"]}
    assert agents["mayor"]["cost_usd"] == rows["mayor"]["cost_usd"] > 0
    assert agents["mayor"]["tokens"] == rows["mayor"]["input_tokens"] + rows["mayor"]["output_tokens"]
    assert agents["deacon"]["cost_usd"] == 0 and status["cost_usd"] == total["cost_usd"]
    shown = gt(town_root, "status").stdout
    assert f"cost={format_usd(rows['mayor']['cost_usd'])}" in shown and f"costs: {format_usd(total['cost_usd'])}" in shown
    c = Client.spawn(town=town_root, env={**os.environ, "GT_TOWN": str(town_root)})
    try:
        c.initialize()
        assert c.call("costs/summary", {}) == summary
        assert c.call("costs/summary", {"by": "rig"})["rows"][0]["key"] == "town"
        listed = {a["address"]: a for a in c.call("agent/list")["agents"]}
        assert listed["deacon/dogs/alpha"]["cost_usd"] == rows["deacon/dogs/alpha"]["cost_usd"]
        assert c.call("agent/show", {"agent": "mayor"})["agent"]["cost_usd"] == rows["mayor"]["cost_usd"]
        with pytest.raises(RpcError):
            c.call("costs/summary", {"by": "week"})
    finally:
        c.close()
    # A broken price table: gt costs refuses in one line, gt status still works and says why.
    (town_root / "settings" / "costs.json").write_text('{"prices": {"x": {"input": "cheap"}}}')
    bad = gt(town_root, "costs")
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1 and "bad price table" in bad.stderr
    still = gt(town_root, "status")
    assert still.returncode == 0 and "costs: not shown: bad price table" in still.stdout
    (town_root / "settings" / "costs.json").write_text(json.dumps({"prices": {MODEL: {"input": 2.0, "output": 10.0}}}))

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
