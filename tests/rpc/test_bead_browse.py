"""bead/list search, presets, sort and paging; bead/bulkUpdate; bead/deps: against a real server."""

from __future__ import annotations

import pytest

from gastown_server.beads.store import Ledger
from gastown_server.paths import ledger_path
from gastown_server.rpc.client import RpcError


def _error(c, method, params):
    with pytest.raises(RpcError) as err:
        c.call(method, params)
    assert "\n" not in err.value.message and "Traceback" not in err.value.message
    return err.value


def _ids(res):
    return [b["id"] for b in res["beads"]]


def test_list_search_presets_sort_and_pages(connect):
    c = connect(actor="mayor")
    a = c.call("bead/create", {"title": "Fix the Parser", "priority": 1, "labels": ["ui"]})["id"]
    b = c.call("bead/create", {"title": "Write docs", "priority": 3, "assignee": "mayor"})["id"]
    blocked = c.call("bead/create", {"title": "Ship parser", "deps": [{"id": a}]})["id"]
    msg = c.call("bead/create", {"title": "parser mail", "type": "message"})["id"]
    done = c.call("bead/create", {"title": "Old parser work"})["id"]
    c.call("bead/close", {"id": done})

    # Default shape is unchanged for old clients: no total, open beads only, oldest first.
    assert _ids(c.call("bead/list")) == [a, b, blocked, msg]
    assert "total" not in c.call("bead/list")

    # Search: any case, title/id/description/assignee; work_only drops the message.
    assert _ids(c.call("bead/list", {"q": "PARSER"})) == [a, blocked, msg]
    assert _ids(c.call("bead/list", {"q": "parser", "work_only": True})) == [a, blocked]
    assert _ids(c.call("bead/list", {"q": "parser", "work_only": True, "all": True})) == [a, blocked, done]
    assert _ids(c.call("bead/list", {"q": "100%_"})) == []  # LIKE wildcards are literal

    # Presets.
    assert set(_ids(c.call("bead/list", {"preset": "ready"}))) == {a, b}
    assert _ids(c.call("bead/list", {"preset": "blocked"})) == [blocked]
    assert _ids(c.call("bead/list", {"preset": "mine"})) == [b]
    assert _ids(c.call("bead/list", {"preset": "closed"})) == [done]
    assert _ids(c.call("bead/list", {"preset": "all", "work_only": True})) == [a, b, blocked, done]
    assert _ids(c.call("bead/list", {"label": "ui"})) == [a]
    assert c.call("bead/list", {"label": "ui"})["beads"][0]["labels"] == ["ui"]
    counts = {b["id"]: (b["dependency_count"], b["dependent_count"]) for b in c.call("bead/list")["beads"]}
    assert counts[a] == (0, 1) and counts[blocked] == (1, 0) and counts[b] == (0, 0)

    # Sorts.
    assert _ids(c.call("bead/list", {"sort": "priority", "work_only": True})) == [a, blocked, b]
    assert _ids(c.call("bead/list", {"sort": "priority", "desc": True, "work_only": True}))[0] == b
    c.call("bead/update", {"id": a, "status": "in_progress"})
    assert _ids(c.call("bead/list", {"sort": "status", "work_only": True}))[0] == a
    assert _ids(c.call("bead/list", {"sort": "updated", "desc": True}))[0] == a

    # Pages: disjoint, in order, with the total.
    for i in range(7):
        c.call("bead/create", {"title": f"filler {i}"})
    everything = _ids(c.call("bead/list", {"limit": 0}))
    pages = [c.call("bead/list", {"limit": 4, "offset": off, "count": True}) for off in (0, 4, 8, 12)]
    assert all(p["total"] == len(everything) == 11 for p in pages)
    assert [i for p in pages for i in _ids(p)] == everything
    assert pages[1]["offset"] == 4 and pages[3]["beads"] == []

    # Bad input: a coded refusal naming the field.
    assert _error(c, "bead/list", {"sort": "random"}).code == -32602
    assert _error(c, "bead/list", {"preset": "urgent"}).code == -32602
    assert _error(c, "bead/list", {"offset": -1}).code == -32602


def test_mine_needs_an_actor_match(connect):
    c = connect()  # the overseer
    c.call("bead/create", {"title": "For the mayor", "assignee": "mayor"})
    mine = c.call("bead/create", {"title": "For me", "assignee": "overseer"})["id"]
    assert _ids(c.call("bead/list", {"preset": "mine"})) == [mine]


def test_bulk_update_is_all_or_nothing(connect, town):
    c = connect(actor="mayor")
    ids = [c.call("bead/create", {"title": f"B{i}", "labels": ["old"] if i else []})["id"] for i in range(3)]
    led = Ledger(ledger_path(town))
    cursor = led.last_event_id()

    res = c.call(
        "bead/bulkUpdate",
        {"ids": ids, "status": "in_progress", "priority": 0, "add_labels": ["ui"], "remove_labels": ["old"]},
    )
    assert res["updated"] == 3
    for b in res["beads"]:
        assert (b["status"], b["priority"], b["labels"]) == ("in_progress", 0, ["ui"])
    # One event per bead (each bead's views refresh), all in the one transaction.
    events = led.events_since(cursor)
    assert sorted(e.bead_id for e in events) == sorted(ids) and {e.actor for e in events} == {"mayor"}
    cursor = events[-1].id
    shown = c.call("bead/show", {"id": ids[1]})
    assert shown["labels"] == ["ui"] and shown["status"] == "in_progress"

    # A refusal part-way changes nothing: an unknown id, named in one line.
    err = _error(c, "bead/bulkUpdate", {"ids": [ids[0], "t-ghost"], "status": "blocked"})
    assert err.code == -33001 and "t-ghost" in err.message
    assert c.call("bead/show", {"id": ids[0]})["status"] == "in_progress"
    assert led.events_since(cursor) == []
    # A bad status: refused before anything changes.
    err = _error(c, "bead/bulkUpdate", {"ids": ids, "status": "nonsense"})
    assert err.code == -33002
    assert {c.call("bead/show", {"id": i})["status"] for i in ids} == {"in_progress"}
    # A label that fails the ledger's check on the last bead rolls back the first two.
    err = _error(c, "bead/bulkUpdate", {"ids": ids, "add_labels": ["  "]})
    assert err.code == -33002
    assert all(c.call("bead/show", {"id": i})["labels"] == ["ui"] for i in ids)
    assert _error(c, "bead/bulkUpdate", {"ids": ids}).message.startswith("nothing to change")
    assert _error(c, "bead/bulkUpdate", {"ids": []}).code == -32602
    assert "both added and removed" in _error(
        c, "bead/bulkUpdate", {"ids": ids, "add_labels": ["x"], "remove_labels": ["x"]}
    ).message

    # Closing many: closed with the reason.
    closed = c.call("bead/bulkUpdate", {"ids": ids[:2], "status": "closed", "reason": "batch"})
    assert [(b["status"], b["close_reason"]) for b in closed["beads"]] == [("closed", "batch")] * 2
    assert c.call("bead/list", {"limit": 0})["beads"][0]["id"] == ids[2]
    led.disconnect()


def test_deps_tree_and_graph(connect):
    c = connect()
    base = c.call("bead/create", {"title": "Base"})["id"]
    mid = c.call("bead/create", {"title": "Mid", "deps": [{"id": base}]})["id"]
    side = c.call("bead/create", {"title": "Side"})["id"]
    top = c.call("bead/create", {"title": "Top", "deps": [{"id": mid}, {"id": side, "type": "related"}]})["id"]
    after = c.call("bead/create", {"title": "After", "deps": [{"id": top}, {"id": mid}]})["id"]

    t = c.call("bead/deps", {"id": top})
    assert (t["id"], t["title"]) == (top, "Top")
    blockers = {n["id"]: n for n in t["blockers"]}
    assert set(blockers) == {mid, side}
    assert blockers[mid]["blocking"] is True and blockers[side].get("blocking", False) is False
    assert [n["id"] for n in blockers[mid]["children"]] == [base]
    assert [n["id"] for n in t["dependents"]] == [after]

    g = t["graph"]
    layer = {n["id"]: n["layer"] for n in g["nodes"]}
    # Blockers sit left of what they block: base < mid < top < after.
    assert layer[base] < layer[mid] < layer[top] < layer[after]
    assert [n["id"] for n in g["nodes"] if n.get("root")] == [top]
    edges = {(e["source"], e["target"], e["type"]) for e in g["edges"]}
    assert (mid, top, "blocks") in edges and (side, top, "related") in edges and (top, after, "blocks") in edges
    assert g["layers"] == max(layer.values()) + 1 and not g["truncated"]

    # depth 1: only direct neighbours; a diamond is shown once, then marked repeated.
    assert [n.get("children", []) for n in c.call("bead/deps", {"id": top, "depth": 1})["blockers"]] == [[], []]
    d = c.call("bead/deps", {"id": base, "depth": 3})
    (m,) = d["dependents"]
    kids = {n["id"]: n for n in m["children"]}
    assert set(kids) == {top, after}
    assert [n["id"] for n in kids[top]["children"]] == [after] and kids[top]["children"][0]["repeated"]

    # Closing the blocker: no longer blocking.
    c.call("bead/close", {"id": mid})
    assert {n["id"]: n.get("blocking", False) for n in c.call("bead/deps", {"id": top})["blockers"]}[mid] is False
    small = c.call("bead/deps", {"id": base, "max_nodes": 1})
    assert small["graph"]["truncated"] is True and len(small["graph"]["nodes"]) == 2
    assert _error(c, "bead/deps", {"id": "t-ghost"}).code == -33001
    assert _error(c, "bead/deps", {"id": top, "depth": 0}).code == -32602
