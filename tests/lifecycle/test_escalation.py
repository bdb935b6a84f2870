"""gt escalate: filed as a bead, mailed to the Deacon, forwarded to the Mayor, then the Overseer."""

from __future__ import annotations

from mail_helpers import fingerprint, js, one_error_line


def _escalations(gt, who):
    return [m for m in js(gt("mail", "inbox", who, "--json"))["messages"] if m["subject"].startswith("ESCALATION ")]


def test_escalation_routes_deacon_mayor_overseer(gt, bd, town, rig):
    esc = js(gt("escalate", "refinery gates fail on main", "--severity", "high", "--json",
                env={"BD_ACTOR": "proj/witness"}))  # fmt: skip
    assert (esc["severity"], esc["holder"], esc["created_by"]) == ("high", "deacon", "proj/witness")
    bead = js(bd("show", esc["id"], "--json"))[0]
    assert bead["issue_type"] == "task" and set(bead["labels"]) == {"escalation", "severity:high"}
    assert bead["priority"] == 1 and bead["assignee"] == "deacon"
    [to_deacon] = _escalations(gt, "deacon")
    assert to_deacon["subject"] == f"ESCALATION {esc['id']} [high] refinery gates fail on main"
    assert to_deacon["sender"] == "proj/witness" and f"gt escalate --forward {esc['id']}" in to_deacon["body"]
    assert _escalations(gt, "mayor") == [] and _escalations(gt, "overseer") == []

    up = js(gt("escalate", "--forward", esc["id"], "--note", "beyond a patrol", "--json", env={"BD_ACTOR": "deacon"}))
    assert up["holder"] == "mayor"
    [to_mayor] = _escalations(gt, "mayor")
    assert to_mayor["sender"] == "deacon" and "Note: beyond a patrol (deacon)" in to_mayor["body"]
    assert gt("escalate", "--forward", esc["id"], env={"BD_ACTOR": "mayor"}).stdout.strip() == (
        f"forwarded {esc['id']} to overseer"
    )
    [to_overseer] = _escalations(gt, "overseer")
    assert to_overseer["sender"] == "mayor"
    one_error_line(gt("escalate", "--forward", esc["id"], check=False), "already with the Overseer")
    comments = js(bd("show", esc["id"], "--json"))[0]["comments"]
    assert [c["text"] for c in comments] == ["forwarded to mayor by deacon: beyond a patrol",
                                             "forwarded to overseer by mayor"]  # fmt: skip

    listed = js(gt("escalate", "list", "--json"))
    assert [(e["id"], e["holder"]) for e in listed] == [(esc["id"], "overseer")]
    bd("close", esc["id"])
    assert js(gt("escalate", "list", "--json")) == []
    assert [e["id"] for e in js(gt("escalate", "list", "--all", "--json"))] == [esc["id"]]
    one_error_line(gt("escalate", "--forward", esc["id"], check=False), "is closed")


def test_critical_goes_to_mayor_and_overseer_at_once(gt, town):
    esc = js(gt("escalate", "origin", "rejects", "every", "push", "--severity", "critical", "--json",
                env={"BD_ACTOR": "deacon"}))  # fmt: skip
    assert esc["holder"] == "mayor" and len(esc["mail"]) == 2
    assert [m["subject"] for m in _escalations(gt, "overseer")] == [f"ESCALATION {esc['id']} [critical] origin rejects every push"]
    assert len(_escalations(gt, "mayor")) == 1 and _escalations(gt, "deacon") == []
    low = js(gt("escalate", "flaky test", "--severity", "low", "--json"))
    assert [e["id"] for e in js(gt("escalate", "list", "--json"))] == [esc["id"], low["id"]]  # most urgent first
    assert "escalated" in gt("escalate", "disk nearly full").stdout  # default severity medium


def test_escalation_bad_input_is_one_line_and_changes_nothing(gt, bd, town, new_bead):
    plain = new_bead("Not an escalation")
    before = fingerprint(bd, town.root)
    one_error_line(gt("escalate", "x", "--severity", "huge", check=False), "invalid severity 'huge'")
    one_error_line(gt("escalate", check=False), "describe the problem")
    one_error_line(gt("escalate", "--forward", "hq-ghost", check=False), "no escalation 'hq-ghost'")
    one_error_line(gt("escalate", "--forward", plain, check=False), f"{plain} is not an escalation")
    one_error_line(gt("escalate", "--forward", plain, "extra", "words", check=False), "--forward takes")
    one_error_line(gt("escalate", "stuck", "--actor", "bad actor!", check=False), "invalid address")
    assert fingerprint(bd, town.root) == before
