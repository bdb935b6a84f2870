"""Beads' other verbs as the real `bd` process over a real ledger: the effects in the ledger, --json shapes,
and bad input as one line (exit 1, nothing changed)."""

import json
import time

from gastown_server.beads.store import Ledger


def j(proc):
    return json.loads(proc.stdout)


def one_line(proc, needle):
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bd: error: ") and needle in lines[0], proc.stderr


def test_update_labels_new_and_field_verbs(bd):
    epic = j(bd("new", "Epic", "-t", "epic", "--json"))["id"]  # Beads' alias of create
    a = j(bd("create", "A", "--parent", epic, "--json"))["id"]
    b = j(bd("create", "B", "--parent", epic, "--json"))["id"]
    assert j(bd("update", a, "--add-label", "x,y", "--add-label", "z", "--json"))[0]["labels"] == ["x", "y", "z"]
    assert j(bd("update", a, "--remove-label", "y", "--json"))[0]["labels"] == ["x", "z"]
    assert j(bd("update", a, "--set-labels", "p,q", "--add-label", "r", "--json"))[0]["labels"] == ["p", "q", "r"]
    assert j(bd("update", a, "--set-labels", "", "--json"))[0].get("labels", []) == []

    assert j(bd("defer", a, "--until", "2030-01-01T00:00:00Z", "--json"))[0]["status"] == "deferred"
    assert a not in [x["id"] for x in j(bd("ready", "--json"))]
    assert j(bd("undefer", a, "--json"))[0]["status"] == "open"
    bd("note", a, "first"), bd("note", a, "second")
    assert j(bd("show", a, "--json"))[0]["notes"] == "first\nsecond"
    assert j(bd("assign", a, "mayor", "--json"))["assignee"] == "mayor"
    assert j(bd("priority", a, "P0", "--json"))["priority"] == 0
    assert j(bd("tag", a, "t1", "t2", "--json"))["labels"] == ["t1", "t2"]
    bd("link", a, b, "--type", "discovered-from")
    assert any(d["depends_on_id"] == b and d["type"] == "discovered-from" for d in j(bd("show", a, "--json"))[0]["dependencies"])
    dup = j(bd("create", "dup", "--json"))["id"]
    assert j(bd("duplicate", dup, "--of", a, "--json"))["status"] == "closed"
    new = j(bd("create", "B2", "--json"))["id"]
    old = j(bd("supersede", b, "--with", new, "--json"))
    assert old["status"] == "closed" and old["close_reason"] == f"superseded by {new}"
    assert any(d["depends_on_id"] == b and d["type"] == "supersedes" for d in j(bd("show", new, "--json"))[0]["dependencies"])
    bd("set-state", a, "patrol=active", "--reason", "started")
    assert "patrol:idle" in j(bd("set-state", a, "patrol=idle", "--json"))["labels"]
    assert "patrol:active" not in j(bd("show", a, "--json"))[0]["labels"]

    assert [c["id"] for c in j(bd("children", epic, "--json"))] == [a, b]
    assert j(bd("epic", "status", epic, "--json"))[0] == {
        "id": epic, "title": "Epic", "status": "open", "total": 2, "closed": 1, "eligible_for_close": False}
    bd("close", a)
    assert j(bd("epic", "close-eligible", "--dry-run", "--json"))["eligible"] == [epic]
    assert j(bd("epic", "close-eligible", "--json"))["closed"] == [epic]
    assert j(bd("show", epic, "--json"))[0]["status"] == "closed"

    counts = j(bd("count", "--by-status", "--json"))
    assert counts["count"] == 5 and counts["groups"] == {"closed": 4, "open": 1}
    assert j(bd("count", "-s", "open", "--json")) == {"count": 1}
    bd("kv", "set", "deploy.target", "prod")
    assert bd("kv", "get", "deploy.target").stdout.strip() == "prod"
    assert j(bd("kv", "list", "--json")) == {"deploy.target": "prod"}
    assert j(bd("kv", "delete", "deploy.target", "--json"))["deleted"] is True
    assert "Beads workflow" in bd("prime").stdout and j(bd("prime", "--json"))["ready"] == 1
    assert j(bd("version", "--json"))["program"] == "bd"

    led = Ledger(bd.home / ".gastown" / "ledger.db")
    events = led.last_event_id()
    one_line(bd("set-state", a, "nodimension", check=False), "DIMENSION=VALUE")
    one_line(bd("priority", a, "9", check=False), "invalid priority")
    one_line(bd("supersede", a, "--with", "t-nope", check=False), "t-nope")
    one_line(bd("kv", "get", "missing", check=False), "no key")
    one_line(bd("defer", a, "--until", "tomorrow", check=False), "RFC 3339")
    one_line(bd("count", "--by-status", "-s", "bogus", check=False), "bogus")
    assert led.last_event_id() == events
    led.disconnect()


def test_gates_and_swarms(bd):
    epic = j(bd("create", "Epic", "-t", "epic", "--json"))["id"]
    kids = [j(bd("create", f"k{i}", "--parent", epic, "--json"))["id"] for i in range(3)]
    s = j(bd("swarm", "create", epic, "--coordinator", "mayor", "--json"))
    assert s["epic"] == epic and s["coordinator"] == "mayor"
    assert [x["id"] for x in j(bd("swarm", "list", "--json"))] == [s["id"]]

    timer = j(bd("gate", "create", "--await-type", "timer", "--timeout", "1s", "--blocks", kids[2], "--json"))
    assert timer["timeout_s"] == 1.0 and timer["blocks"] == [kids[2]]
    human = j(bd("gate", "create", "--await", "human", "--blocks", kids[1], "--waiter", "mayor", "--json"))
    on_bead = j(bd("gate", "create", "--await", f"bead:{kids[0]}", "--json"))
    gh = j(bd("gate", "create", "--await", "gh:run:12345", "--timeout", "1s", "--json"))
    assert (gh["await_type"], gh["await_id"]) == ("gh:run", "12345")
    bd("gate", "add-waiter", human["id"], "deacon")
    assert j(bd("gate", "show", human["id"], "--json"))["waiters"] == ["mayor", "deacon"]
    st = j(bd("swarm", "status", epic, "--json"))
    assert st["ready"] == [kids[0]] and sorted(st["blocked"]) == sorted(kids[1:])

    time.sleep(1.1)
    bd("close", kids[0])
    checked = {r["id"]: r["outcome"] for r in j(bd("gate", "check", "--json"))}
    assert checked == {timer["id"]: "resolved", on_bead["id"]: "resolved", human["id"]: "waiting", gh["id"]: "expired"}
    assert kids[2] in [x["id"] for x in j(bd("ready", "--json"))]
    res = j(bd("gate", "resolve", human["id"], "-r", "approved", "--json"))
    assert res["gate"]["status"] == "closed" and len(res["mail"]) == 2
    assert [g["id"] for g in j(bd("gate", "list", "--json"))] == [gh["id"]]
    assert j(bd("swarm", "status", s["id"], "--json"))["closed"] == [kids[0]]

    one_line(bd("gate", "create", "--await-type", "timer", check=False), "needs --timeout")
    one_line(bd("gate", "create", "--await-type", "moon", check=False), "unknown await type")
    one_line(bd("gate", "resolve", human["id"], check=False), "already resolved")
    one_line(bd("gate", "show", epic, check=False), "not a gate")
    one_line(bd("swarm", "create", epic, check=False), "already has a swarm")
