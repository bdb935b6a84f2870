"""A refinery merge that closes a convoy's last open bead lands the convoy and mails the Overseer and the Mayor."""

from __future__ import annotations

import msgspec

from gastown_server.work import convoys, mail


def _landed(rig, who):
    return [m.subject for m in mail.inbox(rig.ledger, who) if m.subject.startswith(mail.CONVOY_LANDED)]


def test_refinery_merge_lands_the_convoy(rig, gt):
    first = rig.ledger.create("Parser fix", actor="mayor", prefix="gs")
    second = rig.ledger.create("Docs", actor="mayor", prefix="gs")
    cv = convoys.create(rig.ledger, "Release", [first.id, second.id], actor="mayor")
    other = convoys.create(rig.ledger, "Unrelated", [second.id], actor="mayor")

    a = rig.polecat("alpha")
    a.commit("a.txt", "a\n", "alpha: parser")
    gt("done", "--issue", first.id, cwd=a.path, actor=a.address)
    out = msgspec.json.decode(gt("refinery", "process-next", "--rig", "gastown", "--json", cwd=rig.repo).stdout)
    assert out["result"] == "merged"
    assert rig.ledger.get(first.id).status == "closed" and rig.ledger.get(cv.id).status == "open"
    assert _landed(rig, "overseer") == []

    b = rig.polecat("bravo")
    b.commit("b.txt", "b\n", "bravo: docs")
    gt("done", "--issue", second.id, cwd=b.path, actor=b.address)
    gt("refinery", "process-next", "--rig", "gastown", cwd=rig.repo)
    assert rig.ledger.get(second.id).status == "closed"
    for convoy in (cv, other):
        bead = rig.ledger.get(convoy.id)
        assert (bead.status, bead.close_reason) == ("closed", "landed")
    expected = sorted([f"CONVOY_LANDED {cv.id}: Release", f"CONVOY_LANDED {other.id}: Unrelated"])
    assert sorted(_landed(rig, "overseer")) == sorted(_landed(rig, "mayor")) == expected
    landed_mail = [m for m in mail.inbox(rig.ledger, "mayor") if cv.id in m.subject][0]
    assert landed_mail.sender == "gastown/refinery" and "Progress: 2/2 closed" in landed_mail.body
