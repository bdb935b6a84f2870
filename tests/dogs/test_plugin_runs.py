"""The Deacon dispatches due plugins to script-runtime dogs; the dogs run and record them.

Real town, real tmux (throwaway socket), real `gt`, the real ledger."""

from __future__ import annotations

import json
import time

from town_helpers import wait_for

from gastown_server.beads import clock
from gastown_server.patrol import plugin_runs, plugins
from gastown_server.work import mail

COOLDOWN_S = 4.0


def _runs(town, name):
    return plugins.runs(town.ledger, name)


def _closed_runs(town, name, count):
    def check():
        done = [r for r in _runs(town, name) if not r.open]
        return done if len(done) >= count else None

    return wait_for(check, timeout=30, step=0.1, what=f"{count} closed run(s) of {name}")


def test_cooldown_plugin_runs_on_a_dog_and_waits_for_its_cooldown(gt, town, town_root, write_plugin):
    write_plugin("hello", f'''
description = "write hi"
run = "echo hi >> $GT_TOWN/out.txt; echo ran in $(pwd) as $GT_PLUGIN"
[gate]
type = "cooldown"
duration = "{COOLDOWN_S:g}s"
[execution]
timeout = "30s"
[sandbox]
writes = ["out.txt"]  # the town root is outside a dog's sandbox: the plugin declares what it writes
''')
    first = gt("deacon", "plugins").stdout
    assert "plugin hello: run hq-wisp-" in first and "deacon/dogs/alpha's hook (started)" in first
    [run] = _closed_runs(town, "hello", 1)
    assert (town_root / "out.txt").read_text() == "hi\n"
    bead = town.ledger.get(run.id)
    assert "result:success" in town.ledger.labels(run.id) and "plugin:hello" in town.ledger.labels(run.id)
    assert bead.ephemeral and bead.close_reason.startswith("success: exit 0")
    assert bead.notes == f"ran in {town_root / 'dogs' / 'alpha'} as hello"
    assert run.assignee == "deacon/dogs/alpha"
    dog = json.loads(gt("dog", "list", "--json").stdout)[0]
    assert (dog["name"], dog["state"], dog["alive"]) == ("alpha", "idle", True)
    assert town.ledger.get("hq-dog-alpha").hook_bead == ""

    # Within the cooldown: not dispatched again, and gt plugin run says why.
    again = gt("deacon", "plugins").stdout
    assert "none due" in again
    assert len(_runs(town, "hello")) == 1
    refused = gt("plugin", "run", "hello", check=False)
    assert refused.returncode == 1 and "is cooling down until" in refused.stderr and "--force" in refused.stderr
    listed = {p["name"]: p for p in json.loads(gt("plugin", "list", "--json").stdout)}
    assert listed["hello"]["last_result"] == "success" and listed["hello"]["next_due"] not in ("now", "running")

    # After the cooldown: dispatched to the same (live, idle) dog, which is nudged.
    due = clock.parse(run.closed_at).timestamp() + COOLDOWN_S
    time.sleep(max(0.0, due - time.time()) + 0.2)
    third = gt("deacon", "plugins").stdout
    assert "deacon/dogs/alpha's hook (nudged)" in third, third
    second = _closed_runs(town, "hello", 2)[-1]
    assert "result:success" in town.ledger.labels(second.id)
    assert (town_root / "out.txt").read_text() == "hi\nhi\n"

    # --force ignores the cooldown.
    forced = gt("plugin", "run", "hello", "--force").stdout
    assert "plugin hello: run hq-wisp-" in forced
    _closed_runs(town, "hello", 3)
    assert (town_root / "out.txt").read_text() == "hi\nhi\nhi\n"


def test_a_failing_plugin_records_failure_and_mails_the_deacon(gt, town, write_plugin):
    write_plugin("fails", 'run = "echo boom; echo more >&2; exit 3"\n[gate]\ntype = "manual"')
    assert "none due" in gt("deacon", "plugins").stdout  # manual: only gt plugin run
    out = gt("plugin", "run", "fails").stdout
    assert "plugin fails: run hq-wisp-" in out
    [run] = _closed_runs(town, "fails", 1)
    bead = town.ledger.get(run.id)
    assert "result:failure" in town.ledger.labels(run.id)
    assert bead.close_reason.startswith("failure: exit 3")
    assert bead.notes == "boom\nmore"
    [msg] = [m for m in mail.unread(town.ledger, "deacon") if m.subject == "PLUGIN_FAILED fails"]
    assert msg.sender == "deacon/dogs/alpha"
    assert f"Run: {run.id}" in msg.body and "boom" in msg.body
    shown = gt("plugin", "show", "fails").stdout
    assert run.id in shown and "failure" in shown


def test_an_open_run_is_never_dispatched_twice_and_its_dog_cannot_be_removed(gt, town, town_root, write_plugin):
    write_plugin("slow", 'run = "sleep 3; echo slept"\n[gate]\ntype = "cooldown"\nduration = "1s"')
    assert "(started)" in gt("deacon", "plugins").stdout
    [current] = _runs(town, "slow")
    assert current.open
    again = gt("deacon", "plugins").stdout
    assert f"still running: slow (running {current.id})" in again
    refused = gt("plugin", "run", "slow", "--force", check=False)
    assert refused.returncode == 1
    assert f"already has an open run {current.id} on deacon/dogs/alpha's hook" in refused.stderr
    busy = gt("dog", "remove", "alpha", check=False)
    assert busy.returncode == 1 and "is working" in busy.stderr
    assert len(_runs(town, "slow")) == 1
    [done] = _closed_runs(town, "slow", 1)
    assert town.ledger.get(done.id).notes == "slept"


def test_malformed_plugin_files_do_not_stop_the_others(gt, town, town_root, write_plugin):
    bad = write_plugin("broken", '[gate]\ntype = "cooldown"\nduration = 5')
    write_plugin("fine", 'run = "echo ok > $GT_TOWN/fine.txt"\n[gate]\ntype = "cooldown"\nduration = "1h"\n'
                 '[sandbox]\nwrites = ["fine.txt"]')
    step = gt("deacon", "plugins")
    lines = step.stdout.splitlines()
    assert f"{bad}: gate.duration: expected `str`, got `int`" in lines
    assert any(line.startswith("plugin fine: run hq-wisp-") for line in lines)
    _closed_runs(town, "fine", 1)
    assert (town_root / "fine.txt").read_text() == "ok\n"
    listed = gt("plugin", "list").stdout
    assert f"BROKEN: {bad}: gate.duration" in listed and "fine" in listed
    shown = gt("plugin", "show", "broken", check=False)
    assert shown.returncode == 1
    assert shown.stderr == f"gt: error: {bad}: gate.duration: expected `str`, got `int`\n"
    unknown = gt("plugin", "run", "nope", check=False)
    assert unknown.returncode == 1 and unknown.stderr.startswith("gt: error: no plugin 'nope'")


def test_timeouts_kill_the_command_and_plugins_without_a_command_are_skipped(town, write_plugin):
    """The dog's side without a session: execute a run bead directly (what gt plugin exec does)."""
    from gastown_server.town import dogs

    dogs.add(town, "beta", actor="overseer")
    write_plugin("hangs", 'run = "sleep 30 & sleep 30"\n[execution]\ntimeout = "1s"')
    write_plugin("thinks", 'description = "needs a mind"')
    hangs = plugin_runs.create_run(town, plugins.load(town.root, "hangs"), "deacon/dogs/beta", actor="deacon")
    started = time.monotonic()
    res = plugin_runs.execute(town, hangs, actor="deacon/dogs/beta")
    assert time.monotonic() - started < 5
    assert res.result == "failure" and res.mail
    assert town.ledger.get(hangs).close_reason.startswith("failure: timed out after 1s")
    thinks = plugin_runs.create_run(town, plugins.load(town.root, "thinks"), "deacon/dogs/beta", actor="deacon")
    res = plugin_runs.execute(town, thinks, actor="deacon/dogs/beta")
    assert res.result == "skipped" and "result:skipped" in town.ledger.labels(thinks)
    assert dogs.status(town)[0].state == "idle"


def test_the_patrolling_deacon_dispatches_plugins_by_itself(gt, town, town_root, write_plugin):
    """End to end: a live script Deacon's patrol runs `gt deacon plugins`; nobody else drives."""
    from gastown_server.town import config as town_config
    from gastown_server.town.lifecycle import start_agent

    cfg = town_config.load(town_root)
    cfg.patrol.interval_s, cfg.patrol.max_backoff_s = 0.5, 1.0
    town_config.save(town_root, cfg)
    town.reload_config()
    write_plugin("stamp", 'run = "date +%s%N >> $GT_TOWN/stamps.txt"\n[gate]\ntype = "cooldown"\nduration = "1s"\n'
                 '[sandbox]\nwrites = ["stamps.txt"]')
    start_agent(town, "deacon", actor="overseer")
    stamps = town_root / "stamps.txt"
    wait_for(lambda: stamps.exists() and len(stamps.read_text().split()) >= 2, timeout=40, step=0.2,
             what="the Deacon's patrol dispatching the plugin twice")  # fmt: skip
    done = _closed_runs(town, "stamp", 2)  # the dog records a result just after its command wrote the stamp
    assert len(done) >= 2 and all(r.result == "success" and r.assignee == "deacon/dogs/alpha" for r in done)
    # Cooldown respected: each run was made at least 1 s after the previous one finished.
    for before, after in zip(done, done[1:]):
        gap = (clock.parse(after.created_at) - clock.parse(before.closed_at)).total_seconds()
        assert gap >= 1.0, (before, after)


def test_a_dog_that_did_the_work_itself_records_the_result(gt, town, write_plugin):
    """An LLM dog follows the instructions (no `run`) and closes the run with gt plugin record."""
    from gastown_server.town import dogs

    dogs.add(town, "gamma", actor="overseer")
    write_plugin("review", 'description = "read the logs"', "Read the daemon log and report anomalies.\n")
    run = plugin_runs.create_run(town, plugins.load(town.root, "review"), "deacon/dogs/gamma", actor="deacon")
    bead = town.ledger.get(run)
    assert "Read the daemon log" in bead.description and "gt plugin record" in bead.description
    assert json.loads(bead.metadata)["run"] == f"gt plugin exec {run}"
    dog_env = {"BD_ACTOR": "deacon/dogs/gamma"}
    out = gt("plugin", "record", run, "failure", "-m", "log has 3 tracebacks", env=dog_env).stdout
    assert f"run {run} failure; mailed the Deacon" in out
    assert town.ledger.get(run).notes == "log has 3 tracebacks"
    assert town.ledger.get(run).close_reason == "failure (recorded by deacon/dogs/gamma)"
    [msg] = [m for m in mail.unread(town.ledger, "deacon") if m.subject == "PLUGIN_FAILED review"]
    assert "log has 3 tracebacks" in msg.body and msg.sender == "deacon/dogs/gamma"

    for argv, expected in [
        (("plugin", "record", run, "success"), f"gt: error: plugin run {run} is already closed (result failure)"),
        (("plugin", "exec", run), f"gt: error: plugin run {run} is already closed (result failure)"),
        (("plugin", "exec", "hq-nope"), "gt: error: no plugin run 'hq-nope'"),
        (("plugin", "exec", "hq-mayor"), "gt: error: hq-mayor is not a plugin run (no plugin-run label)"),
        (("plugin", "record", run, "great"), "gt: error: argument result: invalid choice: 'great'"),
    ]:
        proc = gt(*argv, check=False, env=dog_env)
        assert proc.returncode == 1, argv
        assert proc.stderr.startswith(expected), proc.stderr
        assert proc.stderr.count("\n") == 1


def test_racing_dispatchers_make_one_run(town, town_root, write_plugin):
    """Three `gt plugin run` processes at once on a town with no dog yet: one run, one dog."""
    import os
    import subprocess

    from town_helpers import GT

    from gastown_server.town import dogs

    write_plugin("once", 'run = "sleep 1"')
    procs = [subprocess.Popen([*GT, "plugin", "run", "once"], cwd=town_root, env=dict(os.environ), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]  # fmt: skip
    results = [(p.wait(timeout=60), p.stdout.read(), p.stderr.read()) for p in procs]
    assert sorted(code for code, _, _ in results) == [0, 1, 1], results
    for code, out, err in results:
        if code:
            assert "already has an open run" in err and err.count("\n") == 1, err
    assert len(_runs(town, "once")) == 1
    assert [d.name for d in dogs.status(town)] == ["alpha"]
    _closed_runs(town, "once", 1)
