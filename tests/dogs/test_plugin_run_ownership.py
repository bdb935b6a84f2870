"""A plugin run belongs to one execution at a time and never outlives its dog: a stopped dog's
command is killed, two execs of one run run it once, a stranded run is picked up again.

Real town, real tmux (throwaway socket), real `gt`, the real ledger."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from town_helpers import GT, pids_running, wait_for

from gastown_server.patrol import plugin_runs, plugins


def test_a_stopped_dog_leaves_no_plugin_command_behind(gt, town, town_root, write_plugin, unique_sleep):
    write_plugin("slow", f'run = "echo start >> $GT_TOWN/log.txt; {unique_sleep}"\n[gate]\ntype = "manual"\n'
                 '[sandbox]\nwrites = ["log.txt"]')
    assert "(started)" in gt("plugin", "run", "slow").stdout
    wait_for(lambda: pids_running(unique_sleep), timeout=30, step=0.1, what="the plugin command running")
    gt("dog", "stop", "alpha")
    wait_for(lambda: not pids_running(unique_sleep), timeout=10, step=0.1, what="the command killed with its dog")


def test_two_execs_of_one_run_run_the_command_once(town, town_root, write_plugin):
    from gastown_server.town import dogs

    dogs.add(town, "alpha", actor="overseer")
    write_plugin("once", 'run = "echo ran >> $GT_TOWN/once.txt; sleep 1"\n[sandbox]\nwrites = ["once.txt"]')
    run = plugin_runs.create_run(town, plugins.load(town_root, "once"), "deacon/dogs/alpha", actor="deacon")
    env = dict(os.environ, BD_ACTOR="deacon/dogs/alpha")
    procs = [subprocess.Popen([*GT, "plugin", "exec", run], cwd=town_root, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]  # fmt: skip
    results = sorted((p.wait(timeout=60), p.stdout.read(), p.stderr.read()) for p in procs)
    assert [code for code, _, _ in results] == [0, 1], results
    err = results[1][2]
    assert err.startswith(f"gt: error: plugin run {run} is already being run by ") and err.count("\n") == 1, err
    assert (town_root / "once.txt").read_text() == "ran\n"
    assert "result:success" in town.ledger.labels(run) and town.ledger.get(run).status == "closed"


def test_a_stopped_dogs_run_is_picked_up_again_by_the_plugins_step(gt, town, town_root, write_plugin, unique_sleep):
    """The dog is stopped mid-run (its command killed): the Deacon's step releases the dead claim
    and starts the dog again, which runs the plugin to the end."""
    from gastown_server.town import dogs

    log = town_root / "log.txt"
    write_plugin("slow", f'run = "echo start >> $GT_TOWN/log.txt; [ $(wc -l < $GT_TOWN/log.txt) -gt 1 ] || '
                         f'{unique_sleep}; echo end"\n[gate]\ntype = "manual"\n[sandbox]\nwrites = ["log.txt"]')  # fmt: skip
    gt("plugin", "run", "slow")
    wait_for(lambda: pids_running(unique_sleep), timeout=30, step=0.1, what="the plugin command running")
    gt("dog", "stop", "alpha")
    [run] = [r for r in plugins.runs(town.ledger, "slow") if r.open]
    assert not dogs.status(town)[0].alive and dogs.status(town)[0].state == "working"
    step = gt("deacon", "plugins").stdout
    assert f"plugin run {run.id}: dog deacon/dogs/alpha started again" in step, step
    wait_for(lambda: town.ledger.get(run.id).status == "closed", timeout=30, step=0.1, what="the run finished")
    assert "result:success" in town.ledger.labels(run.id) and town.ledger.get(run.id).notes == "end"
    assert log.read_text() == "start\nstart\n"


def test_an_overdue_run_without_a_live_dog_is_abandoned(town, town_root, write_plugin):
    """A run still claimed past its timeout + grace while its dog has no session ends ``abandoned``
    so the plugin can be dispatched again."""
    from gastown_server.town import dogs

    dogs.add(town, "beta", actor="overseer")
    write_plugin("quick", 'run = "true"\n[execution]\ntimeout = "1s"')
    plugin = plugins.load(town_root, "quick")
    run = plugin_runs.create_run(town, plugin, "deacon/dogs/beta", actor="deacon")
    plugin_runs.claim(town, run, actor="deacon/dogs/beta")  # a live claimer (us) on a dog with no session
    early = plugin_runs.dispatch_due(town, stranded_grace_s=30)
    assert not any("abandoned" in line for line in early.actions), early.actions
    time.sleep(1.2)
    report = plugin_runs.dispatch_due(town, stranded_grace_s=0)
    assert f"plugin run {run}: abandoned (open past its 1s timeout, deacon/dogs/beta has no live session)" in report.actions
    assert town.ledger.get(run).status == "closed" and "result:abandoned" in town.ledger.labels(run)
    assert dogs.status(town)[0].state == "idle"
    plugin_runs.check_dispatchable(town.ledger, plugin)  # dispatchable again


def test_a_run_is_never_made_for_a_working_or_removed_dog(town, town_root, write_plugin):
    """create_run re-checks the dog picked outside its transaction; dispatch then picks again."""
    from gastown_server.town import dogs

    dogs.add(town, "alpha", actor="overseer")
    dogs.add(town, "beta", actor="overseer")
    write_plugin("a", 'run = "true"')
    write_plugin("b", 'run = "true"')
    write_plugin("c", 'run = "true"')
    first = plugin_runs.create_run(town, plugins.load(town_root, "a"), "deacon/dogs/alpha", actor="deacon")
    plugin_runs.claim(town, first, actor="deacon/dogs/alpha")  # in progress still counts as working
    with pytest.raises(plugin_runs.DogTaken, match="dog deacon/dogs/alpha is already working"):
        plugin_runs.create_run(town, plugins.load(town_root, "b"), "deacon/dogs/alpha", actor="deacon")
    with pytest.raises(plugin_runs.DogTaken, match="dog deacon/dogs/gamma no longer exists"):
        plugin_runs.create_run(town, plugins.load(town_root, "b"), "deacon/dogs/gamma", actor="deacon")
    assert [r.plugin for r in plugins.runs(town.ledger)] == ["a"]
    assert {d.name: d.state for d in dogs.status(town)} == {"alpha": "working", "beta": "idle"}

    # A dog removed between the pick and the run: dispatch picks the next idle one.
    town.ledger.purge(["hq-dog-beta"], actor="overseer")  # what gt dog remove commits
    with pytest.raises(plugin_runs.DogTaken, match="no longer exists"):
        plugin_runs.create_run(town, plugins.load(town_root, "c"), "deacon/dogs/beta", actor="deacon")


def test_removing_a_dog_sees_work_in_progress(gt, town, town_root, write_plugin):
    from gastown_server.town import dogs

    dogs.add(town, "alpha", actor="overseer")
    write_plugin("a", 'run = "true"')
    run = plugin_runs.create_run(town, plugins.load(town_root, "a"), "deacon/dogs/alpha", actor="deacon")
    plugin_runs.claim(town, run, actor="deacon/dogs/alpha")
    busy = gt("dog", "remove", "alpha", check=False)
    assert busy.returncode == 1 and f"is working ({run} on its hook)" in busy.stderr and busy.stderr.count("\n") == 1
    assert town.ledger.exists("hq-dog-alpha")
    gt("dog", "remove", "alpha", "--force")
    assert not town.ledger.exists("hq-dog-alpha")
    assert town.ledger.get(run).status == "closed" and "result:abandoned" in town.ledger.labels(run)


def test_concurrent_dispatches_of_two_plugins_use_two_dogs(gt, town, town_root, write_plugin):
    from gastown_server.town import dogs

    gt("dog", "add", "alpha")
    gt("dog", "add", "beta")
    for name in "ab":
        write_plugin(name, 'run = "sleep 2"')
    procs = [subprocess.Popen([*GT, "plugin", "run", n], cwd=town_root, env=dict(os.environ), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for n in "ab"]  # fmt: skip
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    assert [code for code, _ in results] == [0, 0], results
    assignees = sorted(r.assignee for r in plugins.runs(town.ledger))
    assert assignees == ["deacon/dogs/alpha", "deacon/dogs/beta"], assignees
    wait_for(lambda: all(d.state == "idle" for d in dogs.status(town)), timeout=30, step=0.1, what="both runs done")
