"""`gt sling` on a real town: tmux on a throwaway socket, real git, real ledger, script runtime."""

from __future__ import annotations

import json
import subprocess
import sys

import msgspec
import pytest
from town_helpers import transcript, wait_for

from gastown_server.formulas import molecule
from gastown_server.town import polecats
from gastown_server.town.lifecycle import sessions_of, start_agent
from gastown_server.work import convoys, hooks, mail, polecat_cleanup
from gastown_server.work.merge_requests import rig_ref
from gastown_server.work.sling import sling

RIG, PREFIX = "proj", "pj"  # the rig fixture (tests/lifecycle/conftest.py)


def sling_json(gt, *argv, **kw):
    return json.loads(gt("sling", *argv, "--json", **kw).stdout)


def branch_of(path) -> str:
    return subprocess.run(["git", "-C", str(path), "branch", "--show-current"], capture_output=True, text=True).stdout.strip()


def meta(bead) -> dict:
    return msgspec.json.decode(bead.metadata) if bead.metadata else {}


def tmux_sessions(socket) -> list[str]:
    proc = subprocess.run(["tmux", "-L", socket, "list-sessions", "-F", "#{session_name}"], capture_output=True, text=True)
    return sorted(proc.stdout.split()) if proc.returncode == 0 else []


def fresh(town):
    """Re-read what other processes wrote (a new connection sees the latest commit)."""
    town.close()
    return town.ledger


def test_sling_to_rig_spawns_a_polecat_on_its_own_branch(gt, town, rig, new_bead, socket_name):
    bead = new_bead("Fix the flux capacitor")
    res = sling_json(gt, bead, RIG)
    assert res["polecat"] == "furiosa" == polecats.NAMES[0]
    assert res["target"] == res["agent"] == f"{RIG}/polecats/furiosa"
    assert res["branch"] == f"polecat/furiosa/{bead}" and res["session"] == f"{PREFIX}-furiosa"
    assert res["session_status"] == "started" and res["convoy_created"] is True
    worktree = town.root / RIG / "polecats" / "furiosa"
    assert res["worktree"] == str(worktree) and branch_of(worktree) == f"polecat/furiosa/{bead}"

    ledger = fresh(town)
    issue = ledger.get(bead)
    assert issue.status == "hooked" and issue.assignee == f"{RIG}/polecats/furiosa"
    # the molecule: mol-polecat-work poured for this issue, recorded in its metadata, assigned to the polecat
    root = ledger.get(meta(issue)["molecule"])
    assert root.id == res["molecule"] and root.issue_type == "molecule" and root.assignee == res["target"]
    assert molecule.meta_of(root)["formula"] == "mol-polecat-work"
    assert molecule.meta_of(root)["vars"]["issue"] == bead
    # wrapped in a convoy titled after it
    tree = convoys.tree(ledger, res["convoy"])
    assert [t.id for t in tree.tracked] == [bead] and tree.convoy.title == "Fix the flux capacitor"
    # the polecat's identity: agent bead running, hook mirrored, one session started
    agent = ledger.get(f"{PREFIX}-polecat-furiosa")
    assert agent.agent_state == "running" and agent.hook_bead == bead
    assert f"{PREFIX}-furiosa" in tmux_sessions(socket_name)
    wait_for(lambda: f"walking molecule {res['molecule']}" in transcript(town.root, f"{PREFIX}-furiosa"), timeout=20,
             what="the polecat walks its molecule")  # fmt: skip
    kinds = [r[0] for r in ledger.conn.execute("SELECT kind FROM events WHERE bead_id = ? ORDER BY id", (bead,))]
    assert "hooked" in kinds and kinds.count("slung") == 1

    # a second sling gets the next name, its own worktree and branch
    other = new_bead("Polish the chrome")
    res2 = sling_json(gt, other, RIG, "--no-start")
    assert res2["polecat"] == "nux" and res2["branch"] == f"polecat/nux/{other}"
    assert res2["session_status"] == "not-started" and f"{PREFIX}-nux" not in tmux_sessions(socket_name)
    assert branch_of(town.root / RIG / "polecats" / "nux") == f"polecat/nux/{other}"
    text = gt("sling", new_bead("Third thing"), RIG, "--no-start").stdout
    assert "to polecat slit (proj/polecats/slit)" in text and "new convoy" in text


def test_concurrent_slings_never_share_a_name(gt, town, rig, new_bead):
    from town_helpers import GT

    beads = [new_bead(f"Parallel job {i}") for i in range(4)]
    procs = [
        subprocess.Popen([*GT, "sling", b, RIG, "--no-start", "--json"], cwd=town.root, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for b in beads
    ]  # fmt: skip
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    names = [json.loads(o[0])["polecat"] for o in outs]
    assert sorted(names) == sorted(polecats.NAMES[:4])
    ledger = fresh(town)
    assert sorted(ledger.get(b).assignee for b in beads) == sorted(f"{RIG}/polecats/{n}" for n in names)


def test_names_come_back_after_cleanup(gt, town, rig, new_bead, socket_name):
    first = sling_json(gt, new_bead("Job A"), RIG, "--no-start")
    second = sling_json(gt, new_bead("Job B"), RIG, "--no-start")
    assert (first["polecat"], second["polecat"]) == ("furiosa", "nux")
    ledger = fresh(town)
    assert "worktree" in polecats.busy_reason(town, rig, "furiosa")
    # furiosa's work is finished (closed) and the Witness cleans up: worktree gone, no session
    ledger.close(first["bead"], actor="overseer", reason="done")
    polecat_cleanup.nuke(ledger, rig_ref(rig), worktree=first["worktree"], actor=f"{RIG}/witness")
    assert not (town.root / RIG / "polecats" / "furiosa").exists()
    assert polecats.busy_reason(town, rig, "furiosa") == ""
    third = sling_json(gt, new_bead("Job C"), RIG, "--no-start")
    assert third["polecat"] == "furiosa" and third["branch"] == f"polecat/furiosa/{third['bead']}"
    # the identity persists across incarnations: one agent bead, its history kept
    assert ledger.get(f"{PREFIX}-polecat-furiosa").title == f"{RIG}/polecats/furiosa"

    # what else keeps a name: a live session, or work still in progress on it (waiting for a merge)
    ident = town.identity(f"{RIG}/polecats/furiosa")
    start_agent(town, ident, actor="overseer")
    assert "session" in polecats.busy_reason(town, rig, "slit", live={f"{PREFIX}-slit"})
    ledger.update(second["bead"], actor="test", status="in_progress")
    polecat_cleanup.nuke(ledger, rig_ref(rig), worktree=second["worktree"], actor=f"{RIG}/witness")
    assert not (town.root / RIG / "polecats" / "nux").exists()
    assert "in_progress" in polecats.busy_reason(town, rig, "nux")
    assert sling_json(gt, new_bead("Job D"), RIG, "--no-start")["polecat"] == "slit"
    assert len(sessions_of(town, ident)) == 1


def test_sling_to_a_named_polecat_without_a_session_starts_it(gt, town, rig, new_bead, socket_name):
    first = sling_json(gt, new_bead("Job A"), RIG, "--no-start")
    ledger = fresh(town)
    ledger.close(first["bead"], actor="overseer", reason="done")
    polecat_cleanup.nuke(ledger, rig_ref(rig), worktree=first["worktree"], actor=f"{RIG}/witness")
    bead = new_bead("Job B")
    res = sling_json(gt, bead, f"{RIG}/polecats/{first['polecat']}")
    assert res["target"] == f"{RIG}/polecats/{first['polecat']}" and res["session_status"] == "started"
    assert f"{PREFIX}-{first['polecat']}" in tmux_sessions(socket_name)
    worktree = town.root / RIG / "polecats" / first["polecat"]
    branch = subprocess.run(["git", "-C", str(worktree), "branch", "--show-current"], capture_output=True, text=True)
    assert branch.stdout.strip() == f"polecat/{first['polecat']}/{bead}"


def test_agent_targets_and_own_hook(gt, town, rig, new_bead, socket_name):
    start_agent(town, "mayor")
    wait_for(lambda: "ready for input" in transcript(town.root, "hq-mayor"), what="mayor up")
    bead = new_bead("Plan the sprint")
    res = sling_json(gt, bead, "mayor/")
    assert res["target"] == "mayor" and res["polecat"] == "" and res["worktree"] == "" and res["molecule"] == ""
    assert res["session_status"] in ("nudged", "queued")
    ledger = fresh(town)
    assert hooks.hooked_work(ledger, "mayor")[0].id == bead and ledger.get("hq-mayor").hook_bead == bead
    wait_for(lambda: f"[mayor] got: hook {bead}" in transcript(town.root, "hq-mayor"), timeout=20, what="nudge arrives")

    # a crew member whose session is not running: hooked, not started
    gt("crew", "add", "max")
    res = sling_json(gt, new_bead("Crew job"), f"{RIG}/crew/max")
    assert res["target"] == f"{RIG}/crew/max" and res["session_status"] == "idle"
    assert f"{PREFIX}-crew-max" not in tmux_sessions(socket_name)

    # no target: the actor's own hook
    res = sling_json(gt, new_bead("Self-assigned"), env={"BD_ACTOR": f"{RIG}/crew/max"})
    assert res["target"] == f"{RIG}/crew/max" and res["convoy_created"]

    # a formula: poured, its molecule root slung; the mayor walks it and closes it
    (town.root / "formulas" / "tidy.formula.toml").write_text(
        'formula = "tidy"\nversion = 1\n[vars.what]\nrequired = true\n'
        '[[steps]]\nid = "say"\ntitle = "Say {{what}}"\nrun = "echo tidying {{what}}"\n'
    )
    res = sling_json(gt, "tidy", "mayor", "--var", "what=desk")
    assert res["formula"] == "tidy" and res["molecule"] == res["bead"]
    wait_for(lambda: "tidying desk" in transcript(town.root, "hq-mayor"), timeout=20, what="mayor walks the formula")
    wait_for(lambda: fresh(town).get(res["bead"]).status == "closed", timeout=20, what="formula molecule closed")
    assert convoys.tree(town.ledger, res["convoy"]).landed


def ledger_state(bd, town) -> tuple[str, int]:
    dump = bd("export", "--include-ephemeral").stdout
    events = fresh(town).conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    return dump, events


def test_bad_input_is_one_line_and_changes_nothing(gt, bd, town, rig, new_bead, socket_name):
    hooked = new_bead("Already slung")
    sling_json(gt, hooked, RIG, "--no-start")
    closed = new_bead("Finished work")
    bd("close", closed)
    message = mail.send(fresh(town), "mayor", "Hello", "body", actor="overseer").id
    plain = new_bead("Plain work")
    cases = [
        (("hq-nope", RIG), "no bead or formula 'hq-nope'"),
        ((closed, RIG), f"{closed} is closed"),
        ((hooked, RIG), f"{hooked} is already on {RIG}/polecats/furiosa's hook"),
        ((hooked, "mayor"), "already on"),
        ((message, "mayor"), "is a message, not work"),
        ((plain, "nowhere"), "no rig or agent 'nowhere'"),
        ((plain, "nowhere/crew/x"), "no rig 'nowhere'"),
        ((plain, f"{RIG}/crew/ghost"), "no crew 'ghost'"),
        ((plain, f"{RIG}/polecats/ghost"), "no polecat 'ghost'"),
        ((plain, f"{RIG}/polecats/furiosa"), "already has work"),  # one bead per polecat and branch
        ((plain, f"{RIG}/a/b/c"), "bad agent address"),
        ((plain, "a//b"), "bad agent address"),
        ((plain, "Bad Name!"), "bad target"),
        ((plain, f"{RIG}/crew/Bad_Name"), "bad crew name"),
        ((plain, "boot"), "boot cannot take work"),
        ((plain,), "the overseer has no hook"),
        ((plain, "mayor", "--var", "x=1"), "--var is for a formula"),
        (("tidy-missing", RIG), "no bead or formula 'tidy-missing'"),
        (("mol-polecat-work", RIG), "issue"),  # a formula whose required variable is missing
        ((plain, RIG, "--var", "novalue"), "NAME=VALUE"),
    ]
    before = ledger_state(bd, town)
    tree_before = sorted(p.name for p in (town.root / RIG / "polecats").iterdir())
    sessions_before = tmux_sessions(socket_name)
    for argv, needle in cases:
        proc = gt("sling", *argv, check=False)
        assert proc.returncode == 1, (argv, proc.stdout, proc.stderr)
        assert proc.stderr.startswith("gt: error: ") and proc.stderr.count("\n") == 1, (argv, proc.stderr)
        assert needle in proc.stderr, (argv, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert ledger_state(bd, town) == before
    assert sorted(p.name for p in (town.root / RIG / "polecats").iterdir()) == tree_before
    assert tmux_sessions(socket_name) == sessions_before


def test_failed_session_start_keeps_the_hook(town, rig, new_bead, monkeypatch, socket_name):
    from gastown_server.errors import Unavailable

    bead = new_bead("Needs a runtime")
    town.config.role_agents["polecat"] = "missing-runtime"  # not configured: start_agent refuses
    with pytest.raises(Unavailable) as err:
        sling(town, bead, RIG, actor="mayor")
    msg = err.value.message
    assert "session did not start" in msg and "the hook stays" in msg and "\n" not in msg
    issue = fresh(town).get(bead)
    assert issue.status == "hooked" and issue.assignee == f"{RIG}/polecats/furiosa"
    assert town.ledger.get(f"{PREFIX}-polecat-furiosa").agent_state == "running"  # the daemon revives it
    assert (town.root / RIG / "polecats" / "furiosa").is_dir()


SCRIPT = "```gt-script\nsed -i 's/^line 2.*/&, {who}/' shared.txt\n```\n"


@pytest.mark.slow
def test_script_polecat_works_through_merge_and_rework(gt, town, rig, new_bead, socket_name):
    """Two polecats edit the same line: the first merges, the second is asked for rework and redoes it."""
    a = new_bead("Line two by A", SCRIPT.format(who="A"))
    b = new_bead("Line two by B", SCRIPT.format(who="B"))
    convoy = convoys.create(town.ledger, "Both lines", [a, b], actor="mayor").id
    ra, rb = sling_json(gt, a, RIG), sling_json(gt, b, RIG)
    assert ra["convoy"] == rb["convoy"] == convoy and not ra["convoy_created"]
    sa, sb = ra["session"], rb["session"]
    for bead, session in ((a, sa), (b, sb)):
        wait_for(lambda: f"done: {bead} is in_progress" in transcript(town.root, session), timeout=60,
                 what=f"{session} submits {bead}")  # fmt: skip
    ledger = fresh(town)
    # after gt done the issues wait for the merge: not closed, the convoy has not landed
    assert ledger.get(a).status == ledger.get(b).status == "in_progress"
    assert not convoys.tree(ledger, convoy).landed

    assert "merged" in gt("refinery", "process-next", "--rig", RIG).stdout
    ledger = fresh(town)
    # whichever submitted first merged first (queue order); the other now conflicts
    (first, _), (second, r2) = sorted(((a, ra), (b, rb)), key=lambda x: ledger.get(x[0]).status != "closed")
    assert ledger.get(first).status == "closed" and ledger.get(second).status == "in_progress"
    assert "rework" in gt("refinery", "process-next", "--rig", RIG).stdout
    ledger = fresh(town)
    assert ledger.get(second).status == "hooked" and ledger.get(second).assignee == r2["target"]
    assert any(m.subject.startswith("REWORK_REQUEST") for m in mail.inbox(ledger, r2["target"]))
    first_mol = meta(ledger.get(second))["molecule"]

    # the Witness (here: us) nudges the polecat; it pours a fresh molecule and redoes the work
    gt("nudge", r2["target"], "check hook", "--idle", "0")
    wait_for(lambda: "rework:" in transcript(town.root, r2["session"]), timeout=30, what="rework starts")
    wait_for(lambda: transcript(town.root, r2["session"]).count(f"done: {second} is in_progress") == 2, timeout=60,
             what="resubmitted")  # fmt: skip
    ledger = fresh(town)
    m = meta(ledger.get(second))
    assert m["molecule"] != first_mol and m["molecules"] == [first_mol]
    assert not convoys.tree(ledger, convoy).landed
    assert "merged" in gt("refinery", "process-next", "--rig", RIG).stdout
    ledger = fresh(town)
    assert ledger.get(second).status == "closed"
    assert convoys.tree(ledger, convoy).landed
    who = {a: "A", b: "B"}
    shared = subprocess.run(["git", "-C", rig.repo, "show", "main:shared.txt"], capture_output=True, text=True).stdout
    assert f"line 2, {who[first]}, {who[second]}\n" in shared


def test_rpc_sling_as_the_editors_call_it(town, rig, new_bead, socket_name):
    """Emacs and VS Code send {bead|formula, target}; they read target/agent and convoy back."""
    import os

    from gastown_server.rpc.client import Client
    from gastown_server.rpc.errors import RpcError

    bead = new_bead("From the editor")
    c = Client.spawn(town=town.root, env=dict(os.environ), stderr=subprocess.DEVNULL)
    try:
        c.initialize(actor="mayor")
        res = c.call("sling", {"bead": bead, "target": RIG})
        assert res["agent"] == res["target"] == f"{RIG}/polecats/furiosa" and res["convoy"]
        assert res["branch"] == f"polecat/furiosa/{bead}" and res["session_status"] == "started"
        res = c.call("sling", {"formula": "mol-polecat-work", "target": "mayor", "vars": {"issue": bead}, "no_start": True})
        assert res["formula"] == "mol-polecat-work" and res["target"] == "mayor" and res["convoy_created"]
        other = new_bead("Other")
        # Only what the editor's actor did counts: the polecat slung above is running and writes its own events.
        count = "SELECT COUNT(*) FROM events WHERE actor = 'mayor'"
        before = fresh(town).conn.execute(count).fetchone()[0]
        assert before >= 2  # the two slings above were the editor's
        for params, needle in (
            ({"bead": bead, "target": RIG}, "already on"),
            ({"bead": "hq-nope", "target": RIG}, "no bead 'hq-nope'"),
            ({"formula": bead, "target": RIG}, "no formula"),
            ({"bead": bead, "formula": "x"}, "exactly one"),
            ({"bead": other, "target": "a//b"}, "bad agent address"),
            ({"bead": other, "target": f"{RIG}/polecats/furiosa"}, "already has work"),
        ):
            with pytest.raises(RpcError) as err:
                c.call("sling", params)
            assert needle in err.value.message and "\n" not in err.value.message
        assert fresh(town).conn.execute(count).fetchone()[0] == before
        assert fresh(town).get(other).status == "open"
    finally:
        c.close()
