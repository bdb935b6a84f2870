"""``bead/depAdd`` / ``bead/depRemove`` over both transports against a real ledger: the edge lands (and readiness
with it), refusals are one line with a stable code and write nothing, and subscribers get the event."""

from __future__ import annotations

import pytest

from gastown_server.rpc.errors import RpcError


def _refused(c, method, params, code, *words):
    before = c.call("feed/recent", {"limit": 1, "noise": True})
    with pytest.raises(RpcError) as err:
        c.call(method, params)
    assert err.value.code == code, err.value.message
    for w in words:
        assert w in err.value.message, err.value.message
    assert "\n" not in err.value.message
    assert c.call("feed/recent", {"limit": 1, "noise": True}) == before  # no event: nothing was written
    return err.value


def _ready_ids(c):
    return {b["id"] for b in c.call("bead/ready", {"limit": 100})["beads"]}


def test_dep_add_and_remove_move_readiness_and_push_events(connect):
    c = connect(actor="mayor")
    track = c.call("bead/create", {"title": "Lay the track"})["id"]
    train = c.call("bead/create", {"title": "Run the train"})["id"]
    assert {track, train} <= _ready_ids(c)
    c.call("feed/subscribe", {})

    dep = c.call("bead/depAdd", {"issue": train, "depends_on": track})
    assert (dep["issue_id"], dep["depends_on_id"], dep["type"], dep["created_by"]) == (train, track, "blocks", "mayor")
    note = c.next_notification(5, method="$/gastown/event")
    ev = note["params"]["event"]
    assert (ev["kind"], ev["bead_id"], ev["payload"]["depends_on_id"]) == ("dependency_added", train, track)
    assert train not in _ready_ids(c) and track in _ready_ids(c)
    assert [d["depends_on_id"] for d in c.call("bead/show", {"id": train})["dependencies"]] == [track]
    tree = c.call("bead/deps", {"id": train})
    assert track in {n["id"] for n in tree["graph"]["nodes"]}

    related = c.call("bead/depAdd", {"issue": track, "depends_on": train, "type": "related"})
    assert related["type"] == "related"  # a non-blocking edge back is no cycle
    c.next_notification(5, method="$/gastown/event")

    gone = c.call("bead/depRemove", {"issue": train, "depends_on": track})
    assert gone == {"issue_id": train, "depends_on_id": track, "type": "blocks", "removed": True}
    ev = c.next_notification(5, method="$/gastown/event")["params"]["event"]
    assert (ev["kind"], ev["bead_id"], ev["payload"]["type"]) == ("dependency_removed", train, "blocks")
    assert train in _ready_ids(c)


def test_dep_edits_refused_with_a_reason_and_nothing_written(connect):
    c = connect(actor="mayor")
    a = c.call("bead/create", {"title": "A"})["id"]
    b = c.call("bead/create", {"title": "B"})["id"]
    d = c.call("bead/create", {"title": "C"})["id"]
    c.call("bead/depAdd", {"issue": b, "depends_on": a})
    c.call("bead/depAdd", {"issue": d, "depends_on": b, "type": "waits-for"})

    _refused(c, "bead/depAdd", {"issue": a, "depends_on": "t-nosuch"}, -33001, "no bead 't-nosuch'")
    _refused(c, "bead/depAdd", {"issue": "t-nosuch", "depends_on": a}, -33001, "no bead 't-nosuch'")
    _refused(c, "bead/depAdd", {"issue": a, "depends_on": a}, -33002, "cannot depend on itself")
    err = _refused(c, "bead/depAdd", {"issue": a, "depends_on": d}, -33003, "would create a cycle", f"{a} -> {d} -> {b} -> {a}")
    assert err.data["kind"] == "conflict"
    _refused(c, "bead/depAdd", {"issue": b, "depends_on": a}, -33003, f"{b} already depends on {a} (blocks)")
    _refused(c, "bead/depAdd", {"issue": a, "depends_on": b, "type": "sideways"}, -33002, "invalid dependency type 'sideways'")
    _refused(c, "bead/depAdd", {"issue": a}, -32602, "depends_on")
    _refused(c, "bead/depRemove", {"issue": a, "depends_on": b}, -33001, f"{a} does not depend on {b}")
    _refused(c, "bead/depRemove", {"issue": "t-nosuch", "depends_on": b}, -33001, "no bead 't-nosuch'")
    assert c.call("bead/show", {"id": a}).get("dependencies", []) == []
    assert [x["depends_on_id"] for x in c.call("bead/show", {"id": b})["dependencies"]] == [a]
