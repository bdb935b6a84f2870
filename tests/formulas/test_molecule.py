"""Molecules in the real ledger: pour, wisp, walk, crash-resume, gates, squash, burn."""

import pytest

from gastown_server.beads import readiness
from gastown_server.beads.store import Ledger
from gastown_server.errors import Conflict
from gastown_server.formulas import molecule, search
from gastown_server.formulas.cook import cook, loader_for
from gastown_server.formulas.errors import FormulaError


def _proto(name, **vars_):
    return cook(search.load(name), vars_, load=loader_for())


def _assert_blocked_cache_exact(ledger):
    """The incrementally kept is_blocked equals a full rebuild."""
    before = dict(ledger.conn.execute("SELECT id, is_blocked FROM issues"))
    with ledger.atomic():
        readiness.rebuild(ledger.conn)
        after = dict(ledger.conn.execute("SELECT id, is_blocked FROM issues"))
        ledger.conn.execute("SELECT 1")
    assert before == after


def test_pour_builds_root_steps_and_dependencies(ledger):
    events = ledger.last_event_id()
    root = molecule.pour(ledger, _proto("mol-polecat-work", issue="bd-1"), actor="gt/polecats/ace", assignee="gt/polecats/ace")
    assert ledger.last_event_id() == events + 1  # one transaction, one event
    ev = ledger.events_since(events)[0]
    assert ev.kind == "molecule_poured" and ev.bead_id == root.id
    assert root.issue_type == "molecule" and not root.ephemeral and root.mol_type == "work"
    meta = molecule.meta_of(root)
    assert meta["formula"] == "mol-polecat-work" and meta["vars"] == {"issue": "bd-1", "base_branch": "main"}
    steps = molecule.steps(ledger, root.id)
    assert [s.id for s in steps] == [f"{root.id}.{i}" for i in range(1, 7)]
    assert all(s.parent == root.id for s in steps)
    deps = {(d.issue_id, d.depends_on_id, d.type) for s in steps for d in ledger.dependencies(s.id)}
    assert (f"{root.id}.2", f"{root.id}.1", "blocks") in deps
    assert (f"{root.id}.1", root.id, "parent-child") in deps
    assert molecule.meta_of(steps[0])["run"] == "bd show bd-1"
    assert [b.id for b in ledger.children(root.id)] == [s.id for s in steps]
    assert [s.id for s in ledger.ready(parent=root.id)] == [f"{root.id}.1"]
    _assert_blocked_cache_exact(ledger)
    # A new child created the ordinary way continues the numbering.
    extra = ledger.create("follow-up", actor="t", parent=root.id)
    assert extra.id == f"{root.id}.7"
    assert molecule.molecules_of(ledger, "gt/polecats/ace")[0].id == root.id


def test_wisp_is_ephemeral_with_wisp_id(ledger):
    root = molecule.pour(ledger, _proto("mol-deacon-patrol"), actor="deacon", wisp=True)
    assert root.id.startswith("bd-wisp-") and root.ephemeral and root.wisp_type == "patrol"
    assert all(s.ephemeral for s in molecule.steps(ledger, root.id))
    assert ledger.ready() == []  # wisps are not ready work unless asked
    assert len(ledger.ready(include_ephemeral=True, parent=root.id)) == 1


def test_walk_step_by_step_and_resume_from_a_new_connection(ledger, tmp_path):
    root = molecule.pour(ledger, _proto("mol-polecat-work", issue="bd-9"), actor="p")
    order = []
    for _ in range(3):
        (cur,) = molecule.current(ledger, root.id)
        order.append(cur.id)
        ledger.close(cur.id, actor="p")
    # The session "crashes"; a new one opens the ledger and asks where we are.
    other = Ledger(tmp_path / "ledger.db")
    (cur,) = molecule.current(other, root.id)
    assert cur.id == f"{root.id}.4" and molecule.meta_of(cur)["step"] == "test"
    assert molecule.progress(other, root.id).closed == 3
    with pytest.raises(Conflict):
        other.close(order[0], actor="p")  # closed exactly once
    while True:
        cur = molecule.current(other, root.id)
        if not cur:
            break
        for b in cur:
            other.close(b.id, actor="p")
    p = molecule.progress(other, root.id)
    assert p.complete and p.closed == p.total == 6
    assert molecule.finish(other, root.id, actor="p") is None  # no squash section
    assert other.get(root.id).status == "closed"
    other.disconnect()


def test_parallel_legs_are_current_together(ledger):
    root = molecule.pour(ledger, _proto("code-review", subject="pr-1"), actor="mayor")
    cur = molecule.current(ledger, root.id)
    assert len(cur) == 5
    for b in cur[:4]:
        ledger.close(b.id, actor="x")
    assert len(molecule.current(ledger, root.id)) == 1
    ledger.close(cur[4].id, actor="x")
    (syn,) = molecule.current(ledger, root.id)
    assert molecule.meta_of(syn)["step"] == "synthesis"
    _assert_blocked_cache_exact(ledger)


def test_containers_wait_for_their_children(ledger):
    root = molecule.pour(ledger, _proto("release", version="2.0.0"), actor="m")
    (freeze,) = molecule.current(ledger, root.id)
    ledger.close(freeze.id, actor="m")
    cur = molecule.current(ledger, root.id)
    assert [b.id for b in cur] == [f"{root.id}.2.1", f"{root.id}.2.2", f"{root.id}.2.3"]
    for b in cur:
        ledger.close(b.id, actor="m")
    (verify,) = molecule.current(ledger, root.id)
    assert verify.id == f"{root.id}.2"
    ledger.close(verify.id, actor="m")
    (gate,) = molecule.current(ledger, root.id)
    assert gate.issue_type == "gate" and gate.await_type == "human"
    # a human gate is not decided mechanically
    outcomes = molecule.advance(ledger, root.id, actor="m", close_prose=True)
    assert outcomes == [molecule.StepOutcome(gate.id, "waiting", "gate human")]
    _assert_blocked_cache_exact(ledger)


def _gated(fdir):
    fdir("gated", '''
        [vars.go]
        type = "bool"
        default = true
        [[steps]]
        id = "check"
        gate = { type = "conditional", condition = "{{go}}" }
        [[steps]]
        id = "work"
        needs = ["check"]
        run = "echo working > {{out}}"
        [[steps]]
        id = "more"
        needs = ["work"]
        [[steps]]
        id = "wrapup"
        needs = ["more"]
        always = true
        run = "echo wrapped >> {{out}}"
        [vars.out]
        required = true
        ''')


def test_gate_pass_runs_commands(ledger, fdir, tmp_path):
    _gated(fdir)
    out = tmp_path / "out.txt"
    root = molecule.pour(ledger, _proto("gated", out=str(out)), actor="r")
    outcomes = molecule.advance(ledger, root.id, actor="r")
    assert [o.action for o in outcomes] == ["gate-passed", "ran", "waiting"]
    assert out.read_text() == "working\n"
    outcomes = molecule.advance(ledger, root.id, actor="r", close_prose=True)
    assert [o.action for o in outcomes] == ["closed", "ran"]
    assert out.read_text() == "working\nwrapped\n"
    assert molecule.progress(ledger, root.id).complete


def test_gate_fail_skips_dependents_but_not_always_steps(ledger, fdir, tmp_path):
    _gated(fdir)
    out = tmp_path / "out.txt"
    root = molecule.pour(ledger, _proto("gated", out=str(out), go="false"), actor="r")
    outcomes = molecule.advance(ledger, root.id, actor="r")
    assert [o.action for o in outcomes] == ["gate-failed", "ran"]
    assert out.read_text() == "wrapped\n"
    reasons = {molecule.meta_of(s)["step"]: s.close_reason for s in molecule.steps(ledger, root.id)}
    assert reasons == {"check": "gate failed", "work": "skipped: needs " + f"{root.id}.1",
                       "more": "skipped: needs " + f"{root.id}.1", "wrapup": "ran: echo wrapped >> " + str(out)}
    digest = molecule.squash(ledger, root.id, actor="r")
    assert "(3 skipped)" in digest.title


def test_failed_command_leaves_step_open_with_a_comment(ledger, fdir):
    fdir("failing", '''
        [[steps]]
        id = "boom"
        run = "echo nope >&2; exit 3"
        ''')
    root = molecule.pour(ledger, _proto("failing"), actor="r")
    (o,) = molecule.advance(ledger, root.id, actor="r")
    assert o.action == "failed" and o.detail == "exit 3"
    step = ledger.get(f"{root.id}.1", full=True)
    assert step.status == "open" and "exit 3" in step.comments[0].text and "nope" in step.comments[0].text


def test_squash_wisp_leaves_only_a_digest(ledger):
    root = molecule.pour(ledger, _proto("towers-of-hanoi", disks=3), actor="w", wisp=True)
    assert [o.action for o in molecule.advance(ledger, root.id, actor="w", close_prose=True)] == ["closed"] * 7
    digest = molecule.finish(ledger, root.id, actor="w")  # [squash] trigger = on_complete
    assert digest is not None and not digest.ephemeral and digest.status == "closed"
    assert digest.title.startswith("towers-of-hanoi: 7/7 steps closed in ")
    meta = molecule.meta_of(digest)
    assert meta["steps"] == 7 and meta["closed"] == 7 and meta["vars"] == {"disks": 3}
    assert "digest" in ledger.labels(digest.id)
    assert not ledger.exists(root.id) and not ledger.exists(f"{root.id}.1")
    assert ledger.conn.execute("SELECT COUNT(*) FROM dependencies WHERE issue_id LIKE ?", (root.id + "%",)).fetchone()[0] == 0
    _assert_blocked_cache_exact(ledger)


def test_squash_poured_molecule_keeps_steps(ledger):
    root = molecule.pour(ledger, _proto("mol-boot-triage"), actor="boot")
    digest = molecule.squash(ledger, root.id, actor="boot", summary="deacon fine")
    assert digest.description == "deacon fine" and digest.title.startswith("mol-boot-triage: 0/2")
    assert ledger.get(root.id).status == "closed" and ledger.exists(f"{root.id}.1")


def test_burn(ledger):
    wisp = molecule.pour(ledger, _proto("mol-deacon-patrol"), actor="d", wisp=True)
    outside = ledger.create("waits on the wisp", actor="d", deps=[("blocks", f"{wisp.id}.1")])
    assert ledger.is_blocked(outside.id)
    assert molecule.burn(ledger, wisp.id, actor="d") == 8  # root + 7 steps (heartbeat, inbox, check-witnesses, convoys, plugins, cleanup, backoff)
    assert not ledger.exists(wisp.id) and not ledger.is_blocked(outside.id)
    poured = molecule.pour(ledger, _proto("mol-boot-triage"), actor="d")
    with pytest.raises(Conflict):
        molecule.burn(ledger, poured.id, actor="d")
    assert molecule.burn(ledger, f"{poured.id}.1", actor="d", force=True) == 3
    assert ledger.get(poured.id).status == "tombstone"
    _assert_blocked_cache_exact(ledger)


def test_burned_and_squashed_wisps_leave_one_event(ledger):
    """A patrol loops wisps forever: what it leaves in the ledger per cycle must not grow with its steps."""

    def events_about(ids):
        marks = ",".join("?" * len(ids))
        return ledger.conn.execute(f"SELECT kind FROM events WHERE bead_id IN ({marks}) ORDER BY id", ids).fetchall()

    for finish in ("burn", "squash"):
        wisp = molecule.pour(ledger, _proto("mol-deacon-patrol"), actor="d", wisp=True)
        ids = [wisp.id] + [b.id for b in molecule.steps(ledger, wisp.id)]
        for step in molecule.steps(ledger, wisp.id):
            ledger.close(step.id, actor="d", reason="done")
        assert len(events_about(ids)) >= len(ids)  # the pour and every close were recorded
        before = ledger.last_event_id()
        if finish == "burn":
            molecule.burn(ledger, wisp.id, actor="d")
            assert events_about(ids) == [("molecule_burned",)]
        else:
            digest = molecule.squash(ledger, wisp.id, actor="d")
            assert events_about(ids) == [("molecule_squashed",)] and ledger.get(digest.id).status == "closed"
        assert ledger.last_event_id() > before  # ids keep growing: cursors stay valid


def test_skip(ledger):
    root = molecule.pour(ledger, _proto("mol-witness-patrol", rig="r1"), actor="w", wisp=True)
    steps = {molecule.meta_of(s)["step"]: s.id for s in molecule.steps(ledger, root.id)}
    closed = molecule.skip(ledger, steps["sweep"], actor="w", reason="no polecats")
    assert set(closed) == {steps[k] for k in ("sweep", "nudge-stuck", "stalls", "recycle-dead", "cleanup", "backoff")}
    assert [b.id for b in molecule.current(ledger, root.id)] == [steps["inbox"]]


def test_bad_input_pours_nothing(ledger, fdir):
    before = ledger.stats()["total"], ledger.last_event_id()
    fdir("late", '''
        [[steps]]
        id = "ok"
        [[steps]]
        id = "loop"
        title = "{{i}}"
        loop = { count = 3 }
        ''')
    for make in (
        lambda: _proto("mol-polecat-work"),  # missing required variable
        lambda: _proto("towers-of-hanoi", disks="many"),
        lambda: _proto("nope"),
    ):
        with pytest.raises(FormulaError):
            molecule.pour(ledger, make(), actor="x")
    assert (ledger.stats()["total"], ledger.last_event_id()) == before


def test_root_of_rejects_plain_beads(ledger):
    bead = ledger.create("plain", actor="x")
    with pytest.raises(Exception) as exc:
        molecule.root_of(ledger, bead.id)
    assert "not a molecule" in str(exc.value)


def test_step_labels_and_assignee_are_poured(ledger, fdir):
    fdir("labelled", '''
        [vars.who]
        default = "gt/crew/max"
        [[steps]]
        id = "a"
        labels = ["area:{{who}}", "plain"]
        assignee = "{{who}}"
        [[steps]]
        id = "b"
        title = "b{{i}}"
        labels = ["n{{i}}"]
        loop = { count = 2 }
        ''')
    root = molecule.pour(ledger, _proto("labelled"), actor="x")
    assert ledger.labels(f"{root.id}.1") == ["area:gt/crew/max", "plain"]
    assert ledger.get(f"{root.id}.1").assignee == "gt/crew/max"
    assert ledger.labels(f"{root.id}.3") == ["n2"]
