import json
import stat
from pathlib import Path

import pytest

from gastown_server.beads.store import Ledger
from gastown_server.paths import ledger_path
from gastown_server.runtime import seance, transcripts
from gastown_server.runtime.nudge import nudge
from gastown_server.runtime.runtimes import PRESETS, start_command

from rt_helpers import file_text, got_lines, start_agent, wait_for

ADDR = "gt/polecats/alpha"
FAST = dict(idle_s=0.2, timeout_s=10.0, echo_s=2.0, confirm_s=0.5)


@pytest.fixture
def town(tmp_path):
    root = tmp_path / "town"
    root.mkdir()
    led = Ledger(ledger_path(root), create=True)
    led.config_set("issue_prefix", "gt", actor="test")
    yield root, led
    led.disconnect()


def _env(base_env, root, **extra):
    return {**base_env, "GT_TOWN": str(root), "GT_RIG": "gt", **extra}


def _molecule(led, steps):
    """A hooked molecule whose steps run in sequence; ``steps`` are (title, command or None)."""
    root = led.create("polecat work", actor="mayor", issue_type="molecule", status="hooked", assignee=ADDR)
    prev = None
    ids = []
    for title, cmd in steps:
        meta = json.dumps({"command": cmd}) if cmd else ""
        deps = [("blocks", prev)] if prev else []
        step = led.create(title, actor="mayor", parent=root.id, deps=deps, metadata=meta)
        ids.append(step.id)
        prev = step.id
    return root.id, ids


def test_agent_primes_walks_molecule_runs_commands_and_reports_done(tmux, tmp_path, base_env, town):
    root, led = town
    mol, steps = _molecule(led, [
        ("build", "echo built-$((20 + 22))"),
        ("write", "echo written > out.txt && echo wrote-file"),
        ("think", None),
    ])  # fmt: skip
    led.create("MERGED alpha", actor="gt/refinery", issue_type="message", assignee=ADDR, sender="gt/refinery")
    log = transcripts.transcript_path(root, "gt-alpha")
    cmd = start_command(PRESETS["script"], cwd=tmp_path, prompt="run your hook")
    tmux.start("gt-alpha", cmd, cwd=tmp_path, env=_env(base_env, root, BD_ACTOR=ADDR, GT_ROLE=ADDR, GT_SESSION_ID="s-1"), transcript=log)
    assert wait_for(lambda: "ready for input" in file_text(log), timeout=15), file_text(log)
    text = file_text(log)
    assert text.startswith("=== gastown session s-1 ===")
    assert f"[{ADDR}] startup prompt: run your hook" in text
    assert f"[{ADDR}] hook: {mol} polecat work (hooked)" in text
    assert f"[{ADDR}] mail: 1 unread" in text and "MERGED alpha" in text
    # Steps ran in dependency order, output in the transcript, all closed.
    assert text.index("built-42") < text.index("wrote-file") < text.index(f"step {steps[2]} think: nothing mechanical")
    assert (tmp_path / "out.txt").read_text() == "written\n"
    led2 = Ledger(ledger_path(root))
    assert [led2.get(s).status for s in steps] == ["closed"] * 3
    assert led2.get(mol).status == "closed"
    assert f"[{ADDR}] done: {mol}" in text
    led2.disconnect()


def test_failing_step_stays_open_with_comment(tmux, tmp_path, base_env, town):
    root, led = town
    mol, steps = _molecule(led, [("ok", "true"), ("broken", "echo boom >&2; exit 7"), ("after", "echo never")])
    log = start_agent(tmux, tmp_path, "gt-alpha", _env(base_env, root), address=ADDR)
    text = file_text(log)
    assert f"step {steps[1]} failed (exit 7)" in text and "boom" in text and "never" not in text
    led2 = Ledger(ledger_path(root))
    assert [led2.get(s).status for s in steps] == ["closed", "open", "open"]
    assert led2.get(mol).status == "hooked"
    assert "exit 7" in led2.comments(steps[1])[0].text
    # Fix the step, then "check hook" re-walks from where it stopped.
    led2.update(steps[1], actor="overseer", metadata=json.dumps({"command": "echo fixed"}))
    assert nudge(tmux, "gt-alpha", "check hook", state_dir=tmp_path / "st", **FAST).status == "delivered"
    assert wait_for(lambda: f"done: {mol}" in file_text(log), timeout=10), file_text(log)
    assert "never" in file_text(log)
    led2.disconnect()


def test_verbs_and_bad_input_never_crash(tmux, tmp_path, base_env, town):
    root, led = town
    fake = tmp_path / "bin"
    fake.mkdir()
    gt = fake / "gt"
    gt.write_text(f"#!/bin/sh\nprintf '%s|' \"$@\" > {tmp_path}/gt-argv\necho handed off\n")
    gt.chmod(gt.stat().st_mode | stat.S_IXUSR)
    env = _env(base_env, root, PATH=f"{fake}:{base_env['PATH']}")
    log = start_agent(tmux, tmp_path, "gt-alpha", env, address=ADDR)
    state = tmp_path / "st"
    for msg in ["status", "{not json] \u00e9\u00ff \u2603", "mail", "handoff context is in notes.md"]:
        assert nudge(tmux, "gt-alpha", msg, state_dir=state, **FAST).status == "delivered"
    assert wait_for(lambda: (tmp_path / "gt-argv").exists())
    assert (tmp_path / "gt-argv").read_text() == "handoff|-m|context is in notes.md|"
    text = file_text(log)
    assert f"[{ADDR}] status: {ADDR}" in text and "\u2603" in text and "error" not in text.lower()
    assert got_lines(log, ADDR)[:2] == ["status", "{not json] \u00e9\u00ff \u2603"]
    assert nudge(tmux, "gt-alpha", "quit", state_dir=state, **FAST).status == "delivered"
    assert wait_for(lambda: not tmux.has("gt-alpha"))
    assert f"[{ADDR}] bye" in file_text(log)


def test_agent_without_a_town_still_reacts_and_stops_gracefully(tmux, tmp_path, base_env):
    log = start_agent(tmux, tmp_path, "hq-mayor", {**base_env, "GT_TOWN": str(tmp_path / "nowhere")})
    assert "no town ledger found" in file_text(log)
    assert nudge(tmux, "hq-mayor", "hello", state_dir=tmp_path / "st", **FAST).status == "delivered"
    assert wait_for(lambda: got_lines(log) == ["hello"])
    tmux.stop("hq-mayor", grace_s=5)
    assert not tmux.has("hq-mayor")
    assert "[mayor] stopping (SIGTERM)" in file_text(log)


def test_seance_answers_from_a_predecessors_part_of_the_transcript(tmux, tmp_path, base_env):
    state = tmp_path / "st"
    log = start_agent(tmux, tmp_path, "hq-mayor", {**base_env, "GT_SESSION_ID": "first"})
    for msg in ["the migration plan moves widgets to table gadgets", "lunch is at noon"]:
        assert nudge(tmux, "hq-mayor", msg, state_dir=state, **FAST).status == "delivered"
    assert wait_for(lambda: len(got_lines(log)) == 2)
    # Handoff: a fresh process in the same pane, same transcript, new session id.
    env = {**base_env, "BD_ACTOR": "mayor", "GT_ROLE": "mayor", "GT_SESSION_ID": "second"}
    tmux.respawn("hq-mayor", start_command(PRESETS["script"], cwd=tmp_path, prompt=""), cwd=tmp_path, env=env)
    assert wait_for(lambda: file_text(log).count("ready for input") == 2)
    assert nudge(tmux, "hq-mayor", "a new migration plan for sprockets", state_dir=state, **FAST).status == "delivered"
    assert wait_for(lambda: "sprockets" in file_text(log))
    assert transcripts.session_ids(log) == ["first", "second"]
    ans = seance.talk(PRESETS["script"], "first", "What was the migration plan?", transcript=log)
    assert ans.source == "transcript" and ans.matched >= 1
    assert "moves widgets to table gadgets" in ans.answer and "sprockets" not in ans.answer
    assert "lunch" not in ans.answer
    fallback = seance.talk(PRESETS["script"], "second", "zebra?", transcript=log)
    assert fallback.matched == 0 and "sprockets" in fallback.answer
    with pytest.raises(Exception, match="no session 'third'"):
        seance.talk(PRESETS["script"], "third", "q?", transcript=log)


FORMULA = '''
formula = "mol-runtime-walk"
version = 1
description = "script agent walk test"

[vars.name]
default = "world"

[[steps]]
id = "hello"
title = "Say hello"
run = "echo hello-$GT_VAR_NAME from $GT_STEP_KEY"

[[steps]]
id = "check"
title = "Is there a merge to do"
needs = ["hello"]
gate = { type = "conditional", run = "exit 1" }

[[steps]]
id = "guarded"
title = "Only when the gate passes"
needs = ["check"]
run = "echo SHOULD-NOT-RUN"

[[steps]]
id = "think"
title = "Think about it"
needs = ["hello"]
'''


def test_agent_walks_a_poured_formula_with_gates(tmux, tmp_path, base_env, town):
    from gastown_server.formulas import molecule, search
    from gastown_server.formulas.cook import cook, loader_for
    from gastown_server.work import hooks

    root_dir, led = town
    path = tmp_path / "mol-runtime-walk.formula.toml"
    path.write_text(FORMULA)
    proto = cook(search.load(str(path)), {"name": "gastown"}, load=loader_for())
    root = molecule.pour(led, proto, actor="mayor", assignee=ADDR)
    hooks.hook(led, root.id, ADDR, actor="mayor")
    log = start_agent(tmux, tmp_path, "gt-alpha", _env(base_env, root_dir), address=ADDR)
    text = file_text(log)
    assert "hello-gastown from hello" in text
    assert "gate failed; skipped 2 step(s)" in text
    assert "SHOULD-NOT-RUN" not in text
    assert f"done: {root.id}" in text, text
    led2 = Ledger(ledger_path(root_dir))
    assert molecule.progress(led2, root.id).complete
    assert led2.get(root.id).status == "closed"
    assert hooks.hooked_work(led2, ADDR) == []
    led2.disconnect()
