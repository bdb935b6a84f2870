"""A real rig for merge-queue tests: bare origin, canonical clone, polecat worktrees, real ledger."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gastown_server.beads.store import Ledger
from gastown_server.work import mail
from gastown_server.work.git import Git
from gastown_server.work.merge_requests import RigRef

RIG = "gastown"
PREFIX = "gs"


class Polecat:
    def __init__(self, rig: "RigEnv", name: str, path: Path, branch: str) -> None:
        self.rig, self.name, self.path, self.branch = rig, name, path, branch
        self.address = f"{RIG}/polecats/{name}"
        self.git = Git(path, actor=self.address)

    def commit(self, filename: str, content: str, message: str) -> str:
        target = self.path / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        self.git.run("add", filename)
        self.git.run("commit", "-q", "-m", message)
        return self.git.sha("HEAD")

    def inbox(self, subject_word: str = "") -> list[mail.Message]:
        return [m for m in mail.inbox(self.rig.ledger, self.address) if m.subject.startswith(subject_word)]


class RigEnv:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.origin = tmp / "origin.git"
        self.town = tmp / "town"
        self.repo = self.town / RIG / "repo"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.origin)], check=True)
        seed = tmp / "seed"
        seeder = Git(tmp, actor="overseer")
        seeder.run("init", "-q", "-b", "main", str(seed))
        s = Git(seed, actor="overseer")
        (seed / "README.md").write_text("# gastown test rig\n")
        (seed / "shared.txt").write_text("line 1\nline 2\nline 3\n")
        s.run("add", ".")
        s.run("commit", "-q", "-m", "initial")
        s.run("push", "-q", str(self.origin), "main")
        self.repo.parent.mkdir(parents=True)
        seeder.run("clone", "-q", str(self.origin), str(self.repo))
        (self.town / RIG / "polecats").mkdir()
        self.ledger = Ledger(self.town / ".gastown" / "ledger.db", create=True)
        self.ledger.config_set("issue_prefix", "hq", actor="test")
        self.ledger.config_set(f"route.{PREFIX}", str(self.repo), actor="test")  # as `gt rig add` records it
        self.rig = RigRef(name=RIG, prefix=PREFIX, repo=str(self.repo))
        self.git = Git(self.repo, actor="overseer")
        self.witness = f"{RIG}/witness"

    def polecat(self, name: str, bead: str = "") -> Polecat:
        bead = bead or f"{PREFIX}-{name}"
        branch = f"polecat/{name}/{bead}"
        path = self.town / RIG / "polecats" / name
        self.git.run("worktree", "add", "-q", "-b", branch, str(path), "main")
        return Polecat(self, name, path, branch)

    def main_subjects(self) -> list[str]:
        return self.git.subjects("main")

    def origin_main(self) -> str:
        return Git(self.origin).sha("refs/heads/main")

    def witness_mail(self, subject_word: str = "") -> list[mail.Message]:
        return [m for m in mail.inbox(self.ledger, self.witness) if m.subject.startswith(subject_word)]

    def event_count(self) -> int:
        return self.ledger.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    def bead_count(self) -> int:
        return self.ledger.conn.execute("SELECT COUNT(*) FROM issues").fetchone()[0]


@pytest.fixture
def rig(tmp_path):
    env = RigEnv(tmp_path)
    yield env
    env.ledger.disconnect()


GT = [sys.executable, "-m", "gastown_server.cli.gt"]


@pytest.fixture
def gt(rig):
    """Run the real `gt` as a process inside the test town."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GT_", "BD_", "BEADS_", "GIT_"))}
    base["GT_TOWN"] = ""

    def run(*argv, cwd=None, actor=None, check=True):
        env = dict(base)
        env.pop("GT_TOWN")
        env["BEADS_DB"] = str(rig.town / ".gastown" / "ledger.db")
        if actor:
            env["BD_ACTOR"] = actor
        proc = subprocess.run([*GT, *argv], cwd=cwd or rig.town, env=env, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"gt {' '.join(argv)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    return run
