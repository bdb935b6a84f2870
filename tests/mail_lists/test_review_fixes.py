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
