"""The merge queue end to end on real git: gt done -> Refinery -> MERGED / MERGE_FAILED / REWORK_REQUEST."""

from __future__ import annotations

import subprocess

import pytest

from gastown_server.errors import Conflict, InvalidInput, NotFound, Unavailable
from gastown_server.work import gates, hooks, mail
from gastown_server.work import merge_requests as mrs
from gastown_server.work.done import done
from gastown_server.work.git import Git
from gastown_server.work.refinery import drain, process_next


def _patch_ids(git: Git, rev: str) -> list[str]:
    """Stable patch ids of every commit reachable from ``rev`` (equal ids = the same change)."""
    log = git.run("log", "-p", "--format=commit %H", rev).stdout
    out = subprocess.run(["git", "patch-id", "--stable"], input=log, capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines()]


def _field(message: mail.Message, key: str) -> str:
    for line in message.body.splitlines():
        if line.startswith(f"{key}: "):
            return line[len(key) + 2 :]
    raise AssertionError(f"no {key}: in {message.body!r}")


def test_three_polecats_one_conflicting_reworked_and_merged(rig):
    a, b, c = rig.polecat("alpha"), rig.polecat("bravo"), rig.polecat("charlie")
    a.commit("alpha.txt", "alpha\n", "alpha: add alpha.txt")
    b.commit("shared.txt", "line 1\nline 2 by bravo\nline 3\n", "bravo: edit line 2")
    c_first = c.commit("shared.txt", "line 1\nline 2 by charlie\nline 3\n", "charlie: edit line 2")
    c.commit("charlie.txt", "charlie\n", "charlie: add charlie.txt")

    results = [done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address) for p in (a, b, c)]
    assert all(r.created and not r.pushed for r in results)
    assert [m.subject for m in rig.witness_mail("POLECAT_DONE")] == [
        "POLECAT_DONE alpha", "POLECAT_DONE bravo", "POLECAT_DONE charlie",
    ]  # fmt: skip
    note = rig.witness_mail("POLECAT_DONE")[2]
    assert _field(note, "Exit") == "MERGED"
    assert _field(note, "MR") == results[2].mr.id
    assert _field(note, "Branch") == c.branch

    outcomes = drain(rig.ledger, rig.rig)
    assert [o.result for o in outcomes] == ["merged", "merged", "rework"]
    assert outcomes[2].conflict_files == ["shared.txt"]
    rework = c.inbox("REWORK_REQUEST")
    assert len(rework) == 1 and rework[0].subject == "REWORK_REQUEST charlie"
    assert _field(rework[0], "Conflict-Files") == "shared.txt"
    mr_c = mrs.get(rig.ledger, results[2].mr.id)
    assert (mr_c.status, mr_c.assignee) == ("deferred", c.address)
    # The rejected work is untouched: the polecat's branch still holds its commits.
    assert c.git.is_ancestor(c_first, c.branch)

    # Rework: rebase onto main in the polecat's own worktree, resolve, continue, done again.
    proc = c.git.run("rebase", "main", check=False)
    assert proc.returncode != 0 and c.git.conflict_files() == ["shared.txt"]
    (c.path / "shared.txt").write_text("line 1\nline 2 by bravo and charlie\nline 3\n")
    c.git.run("add", "shared.txt")
    c.git.run("rebase", "--continue")
    again = done(rig.ledger, rig.rig, worktree=c.path, polecat=c.address)
    assert again.mr.id == results[2].mr.id and not again.created
    assert len(mrs.for_branch(rig.ledger, rig.rig.name, c.branch)) == 1

    final = drain(rig.ledger, rig.rig)
    assert [o.result for o in final] == ["merged"]
    subjects = rig.main_subjects()
    for s in ("alpha: add alpha.txt", "bravo: edit line 2", "charlie: edit line 2", "charlie: add charlie.txt"):
        assert subjects.count(s) == 1, subjects
    assert len(subjects) == 5
    pids = _patch_ids(rig.git, "main")
    assert len(pids) == len(set(pids)) == 5  # the root commit and four changes, none twice
    assert rig.origin_main() == rig.git.branch_sha("main")
    assert (rig.repo / "shared.txt").read_text() == "line 1\nline 2 by bravo and charlie\nline 3\n"
    merged = rig.witness_mail("MERGED")
    assert sorted(m.subject for m in merged) == ["MERGED alpha", "MERGED bravo", "MERGED charlie"]
    assert _field([m for m in merged if m.subject == "MERGED charlie"][0], "Merge-Commit") == rig.git.branch_sha("main")
    for r in results:
        mr = mrs.get(rig.ledger, r.mr.id)
        assert mr.merged and mr.close_reason == f"merged {mr.meta.merged}"
        assert rig.git.is_ancestor(mr.meta.merged, "main")
    # bravo's commit was rebased onto alpha's by the Refinery: author bravo, committer the Refinery.
    # charlie's had been rebased by charlie itself, so main fast-forwarded onto it unchanged.
    who = dict(ln.split("|", 1) for ln in rig.git.out("log", "--format=%s|%an %cn", "main").splitlines())
    assert who["bravo: edit line 2"] == f"{b.address} gastown/refinery"
    assert who["charlie: add charlie.txt"] == f"{c.address} {c.address}"


def test_gate_failure_reaches_polecat_as_merge_failed(rig):
    gates.save(rig.ledger, rig.rig.name, actor="overseer", gates=["test -f LICENSE || { echo 'LICENSE missing'; exit 3; }"])
    p = rig.polecat("delta")
    p.commit("delta.txt", "delta\n", "delta: work")
    issue = rig.ledger.create("Delta feature", actor="mayor", prefix="gs")
    hooks.hook(rig.ledger, issue.id, p.address, actor="mayor")
    main_before, origin_before = rig.git.branch_sha("main"), rig.origin_main()
    r = done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)  # the issue comes from the hook
    assert r.mr.meta.issue == issue.id
    assert (rig.ledger.get(issue.id).status, hooks.hooked_work(rig.ledger, p.address)) == ("in_progress", [])

    outcome = process_next(rig.ledger, rig.rig)
    assert (outcome.result, outcome.failure_type) == ("failed", "tests")
    failed = p.inbox("MERGE_FAILED")
    assert [m.subject for m in failed] == ["MERGE_FAILED delta"]
    assert _field(failed[0], "Failure-Type") == "tests"
    assert "exited 3" in failed[0].body and "LICENSE missing" in failed[0].body
    assert [m.subject for m in rig.witness_mail("MERGE_FAILED")] == ["MERGE_FAILED delta"]
    assert rig.git.branch_sha("main") == main_before and rig.origin_main() == origin_before
    mr = mrs.get(rig.ledger, r.mr.id)
    assert (mr.status, mr.assignee) == ("blocked", p.address)
    assert process_next(rig.ledger, rig.rig).result == "idle"  # a failed MR is not retried by itself
    assert [b.id for b in hooks.hooked_work(rig.ledger, p.address)] == [issue.id]  # GUPP: back to work
    assert _field(failed[0], "Issue") == issue.id

    p.commit("LICENSE", "MIT\n", "delta: add LICENSE")
    again = done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    assert again.mr.id == r.mr.id
    assert process_next(rig.ledger, rig.rig).result == "merged"
    assert rig.main_subjects()[:2] == ["delta: add LICENSE", "delta: work"]
    assert not mrs.get(rig.ledger, r.mr.id).meta.warnings
    closed = rig.ledger.get(issue.id)
    assert (closed.status, closed.close_reason) == ("closed", f"merged {rig.git.branch_sha('main')} ({r.mr.id})")


def test_build_gate_and_timeout_report_their_type(rig):
    gates.save(rig.ledger, rig.rig.name, actor="overseer",
               gates=[{"run": "true", "kind": "build"}, {"run": "sleep 5", "kind": "build", "timeout": 0.3}])  # fmt: skip
    p = rig.polecat("echo")
    p.commit("e.txt", "e\n", "echo: work")
    done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    outcome = process_next(rig.ledger, rig.rig)
    assert (outcome.result, outcome.failure_type) == ("failed", "build")
    assert "timed out after 0.3s" in p.inbox("MERGE_FAILED")[0].body
    assert outcome.seconds < 4


def test_no_gate_rig_merges_with_warning_unless_gates_required(rig):
    p = rig.polecat("foxtrot")
    p.commit("f.txt", "f\n", "foxtrot: work")
    r = done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    gates.save(rig.ledger, rig.rig.name, actor="overseer", require_gates=True)
    events = rig.event_count()
    with pytest.raises(InvalidInput, match="requires gates but none is configured"):
        process_next(rig.ledger, rig.rig)
    assert rig.event_count() == events and mrs.get(rig.ledger, r.mr.id).status == "open"

    gates.save(rig.ledger, rig.rig.name, actor="overseer", require_gates=False)
    outcome = process_next(rig.ledger, rig.rig)
    assert outcome.result == "merged"
    assert outcome.warnings and "no gates configured" in outcome.warnings[0]
    assert mrs.get(rig.ledger, r.mr.id).meta.warnings == outcome.warnings
    merged = p.inbox("MERGED")[0]
    assert "Warning: no gates configured for rig gastown" in merged.body


def test_done_with_uncommitted_changes_changes_nothing(rig):
    p = rig.polecat("golf")
    p.commit("g.txt", "g\n", "golf: work")
    (p.path / "g.txt").write_text("edited but not committed\n")
    (p.path / "new.txt").write_text("untracked\n")
    beads, events = rig.bead_count(), rig.event_count()
    with pytest.raises(InvalidInput) as err:
        done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    assert str(err.value).startswith(f"uncommitted changes in {p.path}: commit or stash them first")
    assert "g.txt" in str(err.value) and "new.txt" in str(err.value)
    assert (rig.bead_count(), rig.event_count()) == (beads, events)
    assert (p.path / "g.txt").read_text() == "edited but not committed\n"


@pytest.mark.parametrize("address", ["not an address!", "mayor", "gastown/witness", "other/polecats/golf", ""])
def test_done_with_a_malformed_address_changes_nothing(rig, address):
    p = rig.polecat("hotel")
    p.commit("h.txt", "h\n", "hotel: work")
    beads, events = rig.bead_count(), rig.event_count()
    with pytest.raises(InvalidInput) as err:
        done(rig.ledger, rig.rig, worktree=p.path, polecat=address)
    assert "\n" not in str(err.value)
    assert (rig.bead_count(), rig.event_count()) == (beads, events)


def test_done_refuses_unknown_issue_empty_branch_and_base(rig):
    p = rig.polecat("india")
    with pytest.raises(InvalidInput, match="nothing to merge"):
        done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    p.commit("i.txt", "i\n", "india: work")
    with pytest.raises(NotFound):
        done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address, issue="gs-nope")
    with pytest.raises(InvalidInput, match="is on main itself"):
        done(rig.ledger, rig.rig, worktree=rig.repo, polecat=p.address)
    assert rig.bead_count() == 0


def test_done_twice_keeps_one_mr_and_merged_head_is_not_resubmitted(rig):
    issue = rig.ledger.create("Do the juliet thing", actor="mayor", prefix="gs")
    p = rig.polecat("juliet")
    p.commit("j.txt", "j\n", "juliet: work")
    first = done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address, issue=issue.id)
    second = done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address, issue=issue.id)
    assert first.mr.id == second.mr.id and not second.created
    assert first.mr.id.startswith("gs-") and first.mr.meta.issue == issue.id
    assert [d.depends_on_id for d in rig.ledger.dependencies(first.mr.id)] == [issue.id]
    assert process_next(rig.ledger, rig.rig).result == "merged"
    with pytest.raises(InvalidInput, match="nothing to merge"):
        done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    assert process_next(rig.ledger, rig.rig).result == "idle"
    assert rig.main_subjects().count("juliet: work") == 1


def test_crew_clone_pushes_its_branch_to_the_canonical_clone(rig):
    clone = rig.town / "gastown" / "crew" / "kilo"
    Git(rig.tmp).run("clone", "-q", str(rig.repo), str(clone))
    g = Git(clone, actor="gastown/crew/kilo")
    g.run("checkout", "-q", "-b", "crew/kilo")
    (clone / "k.txt").write_text("k\n")
    g.run("add", "k.txt")
    g.run("commit", "-q", "-m", "kilo: work")
    r = done(rig.ledger, rig.rig, worktree=clone, polecat="gastown/crew/kilo")
    assert r.pushed and rig.git.branch_sha("crew/kilo") == g.sha("HEAD")
    assert process_next(rig.ledger, rig.rig).result == "merged"
    assert "kilo: work" in rig.main_subjects()


def test_abandon_closes_the_mr(rig):
    p = rig.polecat("lima")
    p.commit("l.txt", "l\n", "lima: work")
    r = done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    mr = mrs.abandon(rig.ledger, r.mr.id, actor="overseer", reason="superseded")
    assert (mr.status, mr.close_reason) == ("closed", "abandoned: superseded")
    with pytest.raises(Conflict):
        mrs.abandon(rig.ledger, r.mr.id, actor="overseer")
    assert process_next(rig.ledger, rig.rig).result == "idle"


def test_bad_gate_settings_are_refused_and_change_nothing(rig):
    for bad in (["  "], [{"run": "make", "kind": "lint"}], [{"run": "x", "timeout": -1}], [{"cmd": "x"}], "make"):
        with pytest.raises(InvalidInput):
            gates.save(rig.ledger, rig.rig.name, actor="overseer", gates=bad)  # type: ignore[arg-type]
    assert rig.ledger.config_get("rig.gastown.gates") is None
    rig.ledger.config_set("rig.gastown.gates", "[not json", actor="overseer")
    with pytest.raises(InvalidInput, match="not valid JSON"):
        process_next(rig.ledger, rig.rig)


def test_done_escalated_tells_the_witness_without_an_mr(rig):
    p = rig.polecat("mike")
    p.commit("m.txt", "m\n", "mike: half done")
    r = done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address, exit="ESCALATED")
    assert r.mr is None and r.exit == "ESCALATED"
    note = rig.witness_mail("POLECAT_DONE")[0]
    assert _field(note, "Exit") == "ESCALATED" and _field(note, "Branch") == p.branch
    assert mrs.queue(rig.ledger, rig.rig.name, include_closed=True) == []
    with pytest.raises(InvalidInput, match="bad exit"):
        done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address, exit="GONE")
    assert len(rig.witness_mail()) == 1


def test_work_pushed_to_origin_elsewhere_is_picked_up_before_merging(rig):
    outside = rig.tmp / "outside"
    Git(rig.tmp).run("clone", "-q", str(rig.origin), str(outside))
    o = Git(outside, actor="overseer")
    (outside / "hotfix.txt").write_text("hotfix\n")
    o.run("add", "hotfix.txt")
    o.run("commit", "-q", "-m", "hotfix from elsewhere")
    o.run("push", "-q", "origin", "main")
    p = rig.polecat("november")
    p.commit("n.txt", "n\n", "november: work")
    done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    assert process_next(rig.ledger, rig.rig).result == "merged"
    assert rig.main_subjects()[:3] == ["november: work", "hotfix from elsewhere", "initial"]
    assert rig.origin_main() == rig.git.branch_sha("main")


def test_push_rejected_is_merge_failed_push_and_main_stays(rig):
    hook = rig.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'main is frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    p = rig.polecat("oscar")
    p.commit("o.txt", "o\n", "oscar: work")
    r = done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    before = rig.git.branch_sha("main")
    outcome = process_next(rig.ledger, rig.rig)
    assert (outcome.result, outcome.failure_type) == ("failed", "push")
    failed = p.inbox("MERGE_FAILED")[0]
    assert _field(failed, "Failure-Type") == "push" and "--push-remote ''" in failed.body
    assert rig.git.branch_sha("main") == before == rig.origin_main()
    mr = mrs.get(rig.ledger, r.mr.id)
    assert mr.status == "blocked" and not mr.meta.intended

    # Keeping merges local is a setting; the same MR then merges on `gt done` again.
    gates.save(rig.ledger, rig.rig.name, actor="overseer", push_remote="")
    done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    assert process_next(rig.ledger, rig.rig).result == "merged"
    assert rig.main_subjects()[0] == "oscar: work" and rig.origin_main() == before


def test_diverged_main_is_refused_with_one_line(rig):
    outside = rig.tmp / "outside"
    Git(rig.tmp).run("clone", "-q", str(rig.origin), str(outside))
    o = Git(outside, actor="overseer")
    (outside / "x.txt").write_text("x\n")
    o.run("add", "x.txt")
    o.run("commit", "-q", "-m", "origin side")
    o.run("push", "-q", "origin", "main")
    (rig.repo / "y.txt").write_text("y\n")
    rig.git.run("add", "y.txt")
    rig.git.run("commit", "-q", "-m", "clone side")
    p = rig.polecat("papa")
    p.commit("p.txt", "p\n", "papa: work")
    r = done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    with pytest.raises(Unavailable, match="has diverged from origin/main"):
        process_next(rig.ledger, rig.rig)
    assert mrs.get(rig.ledger, r.mr.id).status == "open"


def test_done_while_the_refinery_holds_the_mr_is_refused(rig):
    p = rig.polecat("quebec")
    p.commit("q.txt", "q\n", "quebec: work")
    r = done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    claimed = mrs.claim_next(rig.ledger, rig.rig.name, actor="gastown/refinery")
    assert claimed.id == r.mr.id and claimed.assignee == "gastown/refinery"
    assert mrs.claim_next(rig.ledger, rig.rig.name, actor="gastown/refinery") is None
    p.commit("q2.txt", "q2\n", "quebec: more")
    events = rig.event_count()
    with pytest.raises(Conflict, match="is being merged by gastown/refinery right now"):
        done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    assert rig.event_count() == events
    # The interrupted claim is put back by the next Refinery pass, then merged with the submitted head.
    assert process_next(rig.ledger, rig.rig).result == "requeued"
    assert process_next(rig.ledger, rig.rig).result == "merged"
    assert "quebec: more" not in rig.main_subjects() and "quebec: work" in rig.main_subjects()


def test_drain_with_a_budget_merges_in_order_one_at_a_time_and_leaves_the_rest_queued(rig):
    gates.save(rig.ledger, rig.rig.name, actor="overseer", gates=[{"run": "sleep 0.2", "kind": "tests"}])
    a, b, c = rig.polecat("alpha"), rig.polecat("bravo"), rig.polecat("charlie")
    a.commit("alpha.txt", "alpha\n", "alpha: add alpha.txt")
    b.commit("shared.txt", "line 1\nline 2 by bravo\nline 3\n", "bravo: edit line 2")
    c.commit("shared.txt", "line 1\nline 2 by charlie\nline 3\n", "charlie: edit line 2")
    ids = [done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address).mr.id for p in (a, b, c)]

    # A budget smaller than one merge: the first MR still goes through (gate and all), then it stops.
    first = drain(rig.ledger, rig.rig, budget_s=0.01)
    assert [(o.mr_id, o.result) for o in first] == [(ids[0], "merged")]
    assert [m.id for m in mrs.queue(rig.ledger, rig.rig.name) if m.status == "open"] == ids[1:]
    # Room for the rest: each in queue order, each through its own pass (the conflict bounced as always).
    rest = drain(rig.ledger, rig.rig, budget_s=120)
    assert [(o.mr_id, o.result) for o in rest] == [(ids[1], "merged"), (ids[2], "rework")]
    assert all(o.seconds >= 0.2 for o in [*first, rest[0]])  # the gate ran for each merge
    assert rig.main_subjects().count("alpha: add alpha.txt") == rig.main_subjects().count("bravo: edit line 2") == 1
    assert [m.subject for m in c.inbox("REWORK_REQUEST")] == ["REWORK_REQUEST charlie"]
    assert drain(rig.ledger, rig.rig, budget_s=120) == []
