"""`gt done`, `gt refinery`, `gt mq` as real processes: one clear line on bad input, nothing changed."""

from __future__ import annotations

import os
import subprocess
import sys

import msgspec

from gastown_server.work import merge_requests as mrs
from gastown_server.work.git import Git


def test_gt_done_then_refinery_round_trip(rig, gt):
    p = rig.polecat("alpha")
    p.commit("a.txt", "a\n", "alpha: work")
    out = gt("--json", "done", cwd=p.path, actor=p.address).stdout
    result = msgspec.json.decode(out)
    mr_id = result["mr"]["id"]
    assert mr_id.startswith("gs-") and result["branch"] == p.branch and result["created"] is True

    assert gt("refinery", "queue", "--rig", "gastown", "--check", cwd=p.path).returncode == 0
    listed = msgspec.json.decode(gt("mq", "list", "--rig", "gastown", "--json", cwd=p.path).stdout)
    assert [m["id"] for m in listed] == [mr_id]

    merged = gt("refinery", "process-next", "--rig", "gastown", "--json", cwd=rig.repo).stdout
    outcome = msgspec.json.decode(merged)
    assert outcome["result"] == "merged" and outcome["sha"] == rig.git.branch_sha("main")
    assert "no gates configured" in outcome["warnings"][0]
    assert gt("refinery", "queue", "--rig", "gastown", "--check", cwd=rig.repo, check=False).returncode == 1
    shown = gt("mq", "show", mr_id).stdout
    assert "merged" in shown and "gastown/refinery" in shown
    report = gt("refinery", "report", "--rig", "gastown", cwd=rig.repo).stdout
    assert report.startswith(f"{mr_id} merged ")
    status = msgspec.json.decode(gt("refinery", "status", "--rig", "gastown", "--json", cwd=rig.repo).stdout)
    assert status["counts"] == {"merged": 1} and status["push_remote"] == "origin"
    assert gt("refinery", "process-next", "--rig", "gastown", cwd=rig.repo).stdout.strip() == "merge queue is empty"


def test_process_next_all_with_a_budget_prints_each_merge(rig, gt):
    ids = []
    for name in ("alpha", "bravo"):
        p = rig.polecat(name)
        p.commit(f"{name}.txt", f"{name}\n", f"{name}: work")
        ids.append(msgspec.json.decode(gt("--json", "done", cwd=p.path, actor=p.address).stdout)["mr"]["id"])
    refused = gt("refinery", "process-next", "--rig", "gastown", "--budget", "60", cwd=rig.repo, check=False)
    assert refused.returncode == 1 and "--budget needs --all" in refused.stderr
    out = gt("refinery", "process-next", "--rig", "gastown", "--all", "--budget", "60", cwd=rig.repo).stdout
    assert [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")] == ids
    assert all(mrs.get(rig.ledger, i).merged for i in ids)
    assert gt("refinery", "process-next", "--rig", "gastown", "--all", "--budget", "60",
              cwd=rig.repo).stdout.strip() == "merge queue is empty"  # fmt: skip


def _one_error_line(proc, prog="gt"):
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_gt_done_bad_input_is_one_line_and_changes_nothing(rig, gt):
    p = rig.polecat("bravo")
    p.commit("b.txt", "b\n", "bravo: work")
    (p.path / "b.txt").write_text("dirty\n")
    beads, events = rig.bead_count(), rig.event_count()
    line = _one_error_line(gt("done", cwd=p.path, actor=p.address, check=False))
    assert f"uncommitted changes in {p.path}: commit or stash them first" in line
    (p.path / "b.txt").write_text("b\n")
    line = _one_error_line(gt("done", "--rig", "gastown", cwd=p.path, actor="gastown/polecats/Bad Name!", check=False))
    assert "invalid address" in line or "bad worker address" in line
    line = _one_error_line(gt("done", "--rig", "gastown", cwd=p.path, actor="overseer", check=False))
    assert "bad worker address 'overseer'" in line
    line = _one_error_line(gt("done", "--issue", "gs-zzz", cwd=p.path, actor=p.address, check=False))
    assert "gs-zzz" in line
    assert (rig.bead_count(), rig.event_count()) == (beads, events)


def test_gt_refinery_gates_and_failures(rig, gt):
    gt("refinery", "gates", "--rig", "gastown", "--set", "echo checking; exit 1", cwd=rig.repo)
    shown = gt("refinery", "gates", "--rig", "gastown", cwd=rig.repo).stdout
    assert shown.startswith("tests  echo checking; exit 1")
    p = rig.polecat("charlie")
    p.commit("c.txt", "c\n", "charlie: work")
    gt("done", cwd=p.path, actor=p.address)
    out = gt("refinery", "process-next", "--rig", "gastown", cwd=rig.repo).stdout
    assert "failed (tests: gate `echo checking; exit 1` exited 1)" in out
    assert [m.subject for m in p.inbox("MERGE_FAILED")] == ["MERGE_FAILED charlie"]

    events = rig.event_count()
    _one_error_line(gt("refinery", "gates", "--rig", "gastown", "--clear", "--set", "x", cwd=rig.repo, check=False))
    _one_error_line(gt("refinery", "gates", "--rig", "gastown", "--set", "x", "--timeout", "-1", cwd=rig.repo, check=False))
    _one_error_line(gt("refinery", "gates", "--rig", "gastown", "--max-interruptions", "0", cwd=rig.repo, check=False))
    _one_error_line(gt("mq", "show", "gs-nothere", check=False))
    _one_error_line(gt("mq", "abandon", "gs-nothere", check=False))
    assert rig.event_count() == events
    out = gt("refinery", "gates", "--rig", "gastown", "--max-interruptions", "5", cwd=rig.repo).stdout
    assert "interrupted 5 times fails" in out

    gt("refinery", "gates", "--rig", "gastown", "--require", "--clear", cwd=rig.repo)
    line = _one_error_line(gt("refinery", "process-next", "--rig", "gastown", cwd=rig.repo, check=False))
    assert "requires gates but none is configured" in line
    mr = mrs.queue(rig.ledger, "gastown")[0]
    gt("mq", "abandon", mr.id, "--reason", "tests never pass")
    assert mrs.get(rig.ledger, mr.id).close_reason == "abandoned: tests never pass"


def test_in_a_real_town(tmp_path):
    """gt install + gt rig add (the town's layout), a polecat worktree, gt done, gt refinery."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GT_", "BD_", "BEADS_", "GIT_"))}
    gt = [sys.executable, "-m", "gastown_server.cli.gt"]

    def run(*argv, cwd, actor=None):
        e = dict(env, GT_TOWN=str(tmp_path / "town"))
        if actor:
            e["BD_ACTOR"] = actor
        proc = subprocess.run([*gt, *argv], cwd=cwd, env=e, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    seed = tmp_path / "seed"
    Git(tmp_path, actor="overseer").run("clone", "-q", str(origin), str(seed))
    s = Git(seed, actor="overseer")
    (seed / "README").write_text("demo\n")
    s.run("add", "README")
    s.run("commit", "-q", "-m", "initial")
    s.run("push", "-q", "origin", "HEAD:main")
    subprocess.run([*gt, "install", str(tmp_path / "town")], env=env, check=True, capture_output=True)
    run("rig", "add", "demo", str(origin), cwd=tmp_path / "town")
    repo = tmp_path / "town" / "demo" / "repo"
    worktree = tmp_path / "town" / "demo" / "polecats" / "nux"
    Git(repo).run("worktree", "add", "-q", "-b", "polecat/nux", str(worktree), "main")
    w = Git(worktree, actor="demo/polecats/nux")
    (worktree / "feature.txt").write_text("feature\n")
    w.run("add", "feature.txt")
    w.run("commit", "-q", "-m", "nux: feature")

    out = run("done", cwd=worktree, actor="demo/polecats/nux")
    prefix = out.split("-", 1)[0]
    assert prefix == "de", out  # the MR takes the rig's prefix
    assert "merged" in run("refinery", "process-next", "--rig", "demo", cwd=repo)
    assert Git(origin).subjects("main") == ["nux: feature", "initial"]
    assert (repo / "feature.txt").read_text() == "feature\n"
