"""convoy/add, convoy/land, convoy/check, mail/archive, mail/thread against a real server."""

from __future__ import annotations

import pytest

from gastown_server.rpc.client import RpcError


def _error(c, method, params):
    with pytest.raises(RpcError) as err:
        c.call(method, params)
    assert "\n" not in err.value.message and "Traceback" not in err.value.message
    return err.value


def test_convoy_add_land_check(connect):
    c = connect(actor="mayor")
    a = c.call("bead/create", {"title": "A"})["id"]
    b = c.call("bead/create", {"title": "B"})["id"]
    cv = c.call("convoy/create", {"title": "Ship", "tracked": [a]})["id"]
    tree = c.call("convoy/add", {"id": cv, "tracked": [a, b]})  # a already tracked: skipped
    assert [t["id"] for t in tree["tracked"]] == [a, b] and tree["progress"]["total"] == 2
    assert all("rig" in t for t in tree["tracked"])

    check = c.call("convoy/check")
    assert check["landed"] == [] and {s["id"] for s in check["stranded"]} == {a, b}
    assert {s["convoy"] for s in check["stranded"]} == {cv}

    refused = _error(c, "convoy/land", {"id": cv})
    assert "has not finished" in refused.message and "--force" in refused.message
    assert c.call("convoy/tree", {"id": cv})["convoy"]["status"] == "open"

    c.call("bead/close", {"id": a})
    c.call("bead/close", {"id": b})
    landed = c.call("convoy/check")
    assert landed == {"landed": [cv], "stranded": []}
    assert c.call("convoy/tree", {"id": cv})["convoy"]["status"] == "closed"
    for who in ("overseer", "mayor"):
        subjects = [m["subject"] for m in c.call("mail/inbox", {"address": who})["messages"]]
        assert subjects == [f"CONVOY_LANDED {cv}: Ship"], who
    assert _error(c, "convoy/land", {"id": cv}).message.endswith("is already closed")


def test_convoy_land_force_and_bad_ids(connect):
    c = connect()
    a = c.call("bead/create", {"title": "A"})["id"]
    cv = c.call("convoy/create", {"title": "Partial", "tracked": [a]})["id"]
    err = _error(c, "convoy/add", {"id": cv, "tracked": ["t-ghost"]})
    assert err.code == -33001 and "t-ghost" in err.message
    assert _error(c, "convoy/add", {"id": "t-ghost", "tracked": [a]}).code == -33001
    assert _error(c, "convoy/land", {"id": a}).code == -33002  # not a convoy
    assert _error(c, "convoy/land", {"id": cv, "force": "yes"}).code == -32602
    assert c.call("convoy/tree", {"id": cv})["progress"]["total"] == 1
    tree = c.call("convoy/land", {"id": cv, "force": True})
    assert tree["convoy"]["status"] == "closed" and tree["convoy"]["close_reason"] == "landed (forced)"


def test_mail_thread_and_archive(connect):
    overseer = connect()
    mayor = connect(actor="mayor")
    first = overseer.call("mail/send", {"to": "mayor", "subject": "Plan", "body": "1"})["id"]
    second = mayor.call("mail/reply", {"id": first, "body": "2"})["id"]
    third = overseer.call("mail/reply", {"id": second, "body": "3"})["id"]
    for any_id in (first, second, third):
        thread = mayor.call("mail/thread", {"id": any_id})["messages"]
        assert [m["id"] for m in thread] == [first, second, third]
        assert [m["body"] for m in thread] == ["1", "2", "3"]
    archived = mayor.call("mail/archive", {"id": third})
    assert archived["status"] == "closed" and archived["read"]
    assert [m["id"] for m in mayor.call("mail/inbox")["messages"]] == [first]
    assert _error(mayor, "mail/archive", {"id": third}).code == -33003  # already closed
