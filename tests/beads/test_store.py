"""The ledger API: creation, ids, updates, dependencies, readiness, events."""

import json

import pytest

from gastown_server.beads import ids
from gastown_server.beads.store import Ledger
from gastown_server.errors import Conflict, InvalidInput, NotFound


def test_create_assigns_short_base36_ids_with_prefix(ledger):
    bead = ledger.create("First", actor="mayor")
    assert ids.ID_RE.match(bead.id)
    assert bead.id.startswith("bd-") and len(bead.id) == len("bd-") + 3
    assert bead.status == "open" and bead.priority == 2 and bead.issue_type == "task"
    assert bead.created_by == "mayor" and bead.created_at.endswith("Z")


def test_hash_length_grows_with_ledger_size():
    assert ids.hash_length(0) == 3
    assert ids.hash_length(159) == 3
    assert ids.hash_length(160) == 4
    assert ids.hash_length(979) == 4
    assert ids.hash_length(5_899) == 5
    assert ids.hash_length(34_999) == 6
    assert ids.hash_length(40_000) == 7


def test_ids_grow_after_many_creates(ledger):
    lengths = set()
    with ledger.atomic():
        for i in range(200):
            lengths.add(len(ledger.create(f"bead {i}", actor="t").id))
    assert lengths == {6, 7}  # "bd-" + 3, then + 4 past 160 beads


def test_collision_bumps_nonce(ledger, monkeypatch):
    first = ledger.create("A", actor="t")
    calls = []
    real = ids.candidate

    def colliding(prefix, seed, nonce, length, *, wisp=False):
        calls.append(nonce)
        return first.id if nonce == 0 else real(prefix, seed, nonce, length, wisp=wisp)

    monkeypatch.setattr(ids, "candidate", colliding)
    second = ledger.create("B", actor="t")
    assert second.id != first.id and calls[:2] == [0, 1]


def test_child_ids_and_wisp_ids(ledger):
    parent = ledger.create("Epic", actor="t", issue_type="epic")
    a = ledger.create("a", actor="t", parent=parent.id)
    b = ledger.create("b", actor="t", parent=parent.id)
    assert (a.id, b.id) == (f"{parent.id}.1", f"{parent.id}.2")
    assert a.parent == parent.id
    assert ledger.dependencies(a.id)[0].type == "parent-child"
    wisp = ledger.create("patrol", actor="t", ephemeral=True)
    assert wisp.id.startswith("bd-wisp-") and wisp.ephemeral


def test_several_prefixes_in_one_ledger(ledger):
    hq = ledger.create("town work", actor="t", prefix="hq")
    gt = ledger.create("rig work", actor="t", prefix="gt")
    assert hq.id.startswith("hq-") and gt.id.startswith("gt-")
    assert [b.id for b in ledger.list(prefix="gt")] == [gt.id]
    assert ids.prefix_of(gt.id) == "gt"


def test_explicit_well_known_id(ledger):
    ledger.create("Mayor", actor="t", bead_id="hq-mayor", issue_type="agent", status="pinned")
    with pytest.raises(Conflict):
        ledger.create("Mayor again", actor="t", bead_id="hq-mayor")
    with pytest.raises(InvalidInput):
        ledger.create("bad", actor="t", bead_id="Not An Id")


@pytest.mark.parametrize(
    "kwargs",
    [{"issue_type": "nope"}, {"status": "done"}, {"priority": 7}, {"priority": "high"}],
)
def test_create_validates_vocabulary(ledger, kwargs):
    with pytest.raises(InvalidInput):
        ledger.create("x", actor="t", **kwargs)
    assert ledger.list(include_closed=True) == []


def test_every_mutation_appends_exactly_one_event(ledger):
    start = ledger.last_event_id()
    a = ledger.create("a", actor="alice")
    b = ledger.create("b", actor="alice")
    ledger.add_dependency(b.id, a.id, actor="bob")
    ledger.update(a.id, actor="bob", priority=1)
    ledger.add_label(a.id, "ui", actor="bob")
    ledger.add_comment(a.id, "looks good", actor="carol")
    ledger.close(a.id, actor="carol", reason="done")
    events = ledger.events_since(start)
    assert [e.kind for e in events] == [
        "created",
        "created",
        "dependency_added",
        "updated",
        "label_added",
        "commented",
        "closed",
    ]
    assert [e.actor for e in events][-1] == "carol"
    assert all(e.id > start for e in events)
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert ledger.events_since(events[3].id)[0].kind == "label_added"  # a resumable cursor


def test_failed_mutation_leaves_no_event_and_no_change(ledger):
    a = ledger.create("a", actor="t")
    b = ledger.create("b", actor="t", deps=[("blocks", a.id)])
    before = ledger.last_event_id()
    with pytest.raises(Conflict, match="cycle"):
        ledger.add_dependency(a.id, b.id, actor="t")
    assert ledger.last_event_id() == before
    assert ledger.dependencies(a.id) == []


def test_cycle_message_shows_the_cycle(ledger):
    a = ledger.create("a", actor="t")
    b = ledger.create("b", actor="t", deps=[("blocks", a.id)])
    c = ledger.create("c", actor="t", deps=[("blocks", b.id)])
    with pytest.raises(Conflict) as err:
        ledger.add_dependency(a.id, c.id, actor="t")
    assert f"{a.id} -> {c.id} -> {b.id} -> {a.id}" in str(err.value)


def test_non_blocking_dependency_may_form_a_loop(ledger):
    a = ledger.create("a", actor="t")
    b = ledger.create("b", actor="t", deps=[("related", a.id)])
    ledger.add_dependency(a.id, b.id, actor="t", dep_type="related")
    assert not ledger.is_blocked(a.id) and not ledger.is_blocked(b.id)


def test_blocks_and_close_make_next_ready(ledger):
    a = ledger.create("a", actor="t")
    b = ledger.create("b", actor="t", deps=[("blocks", a.id)])
    assert [x.id for x in ledger.ready()] == [a.id]
    ledger.close(a.id, actor="t")
    assert [x.id for x in ledger.ready()] == [b.id]
    ledger.reopen(a.id, actor="t")
    assert ledger.is_blocked(b.id)


def test_parent_child_inherits_blocking(ledger):
    gate = ledger.create("gate", actor="t")
    epic = ledger.create("epic", actor="t", issue_type="epic", deps=[("blocks", gate.id)])
    child = ledger.create("child", actor="t", parent=epic.id)
    grandchild = ledger.create("grandchild", actor="t", parent=child.id)
    assert ledger.is_blocked(child.id) and ledger.is_blocked(grandchild.id)
    ledger.close(gate.id, actor="t")
    assert not ledger.is_blocked(child.id) and not ledger.is_blocked(grandchild.id)


def test_waits_for_and_any_children_gate(ledger):
    spawner = ledger.create("spawner", actor="t")
    c1 = ledger.create("c1", actor="t", parent=spawner.id)
    c2 = ledger.create("c2", actor="t", parent=spawner.id)
    all_ = ledger.create("after all", actor="t")
    ledger.add_dependency(all_.id, spawner.id, actor="t", dep_type="waits-for")
    any_ = ledger.create("after any", actor="t")
    ledger.add_dependency(any_.id, spawner.id, actor="t", dep_type="waits-for", metadata='{"gate": "any-children"}')
    assert ledger.is_blocked(all_.id) and ledger.is_blocked(any_.id)
    ledger.close(c1.id, actor="t")
    assert ledger.is_blocked(all_.id) and not ledger.is_blocked(any_.id)
    ledger.close(c2.id, actor="t")
    assert not ledger.is_blocked(all_.id)
    ledger.create("c3", actor="t", parent=spawner.id)  # a new unclosed child blocks again
    assert ledger.is_blocked(all_.id)


def test_conditional_blocks_blocks_until_done(ledger):
    attempt = ledger.create("attempt", actor="t")
    fallback = ledger.create("fallback", actor="t", deps=[("conditional-blocks", attempt.id)])
    assert ledger.is_blocked(fallback.id)
    ledger.close(attempt.id, actor="t", reason="failed")
    assert not ledger.is_blocked(fallback.id)


def test_pinned_ephemeral_and_infrastructure_never_ready(ledger):
    ledger.create("role", actor="t", status="pinned", issue_type="role")
    ledger.create("pinned flag", actor="t", pinned=True)
    ledger.create("wisp", actor="t", ephemeral=True)
    ledger.create("mail", actor="t", issue_type="message")
    ledger.create("mr", actor="t", issue_type="merge-request")
    work = ledger.create("work", actor="t")
    assert [b.id for b in ledger.ready()] == [work.id]
    assert {b.title for b in ledger.ready(include_ephemeral=True)} == {"work", "wisp"}


def test_blocked_leaves_out_wisps_unless_asked(ledger):
    # A patrol cycle's later steps wait on its earlier ones: plumbing, not blocked work.
    first = ledger.create("first", actor="t")
    ledger.create("second", actor="t", deps=[("blocks", first.id)])
    step1 = ledger.create("patrol step 1", actor="t", ephemeral=True)
    step2 = ledger.create("patrol step 2", actor="t", ephemeral=True, deps=[("blocks", step1.id)])
    assert [(b.title, why) for b, why in ledger.blocked()] == [("second", [first.id])]
    assert {b.title for b, _ in ledger.blocked(include_ephemeral=True)} == {"second", "patrol step 2"}
    assert ledger.is_blocked(step2.id)
    assert ledger.stats()["blocked"] == 1  # bd stats, gt dashboard's card, the RPC's ledger status: the same count


def test_ready_respects_defer_and_deferred_parent(ledger):
    later = ledger.create("later", actor="t", defer_until="2999-01-01T00:00:00Z")
    parked = ledger.create("parked epic", actor="t", issue_type="epic", status="deferred")
    child = ledger.create("child of parked", actor="t", parent=parked.id)
    now = ledger.create("now", actor="t", defer_until="2000-01-01T00:00:00Z")
    ready = {b.id for b in ledger.ready(limit=None)}
    assert now.id in ready and later.id not in ready and child.id not in ready


def test_ready_order_recent_by_priority_then_oldest(ledger):
    old_low = ledger.create("old low", actor="t", priority=3)
    old_high = ledger.create("old high", actor="t", priority=0)
    ledger.conn.execute(
        "UPDATE issues SET created_at = '2020-01-01T00:00:00Z' WHERE id IN (?, ?)", (old_low.id, old_high.id)
    )
    ledger.conn.execute("UPDATE issues SET created_at = '2020-01-02T00:00:00Z' WHERE id = ?", (old_high.id,))
    new_p2 = ledger.create("new p2", actor="t", priority=2)
    new_p1 = ledger.create("new p1", actor="t", priority=1)
    assert [b.title for b in ledger.ready()] == ["new p1", "new p2", "old low", "old high"]
    assert [b.title for b in ledger.ready(limit=3)] == ["new p1", "new p2", "old low"]
    assert [b.title for b in ledger.ready(priority=0)] == ["old high"]
    del new_p2, new_p1


def test_ready_filters(ledger):
    a = ledger.create("a", actor="t", assignee="gt/polecats/nux", issue_type="bug")
    ledger.add_label(a.id, "ui", actor="t")
    b = ledger.create("b", actor="t")
    assert [x.id for x in ledger.ready(assignee="gt/polecats/nux")] == [a.id]
    assert [x.id for x in ledger.ready(unassigned=True)] == [b.id]
    assert [x.id for x in ledger.ready(issue_type="bug")] == [a.id]
    assert [x.id for x in ledger.ready(label="ui")] == [a.id]


def test_claim_is_exclusive(ledger):
    a = ledger.create("a", actor="t")
    claimed = ledger.claim(a.id, actor="gt/polecats/nux")
    assert claimed.assignee == "gt/polecats/nux" and claimed.status == "in_progress"
    with pytest.raises(Conflict, match="already claimed"):
        ledger.claim(a.id, actor="gt/polecats/toast")


def test_close_twice_is_refused(ledger):
    a = ledger.create("a", actor="t")
    ledger.close(a.id, actor="t", reason="done")
    bead = ledger.get(a.id)
    assert bead.status == "closed" and bead.closed_at and bead.close_reason == "done"
    with pytest.raises(Conflict, match="already closed"):
        ledger.close(a.id, actor="t")


def test_delete_leaves_a_tombstone_that_blocks_nothing(ledger):
    a = ledger.create("a", actor="t", issue_type="bug")
    b = ledger.create("b", actor="t", deps=[("blocks", a.id)])
    ledger.delete(a.id, actor="t", reason="dup")
    tomb = ledger.get(a.id)
    assert tomb.status == "tombstone" and tomb.original_type == "bug" and tomb.deleted_by == "t"
    assert not ledger.is_blocked(b.id)
    assert a.id not in {x.id for x in ledger.list(include_closed=True)}


def test_purge_removes_beads_and_refreshes_dependents(ledger):
    a = ledger.create("a", actor="t")
    b = ledger.create("b", actor="t", deps=[("blocks", a.id)])
    assert ledger.purge([a.id], actor="t") == 1
    assert not ledger.exists(a.id) and not ledger.is_blocked(b.id)
    assert ledger.dependencies(b.id) == []


def test_unknown_ids_raise_not_found(ledger):
    with pytest.raises(NotFound):
        ledger.get("bd-nope")
    with pytest.raises(NotFound):
        ledger.update("bd-nope", actor="t", status="open")
    with pytest.raises(NotFound):
        ledger.create("x", actor="t", deps=[("blocks", "bd-nope")])


def test_full_bead_embeds_collections(ledger):
    a = ledger.create("a", actor="t", labels=["x", "y"])
    b = ledger.create("b", actor="t", deps=[("blocks", a.id)])
    ledger.add_comment(a.id, "hi", actor="t")
    full = ledger.get(a.id, full=True)
    assert full.labels == ["x", "y"] and full.comment_count == 1 and full.dependent_count == 1
    many = ledger.embed_many([ledger.get(a.id), ledger.get(b.id)])
    assert many[1].dependencies[0].depends_on_id == a.id and many[0].comments[0].text == "hi"


def test_search_matches_title_description_and_id(ledger):
    a = ledger.create("Fix login", actor="t", description="the 50% case")
    ledger.create("Other", actor="t")
    assert [b.id for b in ledger.search("login")] == [a.id]
    assert [b.id for b in ledger.search("50%")] == [a.id]
    assert [b.id for b in ledger.search(a.id)] == [a.id]
    assert ledger.search("nothing-like-this") == []


def test_config_is_a_key_value_table(ledger):
    ledger.config_set("route.gt", "/town/gastown/repo", actor="t")
    assert ledger.config_get("route.gt") == "/town/gastown/repo"
    assert ledger.config_items("route.") == {"route.gt": "/town/gastown/repo"}


def test_ledger_is_wal_and_reopens(tmp_path):
    path = tmp_path / "l.db"
    with Ledger(path, create=True) as led:
        led.create("persisted", actor="t")
        assert led.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Ledger(path) as again:
        assert [b.title for b in again.list()] == ["persisted"]
    with pytest.raises(NotFound):
        Ledger(tmp_path / "missing.db")


def test_event_payload_is_json(ledger):
    a = ledger.create("a", actor="t", assignee="mayor")
    raw = ledger.conn.execute("SELECT payload FROM events WHERE bead_id = ?", (a.id,)).fetchone()[0]
    assert json.loads(raw)["assignee"] == "mayor"


def test_waits_for_ignores_deleted_children(ledger):
    spawner = ledger.create("spawner", actor="t")
    done = ledger.create("done", actor="t", parent=spawner.id)
    pinned = ledger.create("pinned", actor="t", parent=spawner.id, status="pinned")
    waiter = ledger.create("waiter", actor="t")
    ledger.add_dependency(waiter.id, spawner.id, actor="t", dep_type="waits-for")
    ledger.close(done.id, actor="t")
    assert ledger.is_blocked(waiter.id)  # a pinned child is not closed
    ledger.delete(pinned.id, actor="t")  # pinned -> tombstone: no longer a child that counts
    assert not ledger.is_blocked(waiter.id)


def test_search_index_follows_renames_purges_and_vacuum(ledger):
    a = ledger.create("Fix the Refinery merge queue", actor="t", description="when two MRs race")
    b = ledger.create("Unrelated", actor="t")
    ledger.create("refinery wisp", actor="t", ephemeral=True)  # wisps are not indexed
    ledger.purge([b.id], actor="t")
    ledger.vacuum()  # rowids must survive: the index is keyed by them
    assert [x.id for x in ledger.search("refinery")] == [a.id]
    assert [x.id for x in ledger.search("mrs")] == [a.id]  # any case
    ledger.update(a.id, actor="t", title="Renamed")
    assert ledger.search("refinery") == [] and [x.id for x in ledger.search("enam")] == [a.id]
    assert [x.id for x in ledger.search("Re")] == [a.id]  # short queries scan
