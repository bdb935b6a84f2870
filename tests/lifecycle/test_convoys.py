"""gt convoy as real processes in a real town: create/add/status/land/check, stranded work, bad input."""

from __future__ import annotations

from mail_helpers import fingerprint, js, one_error_line


def _landed_mail(gt, who: str) -> list[str]:
    return [m["subject"] for m in js(gt("mail", "inbox", who, "--json"))["messages"]
            if m["subject"].startswith("CONVOY_LANDED")]  # fmt: skip


def test_convoy_create_add_status_land_check(gt, bd, town, rig, new_bead):
    town_bead = new_bead("Write the announcement")
    rig_bead = js(bd("create", "Fix the parser", "--prefix", "pj", "--json"))["id"]
    blocker = new_bead("Decide the format")
    blocked = new_bead("Ship the format")
    bd("dep", "add", blocked, blocker)

    created = js(gt("convoy", "create", "Release 1.0", town_bead, "--json", env={"BD_ACTOR": "mayor"}))
    cid = created["convoy"]["id"]
    assert created["convoy"]["created_by"] == "mayor" and created["progress"]["total"] == 1
    added = js(gt("convoy", "add", cid, rig_bead, blocked, town_bead, "--json"))  # town_bead again: skipped
    assert [b["id"] for b in added["tracked"]] == [town_bead, rig_bead, blocked]

    bd("update", rig_bead, "--assignee", "proj/polecats/alpha")
    status = js(gt("convoy", "status", cid, "--json"))
    rows = {b["id"]: (b["status"], b["assignee"], b["rig"]) for b in status["tracked"]}
    assert rows == {town_bead: ("open", "", "town"), rig_bead: ("open", "proj/polecats/alpha", "proj"),
                    blocked: ("open", "", "town")}  # fmt: skip
    text = gt("convoy", "status", cid).stdout
    assert text.splitlines()[0] == f"{cid} Release 1.0 [open] 0/3 closed"
    assert "proj/polecats/alpha" in text and " proj " in text and "(blocked)" in text

    # stranded: tracked, ready, nobody on it (the assigned one and the blocked one are not)
    check = js(gt("convoy", "check", "--json"))
    assert check["landed"] == []
    assert [(s["convoy"], s["id"], s["rig"]) for s in check["stranded"]] == [(cid, town_bead, "town")]
    assert f"stranded: 1 tracked bead(s)" in gt("convoy", "check").stdout

    # landing is refused while work is open, and changes nothing
    one_error_line(gt("convoy", "land", cid, check=False), f"convoy {cid} has not finished", "--force")
    for bead in (town_bead, rig_bead, blocker, blocked):
        bd("close", bead)
    listed = js(gt("convoy", "list", "--json"))
    assert [(c["id"], c["landed"], c["status"]) for c in listed] == [(cid, True, "open")]
    landed = js(gt("convoy", "land", cid, "--json", env={"BD_ACTOR": "mayor"}))
    assert landed["convoy"]["status"] == "closed" and landed["convoy"]["close_reason"] == "landed"
    assert _landed_mail(gt, "overseer") == _landed_mail(gt, "mayor") == [f"CONVOY_LANDED {cid}: Release 1.0"]
    body = js(gt("mail", "inbox", "overseer", "--json"))["messages"][0]["body"]
    assert f"Convoy: {cid}" in body and "Progress: 3/3 closed" in body and "Landed-By: mayor" in body
    assert js(gt("convoy", "list", "--json")) == []
    assert [c["id"] for c in js(gt("convoy", "list", "--all", "--json"))] == [cid]
    assert gt("convoy", "status", cid).stdout.splitlines()[0] == f"{cid} Release 1.0 [landed] 3/3 closed"

    # adding work to a landed convoy reopens it
    more = new_bead("Follow-up")
    assert js(gt("convoy", "add", cid, more, "--json"))["convoy"]["status"] == "open"


def test_convoy_check_lands_finished_convoys_only(gt, bd, town, new_bead):
    a, b, c = new_bead("A"), new_bead("B"), new_bead("C")
    done = js(gt("convoy", "create", "Done soon", a, b, "--json"))["convoy"]["id"]
    pending = js(gt("convoy", "create", "Still going", c, "--json"))["convoy"]["id"]
    empty = js(gt("convoy", "create", "Nothing tracked", "--json"))["convoy"]["id"]
    bd("close", a)
    bd("close", b)
    check = js(gt("convoy", "check", "--json"))
    assert check["landed"] == [done]
    assert [(s["convoy"], s["id"]) for s in check["stranded"]] == [(pending, c)]
    assert js(gt("convoy", "check", "--json"))["landed"] == []  # idempotent: landed once, mailed once
    assert _landed_mail(gt, "mayor") == [f"CONVOY_LANDED {done}: Done soon"]
    assert {x["id"] for x in js(gt("convoy", "list", "--json"))} == {pending, empty}


def test_convoy_list_recent_shows_the_last_landed_newest_first(gt, town, new_bead):
    """Seen: right after the demo both editors said "No convoys": the landed convoy was hidden."""
    ids = []
    for title in ("first", "second", "third"):
        cid = js(gt("convoy", "create", f"Convoy {title}", new_bead(f"work {title}"), "--json"))["convoy"]["id"]
        gt("convoy", "land", cid, "--force")
        ids.append(cid)
    still_open = js(gt("convoy", "create", "Convoy open", new_bead("more"), "--json"))["convoy"]["id"]
    recent = js(gt("convoy", "list", "--recent", "--json"))
    assert [c["id"] for c in recent] == ids[::-1]
    assert all(c["status"] == "closed" for c in recent)
    assert all(c["closed_at"] for c in recent) and still_open not in [c["id"] for c in recent]
    assert [c["id"] for c in js(gt("convoy", "list", "--recent", "--limit", "2", "--json"))] == ids[:0:-1]
    assert [c["id"] for c in js(gt("convoy", "list", "--json"))] == [still_open]


def test_convoy_force_land_and_close(gt, town, new_bead):
    a = new_bead("A")
    cid = js(gt("convoy", "create", "Abandon ship", a, "--json"))["convoy"]["id"]
    forced = js(gt("convoy", "land", cid, "--force", "--json"))
    assert forced["convoy"]["close_reason"] == "landed (forced)"
    assert "Forced: yes" in js(gt("mail", "inbox", "mayor", "--json"))["messages"][0]["body"]
    other = js(gt("convoy", "create", "Moved", a, "--json"))["convoy"]["id"]
    closed = js(gt("convoy", "close", other, "--reason", "moved to the next release", "--json"))
    assert closed["status"] == "closed" and closed["close_reason"] == "moved to the next release"
    assert len(js(gt("mail", "inbox", "mayor", "--json"))["messages"]) == 1  # closing mails nobody


def test_convoy_bad_input_is_one_line_and_changes_nothing(gt, bd, town, new_bead):
    a = new_bead("A")
    cid = js(gt("convoy", "create", "C", a, "--json"))["convoy"]["id"]
    landed = js(gt("convoy", "create", "L", "--json"))["convoy"]["id"]
    gt("convoy", "land", landed, "--force")
    before = fingerprint(bd, town.root)
    one_error_line(gt("convoy", "create", "X", a, "hq-ghost", check=False), "hq-ghost")
    one_error_line(gt("convoy", "create", "  ", a, check=False), "title")
    for argv in (("status", "hq-ghost"), ("land", "hq-ghost"), ("close", "hq-ghost"), ("add", "hq-ghost", a)):
        one_error_line(gt("convoy", *argv, check=False), "no convoy 'hq-ghost'")
    one_error_line(gt("convoy", "add", cid, a, "hq-ghost", check=False), "no bead 'hq-ghost'", "nothing added")
    one_error_line(gt("convoy", "add", cid, cid, check=False), "cannot track itself")
    one_error_line(gt("convoy", "status", a, check=False), f"{a} is not a convoy")
    one_error_line(gt("convoy", "land", a, check=False), f"{a} is not a convoy")
    one_error_line(gt("convoy", "land", cid, check=False), "has not finished")
    one_error_line(gt("convoy", "land", landed, check=False), "already closed")
    one_error_line(gt("convoy", "close", landed, check=False), "already closed")
    one_error_line(gt("convoy", "create", "X", a, "--actor", "bad actor!", check=False), "invalid address")
    assert fingerprint(bd, town.root) == before
