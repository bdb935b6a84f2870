"""mail/send to list:/queue:, mail/inbox with queue work, mail/claim, mail/release, mail/lists: real server."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rpc_helpers import clean_env

from gastown_server.rpc.client import RpcError


def _gt(town, *argv):
    proc = subprocess.run([sys.executable, "-m", "gastown_server.cli.gt", *argv], cwd=town, capture_output=True,
                          text=True, env=clean_env(GT_TOWN=str(town)))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc


def _error(c, method, params):
    with pytest.raises(RpcError) as err:
        c.call(method, params)
    assert "\n" not in err.value.message and "Traceback" not in err.value.message
    return err.value


def test_lists_and_queues_over_rpc(connect, town):
    _gt(town, "mail", "list", "create", "oncall", "mayor", "deacon")
    _gt(town, "mail", "queue", "create", "triage", "--worker", "mayor", "--worker", "deacon")
    overseer, mayor, deacon = connect(), connect(actor="mayor"), connect(actor="deacon")

    view = overseer.call("mail/lists")
    assert view["lists"] == [{"name": "oncall", "address": "list:oncall", "members": ["mayor", "deacon"]}]
    assert view["queues"] == [{"name": "triage", "address": "queue:triage", "workers": ["mayor", "deacon"],
                               "members": ["mayor", "deacon"], "unclaimed": 0}]  # fmt: skip

    fan = overseer.call("mail/send", {"to": "list:oncall", "subject": "Outage", "body": "db down"})
    assert fan["kind"] == "list" and fan["recipients"] == ["mayor", "deacon"] and len(fan["message_ids"]) == 2
    # still a Message: the first copy, so clients reading id/to keep working
    assert (fan["id"], fan["to"], fan["thread_id"], fan["mailing_list"]) == (fan["message_ids"][0], "mayor",
                                                                             fan["message_ids"][0], "oncall")
    job = overseer.call("mail/send", {"to": "queue:triage", "subject": "Flaky", "body": "run 42"})
    assert (job["kind"], job["to"], job["queue"], job["recipients"]) == ("queue", "queue:triage", "triage",
                                                                         ["queue:triage"])
    direct = overseer.call("mail/send", {"to": "mayor/", "subject": "Hi"})
    assert (direct["kind"], direct["recipients"], direct["message_ids"]) == ("direct", ["mayor"], [direct["id"]])

    box = mayor.call("mail/inbox")
    assert [(m["subject"], m["queue"]) for m in box["messages"]] == [("Outage", ""), ("Flaky", "triage"), ("Hi", "")]
    assert (box["unread"], box["queued"]) == (2, 1)
    assert overseer.call("mail/inbox")["messages"] == []
    assert [m["id"] for m in overseer.call("mail/inbox", {"address": "queue:triage"})["messages"]] == [job["id"]]
    assert overseer.call("mail/lists")["queues"][0]["unclaimed"] == 1

    got = deacon.call("mail/claim", {"queue": "triage"})
    assert got["queue"] == "triage" and (got["message"]["id"], got["message"]["to"]) == (job["id"], "deacon")
    assert got["message"]["claimed_from"] == "triage"
    assert mayor.call("mail/claim", {"queue": "queue:triage"}) == {"queue": "triage", "message": None}
    assert mayor.call("mail/inbox")["queued"] == 0
    assert _error(mayor, "mail/release", {"id": job["id"]}).code == -33003  # deacon's, not mayor's
    back = deacon.call("mail/release", {"id": job["id"]})
    assert (back["to"], back["queue"]) == ("queue:triage", "triage")
    # the Overseer's session claims on a worker's behalf with address
    assert overseer.call("mail/claim", {"queue": "triage", "address": "mayor"})["message"]["to"] == "mayor"


def test_bad_list_and_queue_calls_send_nothing(connect, town):
    _gt(town, "mail", "list", "create", "oncall", "mayor")
    _gt(town, "mail", "queue", "create", "triage", "--worker", "mayor")
    c = connect()
    assert _error(c, "mail/send", {"to": "list:nope", "subject": "x"}).code == -33001
    assert _error(c, "mail/send", {"to": "queue:nope", "subject": "x"}).code == -33001
    assert _error(c, "mail/send", {"to": "queue:Bad Name", "subject": "x"}).code == -33002
    assert _error(c, "mail/send", {"to": "list:oncall", "subject": " "}).code == -33002
    assert _error(c, "mail/claim", {"queue": "nope"}).code == -33001
    assert "not a worker" in _error(c, "mail/claim", {"queue": "triage"}).message
    assert _error(c, "mail/claim", {"queue": "triage", "who": "mayor"}).code == -32602
    assert _error(c, "mail/inbox", {"address": "list:oncall"}).code == -33002
    assert c.call("mail/inbox", {"address": "mayor"})["messages"] == []
    assert c.call("mail/lists")["queues"][0]["unclaimed"] == 0

    (town / "settings" / "messaging.json").write_text('{"lists": {"oncall": "mayor"}}')
    err = _error(c, "mail/send", {"to": "list:oncall", "subject": "x"})
    assert err.code == -33002 and "lists.oncall" in err.message
    assert _error(c, "mail/lists", {}).code == -33002


def test_broken_messaging_config_keeps_direct_mail_over_rpc(connect, town):
    _gt(town, "mail", "queue", "create", "triage", "--worker", "mayor")
    c, mayor = connect(), connect(actor="mayor")
    sent = c.call("mail/send", {"to": "mayor", "subject": "hello"})
    assert mayor.call("mail/inbox")["warning"] == ""
    (town / "settings" / "messaging.json").write_text('{"lists": {"oncall": "mayor"}}')
    box = mayor.call("mail/inbox")
    assert [m["id"] for m in box["messages"]] == [sent["id"]] and box["unread"] == 1
    assert box["warning"].startswith("queue work not shown: ") and "messaging.json" in box["warning"]
    assert "messaging.json" in _error(c, "mail/send", {"to": "queue:triage", "subject": "x"}).message


def test_claiming_for_someone_else_is_the_overseers_alone(connect, town):
    _gt(town, "mail", "queue", "create", "triage", "--worker", "mayor", "--worker", "deacon")
    overseer, mayor = connect(), connect(actor="mayor")
    job = overseer.call("mail/send", {"to": "queue:triage", "subject": "Flaky"})
    err = _error(mayor, "mail/claim", {"queue": "triage", "address": "deacon"})
    assert err.code == -33003 and "only the overseer" in err.message
    assert overseer.call("mail/inbox", {"address": "queue:triage"})["queued"] == 1  # nothing claimed
    assert mayor.call("mail/claim", {"queue": "triage", "address": "mayor/"})["message"]["id"] == job["id"]


def test_mail_methods_without_a_town_say_so(tmp_path):
    from gastown_server.rpc.client import Client, server_command

    proc = subprocess.Popen(server_command("--stdio"), cwd=tmp_path, env=clean_env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    c = Client(proc.stdout.fileno(), lambda b: (proc.stdin.write(b), proc.stdin.flush()), process=proc)
    try:
        assert c.initialize()["town"] is None
        for method, params in (("mail/inbox", {}), ("mail/send", {"to": "list:oncall", "subject": "x"}),
                               ("mail/claim", {"queue": "triage"}), ("mail/lists", {})):
            assert _error(c, method, params).code == -33004, method
    finally:
        proc.stdin.close()
        proc.wait(10)


def test_unread_counts_follow_one_rule(connect, town):
    """mail/inbox and gt mail inbox --json count unread mail the same way, whatever limit cuts."""
    import json

    _gt(town, "mail", "list", "create", "oncall", "mayor", "deacon")
    c, mayor = connect(), connect(actor="mayor")
    ids = [c.call("mail/send", {"to": "mayor", "subject": f"m{i}"})["id"] for i in range(3)]
    mayor.call("mail/read", {"id": ids[1]})
    for params, argv in (({}, ()), ({"limit": 1}, ("--limit", "1")), ({"unread_only": True}, ("--unread",))):
        rpc = mayor.call("mail/inbox", {"address": "mayor", **params})
        cli = json.loads(_gt(town, "mail", "inbox", "mayor", "--json", *argv).stdout)
        assert rpc["unread"] == cli["unread"] == 2, params
        assert [m["id"] for m in rpc["messages"]] == [m["id"] for m in cli["messages"]]
    # a list send leaves out its sender whatever spelling the sender uses (mayor/ is mayor)
    fan = connect(actor="mayor/").call("mail/send", {"to": "list:oncall", "subject": "hi"})
    assert fan["recipients"] == ["deacon"]
