"""bead/deps says ``truncated`` only when a bead was left out, not when the picture is exactly full."""

from __future__ import annotations


def test_deps_truncated_only_when_something_was_cut(connect):
    c = connect()
    base = c.call("bead/create", {"title": "Base"})["id"]
    top = c.call("bead/create", {"title": "Top", "deps": [{"id": base}]})["id"]
    # One blocker, max_nodes 1: everything is shown.
    full = c.call("bead/deps", {"id": top, "max_nodes": 1})
    assert [n["id"] for n in full["blockers"]] == [base]
    assert full["graph"]["truncated"] is False
    # A second blocker does not fit: now it is cut short.
    other = c.call("bead/create", {"title": "Other"})["id"]
    top2 = c.call("bead/create", {"title": "Top2", "deps": [{"id": base}, {"id": other}]})["id"]
    cut = c.call("bead/deps", {"id": top2, "max_nodes": 1})
    assert len(cut["blockers"]) == 1 and cut["graph"]["truncated"] is True
