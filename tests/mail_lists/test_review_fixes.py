"""Review findings on lists/queues: a broken messaging.json, delete vs send, retire releases claims."""

from __future__ import annotations

from mail_lists_helpers import as_, js, one_error_line

from gastown_server.work import mailing


def test_broken_messaging_config_still_shows_direct_mail(gt, town, rig):
    gt("mail", "queue", "create", "triage", "--worker", "mayor")
    sent = js(gt("mail", "send", "mayor", "-s", "hello", "-m", "direct mail", "--json"))
    cfg = town.root / "settings" / "messaging.json"
    for broken in ('{"lists": {"oncall": "mayor"}}', "", "{not json"):
        cfg.write_text(broken)
        text = gt("mail", "inbox", env=as_("mayor"))
        assert sent["id"] in text.stdout and "hello" in text.stdout
        warning = text.stderr.strip()
        assert "\n" not in warning and warning.startswith("gt: warning: queue work not shown: ")
        assert "messaging.json" in warning and "Traceback" not in warning
        box = js(gt("mail", "inbox", "--json", env=as_("mayor")))
        assert box["messages"][0]["id"] == sent["id"] and box["unread"] == len(box["messages"])
        assert box["queued"] == 0
        assert box["warning"].startswith("queue work not shown: ") and "messaging.json" in box["warning"]
        # group addresses still need the file: one clear error, nothing sent
        one_error_line(gt("mail", "send", "queue:triage", "-s", "x", "-m", "y", check=False), "messaging.json")
        one_error_line(gt("mail", "send", "list:oncall", "-s", "x", "-m", "y", check=False), "messaging.json")
        one_error_line(gt("mail", "inbox", "queue:triage", check=False), "messaging.json")
        # direct sends never needed it
        assert gt("mail", "send", "mayor", "-s", "still works", "-m", "y").returncode == 0


def test_healthy_config_gives_no_warning(gt, town, rig):
    gt("mail", "queue", "create", "triage", "--worker", "mayor")
    proc = gt("mail", "inbox", "--json", env=as_("mayor"))
    assert proc.stderr == "" and js(proc)["warning"] == ""


def test_queue_delete_cannot_interleave_with_a_send(gt, town, rig, monkeypatch):
    """The review's forced ordering: a real `gt mail queue delete` starts right after the send's queue check."""
    import subprocess
    import sys

    gt("mail", "queue", "create", "triage", "--worker", "mayor")
    real, racers = mailing._require_queue, []

    def check_then_race(config, name):
        out = real(config, name)
        if not racers:
            proc = subprocess.Popen([sys.executable, "-m", "gastown_server.cli.gt", "mail", "queue", "delete", name],
                                    cwd=town.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
            racers.append(proc)
            try:  # unfixed, the delete lands here (it only took the file lock); fixed, it waits for our commit
                proc.wait(timeout=4)
            except subprocess.TimeoutExpired:
                pass
        return out

    monkeypatch.setattr(mailing, "_require_queue", check_then_race)
    sent = mailing.send(town.ledger, town.root, "queue:triage", "fix the build", "please", actor="overseer")
    monkeypatch.setattr(mailing, "_require_queue", real)
    out, err = racers[0].communicate(timeout=60)
    assert racers[0].returncode == 1 and "queue:triage still holds 1 unclaimed message(s)" in err, (out, err)
    assert "triage" in mailing.load(town.root).queues
    mid = sent.messages[0].id
    assert [m["id"] for m in js(gt("mail", "inbox", "queue:triage", "--json"))["messages"]] == [mid]
    assert js(gt("mail", "claim", "triage", "--json", env=as_("mayor")))["id"] == mid
    # the other order: once the queue is gone, a send is refused and writes nothing
    gt("mail", "ack", mid, env=as_("mayor"))
    gt("mail", "queue", "delete", "triage")
    one_error_line(gt("mail", "send", "queue:triage", "-s", "x", "-m", "y", check=False), "no queue 'triage'")


def test_retiring_a_polecat_puts_its_claimed_queue_work_back(gt, town, rig):
    from gastown_server.town import identity
    from gastown_server.work.polecat_cleanup import retire

    nux, rust = "proj/polecats/nux", "proj/polecats/rust"
    gt("mail", "queue", "create", "triage", "--worker", "proj/polecats/*")
    ids = [js(gt("mail", "send", "queue:triage", "-s", s, "-m", "x", "--json"))["id"] for s in ("one", "two", "three")]
    claimed = [js(gt("mail", "claim", "triage", "--json", env=as_(nux)))["id"] for _ in ids]
    assert claimed == ids
    gt("mail", "read", ids[0], env=as_(nux))
    gt("mail", "ack", ids[2], env=as_(nux))  # finished: stays acked with nux
    direct = js(gt("mail", "send", nux, "-s", "direct", "-m", "x", "--json"))["id"]

    ident = identity.rig_identity(town.root, "proj", "pj", "polecat", "nux")
    done = retire(town, ident, actor="overseer")
    assert done.released_mail == ids[:2]
    queue = js(gt("mail", "inbox", "queue:triage", "--json"))["messages"]
    assert [(m["id"], m["read"], m["to"]) for m in queue] == [(ids[0], False, "queue:triage"),
                                                              (ids[1], False, "queue:triage")]
    acked = town.ledger.get(ids[2])
    assert (acked.status, acked.assignee) == ("closed", nux)
    assert town.ledger.get(direct).assignee == nux  # direct mail is not queue work
    assert js(gt("mail", "claim", "triage", "--json", env=as_(rust)))["id"] == ids[0]
    assert retire(town, ident, actor="overseer").released_mail == []
