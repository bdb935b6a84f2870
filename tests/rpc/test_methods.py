"""Every method over both transports (stdio and the unix socket), against a real ledger town."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gastown_server.rpc.errors import RpcError
from gastown_server.rpc.registry import load_all

from rpc_helpers import run_bd


def test_initialize_reports_server_town_and_capabilities(connect, town):
    c = connect(initialize=False)
    info = c.initialize(actor="mayor/")
    assert info["serverInfo"]["name"] == "gastown-server"
    assert info["town"] == {"name": town.name, "root": str(town.resolve())}
    assert set(info["capabilities"]) == set(load_all())
    assert "$/gastown/event" in info["notifications"]
    assert info["actor"] == "mayor"


def test_bead_create_show_list_update_close(connect):
    c = connect(actor="mayor")
    parent = c.call("bead/create", {"title": "Epic", "type": "epic", "priority": 1})
    child = c.call(
        "bead/create",
        {"title": "Child", "parent": parent["id"], "labels": ["ui"], "description": "d", "notes": "n"},
    )
    assert child["id"] == parent["id"] + ".1"
    assert child["labels"] == ["ui"] and child["created_by"] == "mayor" and child["notes"] == "n"
    shown = c.call("bead/show", {"id": child["id"]})
    assert shown["dependencies"][0]["depends_on_id"] == parent["id"]
    listed = c.call("bead/list", {"type": "epic"})["beads"]
    assert [b["id"] for b in listed] == [parent["id"]]
    upd = c.call("bead/update", {"id": child["id"], "priority": 0, "add_labels": ["hot"], "remove_labels": ["ui"]})
    assert upd["priority"] == 0 and upd["labels"] == ["hot"]
    claimed = c.call("bead/update", {"id": child["id"], "claim": True})
    assert claimed["status"] == "in_progress" and claimed["assignee"] == "mayor"
    closed = c.call("bead/close", {"id": child["id"], "reason": "done"})
    assert closed["status"] == "closed" and closed["close_reason"] == "done"
    assert c.call("bead/list", {"status": "closed"})["beads"][0]["id"] == child["id"]
    assert child["id"] in [b["id"] for b in c.call("bead/list", {"all": True})["beads"]]


def test_bead_update_writes_one_event_naming_the_changes(connect, town):
    c = connect()
    b = c.call("bead/create", {"title": "x"})
    sub = c.call("feed/subscribe", {})
    c.call("bead/update", {"id": b["id"], "title": "y", "add_labels": ["a"], "status": "in_progress"})
    note = c.next_notification(5, method="$/gastown/event")
    ev = note["params"]["event"]
    assert ev["kind"] == "status_changed" and ev["bead_id"] == b["id"]
    assert ev["payload"]["changes"]["title"] == ["x", "y"] and ev["payload"]["labels_added"] == ["a"]
    assert c.next_notification(0.3, method="$/gastown/event") is None
    assert sub["subscription"] >= 1


def test_bead_ready_respects_blockers(connect):
    c = connect()
    a = c.call("bead/create", {"title": "A"})
    b = c.call("bead/create", {"title": "B", "deps": [{"id": a["id"], "type": "blocks"}]})
    ready = [x["id"] for x in c.call("bead/ready")["beads"]]
    assert a["id"] in ready and b["id"] not in ready
    c.call("bead/close", {"id": a["id"]})
    assert [x["id"] for x in c.call("bead/ready", {"limit": 5})["beads"]] == [b["id"]]


def test_convoy_create_list_tree(connect):
    c = connect()
    a = c.call("bead/create", {"title": "A"})
    b = c.call("bead/create", {"title": "B"})
    cv = c.call("convoy/create", {"title": "Ship it", "tracked": [a["id"], b["id"]]})
    assert cv["issue_type"] == "convoy"
    tree = c.call("convoy/tree", {"id": cv["id"]})
    assert [t["id"] for t in tree["tracked"]] == [a["id"], b["id"]]
    assert tree["progress"]["total"] == 2 and not tree["landed"]
    c.call("bead/close", {"id": a["id"]})
    c.call("bead/close", {"id": b["id"]})
    summary = c.call("convoy/list")["convoys"]
    assert [s["id"] for s in summary] == [cv["id"]] and summary[0]["landed"]
    assert summary[0]["progress"]["closed"] == 2
    assert c.call("convoy/list", {"status": "closed"})["convoys"] == []


def test_mail_send_inbox_read_reply_ack(connect):
    overseer = connect()
    mayor = connect(actor="mayor")
    sent = overseer.call("mail/send", {"to": "mayor/", "subject": "Status?", "body": "How is it going?"})
    assert sent["to"] == "mayor" and sent["sender"] == "overseer"
    inbox = mayor.call("mail/inbox")
    assert inbox["address"] == "mayor" and inbox["unread"] == 1
    assert [m["id"] for m in inbox["messages"]] == [sent["id"]]
    read = mayor.call("mail/read", {"id": sent["id"]})
    assert read["read"] and read["body"] == "How is it going?"
    assert mayor.call("mail/inbox", {"unread_only": True})["messages"] == []
    reply = mayor.call("mail/reply", {"id": sent["id"], "body": "Fine."})
    assert reply["to"] == "overseer" and reply["subject"] == "Re: Status?" and reply["replies_to"] == sent["id"]
    thread = overseer.call("mail/read", {"id": reply["id"]})["thread"]
    assert thread == [sent["id"], reply["id"]]
    acked = mayor.call("mail/ack", {"id": sent["id"]})
    assert acked["status"] == "closed"
    assert mayor.call("mail/inbox")["messages"] == []
    theirs = overseer.call("mail/inbox", {"address": "overseer"})
    assert [m["id"] for m in theirs["messages"]] == [reply["id"]] and theirs["unread"] == 0  # read in the thread


def test_feed_subscribe_resume_and_unsubscribe(connect, town):
    c = connect()
    first = c.call("bead/create", {"title": "one"})
    sub = c.call("feed/subscribe", {"cursor": 0})
    seen = [n["params"]["event"] for n in c.notifications(1, method="$/gastown/event")]
    assert [e["id"] for e in seen] == list(range(1, sub["cursor"] + 1))
    assert seen[-1]["bead_id"] == first["id"]
    run_bd(town, "create", "from bd", actor="deacon")
    note = c.next_notification(5, method="$/gastown/event")
    assert note["params"]["event"]["actor"] == "deacon" and note["params"]["subscription"] == sub["subscription"]
    assert c.call("feed/unsubscribe", {"subscription": sub["subscription"]}) == {"unsubscribed": True}
    run_bd(town, "create", "after")
    assert c.next_notification(0.5, method="$/gastown/event") is None


def test_feed_kinds_filter(connect, town):
    c = connect()
    c.call("feed/subscribe", {"kinds": ["closed"]})
    b = c.call("bead/create", {"title": "x"})
    c.call("bead/close", {"id": b["id"]})
    notes = list(c.notifications(0.5, method="$/gastown/event"))
    assert [n["params"]["event"]["kind"] for n in notes] == ["closed"]


def test_town_status(connect, town):
    c = connect()
    a = c.call("bead/create", {"title": "A"})
    c.call("convoy/create", {"title": "C", "tracked": [a["id"]]})
    st = c.call("town/status")
    assert st["town"]["root"] == str(town.resolve())
    assert st["ledger"]["total"] == 2 and st["convoys"] == {"open": 1, "landed": 0}
    assert st["cursor"] >= 3 and st["server"]["clients"] >= 1
    c.call("bead/close", {"id": a["id"]})
    assert c.call("town/status")["convoys"] == {"open": 1, "landed": 1}  # the cache follows commits


def test_agent_transcript_and_transcript_subscribe(connect, town):
    log = town / ".gastown" / "transcripts" / "hq-mayor.log"
    log.parent.mkdir(parents=True)
    log.write_bytes(b"hello \xc3\xa9t\xc3\xa9\nline two\n")
    c = connect()
    rng = c.call("agent/transcript", {"session": "hq-mayor", "offset": 6, "length": 5})
    assert rng["data"] == "été" and rng["offset"] == 6 and rng["end"] == 11 and rng["size"] == 21
    tail = c.call("agent/transcript", {"session": "hq-mayor", "lines": 1})
    assert tail["data"] == "line two\n" and tail["end"] == 21
    sub = c.call("transcript/subscribe", {"session": "hq-mayor", "offset": 0})
    assert sub["offset"] == 0 and sub["size"] == 21
    chunk = c.next_notification(5, method="$/gastown/transcript")["params"]
    assert chunk["offset"] == 0 and chunk["end"] == 21 and chunk["data"].startswith("hello été")
    with open(log, "ab") as fh:
        fh.write("more \u00e9".encode()[:-1])  # a character cut in half...
        fh.flush()
        more = c.next_notification(5, method="$/gastown/transcript")["params"]
        assert more == {**more, "offset": 21, "end": 26, "data": "more "}
        fh.write(b"\xa9!\n")  # ...completed later
    rest = c.next_notification(5, method="$/gastown/transcript")["params"]
    assert rest["offset"] == 26 and rest["data"] == "\u00e9!\n"
    assert c.call("transcript/unsubscribe", {"subscription": sub["subscription"]}) == {"unsubscribed": True}
    with open(log, "ab") as fh:
        fh.write(b"unseen\n")
    assert c.next_notification(0.4, method="$/gastown/transcript") is None


def test_shutdown_stops_subscriptions(connect, town):
    c = connect()
    c.call("feed/subscribe", {})
    assert c.call("shutdown") == {"ok": True}
    run_bd(town, "create", "x")
    assert c.next_notification(0.5) is None


def test_every_registered_method_is_exercised_by_these_tests():
    # any test of the suite counts (costs/summary is exercised by tests/costs, say)
    source = "".join(f.read_text() for f in Path(__file__).parents[1].rglob("test_*.py"))
    called = set(re.findall(r'call\(\s*"([a-z]+/[A-Za-z]+|[a-z]+)"', source)) | {"initialize"}
    assert set(load_all()) - called == set()
