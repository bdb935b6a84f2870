"""The Refinery: merge a rig's merge requests one at a time, losing nothing.

:func:`process_next` takes the rig's lock (two refinery processes never
merge concurrently), then:

1. recovers an MR a crashed run left ``in_progress`` (finishing the
   bookkeeping if the base already holds its journaled sha, never merging
   it again);
2. catches the base branch up with the push remote (``origin``);
3. claims the first open MR; rebases its submitted head onto the base in a
   scratch worktree (the polecat's worktree is never touched) — a conflict
   sends ``REWORK_REQUEST`` and hands the MR back;
4. runs the rig's gates there — a failure sends ``MERGE_FAILED``;
5. writes the rebased sha into the MR's journal, pushes it to the remote's
   base (fast-forward only), fast-forwards the canonical clone's base, and
   only then closes the MR "merged <sha>" and mails ``MERGED`` (one ledger
   transaction).  Once the push succeeded the merge stands: a clone
   checkout that cannot follow is a warning, never ``MERGE_FAILED``.

Branches are never deleted here: cleanup (after MERGED) belongs to
:mod:`.polecat_cleanup`.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import msgspec

from ..beads.store import Ledger
from ..errors import Conflict, GastownError, InvalidInput, Unavailable
from . import gates as gates_mod
from . import convoys, hooks, mail
from . import merge_requests as mrs
from .done import base_branch
from .git import Git, GitFailed, first_line, git_env, rebase_in_progress

MERGED, MERGE_FAILED, REWORK_REQUEST = "MERGED", "MERGE_FAILED", "REWORK_REQUEST"
LOCK_FILE = "gastown-refinery.lock"
SCRATCH_DIR = "gastown-refinery-worktree"
#: The running gate's process group (in the clone's git dir: the scratch worktree gets cleaned).
GATE_RECORD = "gastown-refinery-gate.json"
NO_GATE_WARNING = "no gates configured for rig {rig}: merged without checks (gt refinery gates --set CMD)"


class Outcome(msgspec.Struct, omit_defaults=True):
    #: ``idle`` (queue empty), ``merged``, ``recovered`` (a crashed merge finished),
    #: ``requeued`` (an interrupted attempt put back), ``rework`` (conflict),
    #: ``failed`` (gate, push or other failure).
    result: str
    mr_id: str = ""
    sha: str = ""
    failure_type: str = ""
    detail: str = ""
    conflict_files: list[str] = msgspec.field(default_factory=list)
    warnings: list[str] = msgspec.field(default_factory=list)
    mail_ids: list[str] = msgspec.field(default_factory=list)
    seconds: float = 0.0


def refinery_address(rig: mrs.RigRef) -> str:
    return f"{rig.name}/refinery"


def witness_address(rig: mrs.RigRef) -> str:
    return f"{rig.name}/witness"


def _short_name(address: str) -> str:
    """``gastown/polecats/toast`` -> ``toast`` (tolerant: an MR's metadata is data, not checked input)."""
    return address.rstrip("/").rsplit("/", 1)[-1]


@contextmanager
def rig_lock(repo: Git, wait_s: float = 60.0) -> Iterator[None]:
    """The rig's merge lock (a flock in the canonical clone's git dir)."""
    path = repo.common_dir() / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Conflict(f"another refinery is merging in {repo.cwd} (lock {path} held)") from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def process_next(ledger: Ledger, rig: mrs.RigRef, *, actor: str = "", lock_wait_s: float = 60.0) -> Outcome:
    """Merge (or bounce) the first MR in ``rig``'s queue; ``idle`` if none."""
    started = time.monotonic()
    actor = mail.normalize_address(actor or refinery_address(rig))
    settings = gates_mod.load(ledger, rig.name)
    if settings.require_gates and not settings.gates:
        raise InvalidInput(
            f"rig {rig.name} requires gates but none is configured: gt refinery gates --rig {rig.name} --set CMD"
        )
    repo = Git(rig.repo, actor=actor)
    if not repo.is_repo():
        raise InvalidInput(f"the canonical clone {rig.repo} of rig {rig.name} is not a git repository")
    base = base_branch(rig, repo)
    remote = push_remote(repo, settings)
    with rig_lock(repo, lock_wait_s):
        run = _Run(ledger, rig, repo, base, remote, settings, actor)
        outcome = run.recover()
        if outcome is None:
            run.sync_with_remote()
            mr = mrs.claim_next(ledger, rig.name, actor=actor)
            outcome = Outcome(result="idle") if mr is None else run.merge(mr)
    outcome.seconds = time.monotonic() - started
    return outcome


def drain(
    ledger: Ledger, rig: mrs.RigRef, *, actor: str = "", limit: int = 1000, budget_s: float | None = None
) -> list[Outcome]:
    """Process until the queue is empty (or ``limit`` MRs); the idle outcome is not included.

    Still one MR at a time: each is a whole :func:`process_next` (the rig
    lock, recovery, catching up with the remote, its own rebase and gates),
    in queue order.  ``budget_s``: start no further MR once the time spent
    plus the slowest MR so far would pass it.  A patrol step runs this as
    an agent's tool call, and agent CLIs end a call that runs too long (a
    killed merge is recovered, but costs its gate run again); what is left
    waits for the next cycle, which starts at once (``patrol.backoff``).
    """
    started = time.monotonic()
    slowest = 0.0
    out = []
    for _ in range(limit):
        if budget_s is not None and out and time.monotonic() - started + slowest > budget_s:
            break
        outcome = process_next(ledger, rig, actor=actor)
        if outcome.result == "idle":
            break
        out.append(outcome)
        slowest = max(slowest, outcome.seconds)
    return out


def push_remote(repo: Git, settings: gates_mod.GateSettings) -> str:
    if settings.push_remote is None:
        return "origin" if "origin" in repo.remotes() else ""
    if settings.push_remote and settings.push_remote not in repo.remotes():
        raise InvalidInput(f"push remote {settings.push_remote!r} is not a remote of {repo.cwd}")
    return settings.push_remote


class _Run:
    """One locked pass of the Refinery over one rig."""

    def __init__(self, ledger, rig, repo, base, remote, settings, actor) -> None:
        self.ledger: Ledger = ledger
        self.rig: mrs.RigRef = rig
        self.repo: Git = repo
        self.base: str = base
        self.remote: str = remote
        self.settings: gates_mod.GateSettings = settings
        self.actor: str = actor
        #: The sha pushed to the remote in this run: from then on the merge stands (never ``fail()``).
        self.published: str = ""

    # -- recovery ------------------------------------------------------------------

    def recover(self) -> Outcome | None:
        """Settle MRs a crashed run left ``in_progress``; the first settled one's outcome."""
        # A SIGKILLed run's gate may still be running in the scratch worktree: end it before reuse.
        gates_mod.kill_leftover(self.repo.common_dir() / GATE_RECORD)
        for mr in mrs.queue(self.ledger, self.rig.name, status=mrs.CLAIMED):
            if not mr.meta.intended:
                return self._requeue_interrupted(mr, "an interrupted attempt left it claimed",
                                                 "interrupted attempt put back in the queue")  # fmt: skip
            landed, warning = self._landed(mr.meta.intended)
            if landed:
                warnings = [*mr.meta.warnings, *([warning] if warning else [])]
                return self.finish(mr, mr.meta.intended, warnings=warnings, recovered=True)
            local = self.repo.branch_sha(self.base)
            if local == mr.meta.intended_from:
                # Gates had passed; the move itself never happened: do it now.
                return self.publish(mr, mr.meta.intended, list(mr.meta.warnings), recovered=True)
            mr.meta.intended = mr.meta.intended_from = ""
            return self._requeue_interrupted(mr, f"{self.base} moved since the interrupted attempt",
                                             f"{self.base} moved; will rebase again")  # fmt: skip
        return None

    def _requeue_interrupted(self, mr: mrs.MergeRequest, why: str, detail: str) -> Outcome:
        """Put an interrupted MR back in the queue, unless it keeps killing the Refinery (a poison MR
        would otherwise sort first again forever and block the rig): then it goes back to its polecat."""
        mr.meta.interrupted += 1
        limit = self.settings.max_interruptions
        if mr.meta.interrupted >= limit:
            return self.fail(
                mr, "other",
                f"interrupted {mr.meta.interrupted} times: the refinery stopped while merging it each time "
                f"(limit rig.{self.rig.name}.max_interruptions = {limit}); check what its gates do, "
                "fix it, then gt done again",
            )  # fmt: skip
        mrs.record(self.ledger, mr, "requeued", f"{why} ({mr.meta.interrupted} of {limit})",
                   actor=self.actor, status=mrs.OPEN, assignee="")  # fmt: skip
        return Outcome(result="requeued", mr_id=mr.id, detail=detail)

    def _landed(self, sha: str) -> tuple[bool, str]:
        """Whether the base (local or remote) holds ``sha``; plus a warning if the clone could not catch up."""
        local = self.repo.branch_sha(self.base)
        if local and self.repo.sha(sha) and self.repo.is_ancestor(sha, local):
            return True, ""
        if self.remote:
            remote_sha = self._fetch()
            if remote_sha and self.repo.is_ancestor(sha, remote_sha):
                try:
                    self.sync_with_remote(fetched=remote_sha)
                except GastownError as exc:  # the merge stands on the remote: finish it regardless
                    return True, self._not_followed(remote_sha, exc)
                return True, ""
        return False, ""

    # -- the base branch -----------------------------------------------------------

    def _fetch(self) -> str | None:
        tracking = f"refs/remotes/{self.remote}/{self.base}"
        try:
            self._remote_git("fetch", "-q", self.remote, f"+refs/heads/{self.base}:{tracking}")
        except GitFailed as exc:
            raise Unavailable(f"cannot fetch {self.base} from {self.remote}: {exc.message}") from None
        return self.repo.sha(tracking)

    def sync_with_remote(self, fetched: str | None = None) -> None:
        """Fast-forward the clone's base to the remote's (work merged elsewhere lands here first)."""
        if not self.remote:
            return
        remote_sha = fetched or self._fetch()
        local = self.repo.branch_sha(self.base)
        if remote_sha is None or remote_sha == local:
            return
        if local is None or self.repo.is_ancestor(local, remote_sha):
            self._move_base(local, remote_sha)
        elif self.repo.is_ancestor(remote_sha, local):
            self._push(local)
        else:
            raise Unavailable(
                f"{self.base} in {self.repo.cwd} has diverged from {self.remote}/{self.base}: reconcile them by hand"
            )

    def _push(self, sha: str) -> None:
        self._remote_git("push", "-q", self.remote, f"{sha}:refs/heads/{self.base}")

    def _remote_git(self, *args: str) -> None:
        """fetch/push: with the rig's credentials, run outside a sandbox (``sandbox/broker.py``)."""
        from ..sandbox.broker import remote_git

        town = str(Path(self.ledger.path).resolve().parent.parent)
        proc = remote_git(self.repo, list(args), town=town, rig=self.rig.name)
        if proc.returncode != 0:
            raise GitFailed(list(args), proc.returncode, proc.stderr, proc.stdout)

    def _move_base(self, old: str | None, new: str) -> None:
        """Fast-forward the clone's base to ``new`` (its checkout too, when it is checked out)."""
        if old and not self.repo.is_ancestor(old, new):
            raise Conflict(f"refusing to move {self.base} from {old[:12]} to {new[:12]}: not a fast-forward")
        checked_out = self.repo.run("symbolic-ref", "-q", "HEAD", check=False).stdout.strip()
        bare = self.repo.out("rev-parse", "--is-bare-repository") == "true"
        if checked_out == f"refs/heads/{self.base}" and not bare:
            merge = self.repo.run("merge", "--ff-only", "-q", new, check=False)
            if merge.returncode != 0:  # e.g. an untracked file where the merge puts one
                in_the_way = [ln.strip() for ln in merge.stderr.splitlines() if ln.startswith("\t")]
                raise Unavailable(
                    f"the checkout of {self.base} in {self.repo.cwd} cannot fast-forward to {new[:12]}: "
                    f"{first_line(merge.stderr or merge.stdout)}"
                    + (f" {', '.join(in_the_way)}" if in_the_way else "")
                    + " (move it out of the way; the refinery catches up on its next run)"
                )
        else:
            self.repo.run("update-ref", f"refs/heads/{self.base}", new, old or "")

    # -- one merge -----------------------------------------------------------------

    def merge(self, mr: mrs.MergeRequest) -> Outcome:
        try:
            return self._merge(mr)
        except GastownError as exc:
            if self.published:
                # The remote already holds the merge: bouncing it would merge it twice. The MR stays
                # in_progress with its journaled sha, and recover() finishes the bookkeeping.
                raise
            # A git or filesystem failure: the MR goes back to its polecat, never half-merged.
            return self.fail(mr, "other", exc.message)

    def _merge(self, mr: mrs.MergeRequest) -> Outcome:
        head = mr.meta.head
        if self.repo.sha(head) is None:
            return self.fail(mr, "other", f"submitted commit {head[:12]} is not in the canonical clone")
        base_sha = self.repo.branch_sha(self.base)
        if base_sha is None:
            return self.fail(mr, "other", f"the canonical clone has no branch {self.base!r}")
        scratch = self._scratch(base_sha)
        scratch.run("checkout", "-q", "--detach", "-f", head)
        scratch.run("clean", "-q", "-fdx")
        rebase = scratch.run("rebase", "-q", base_sha, check=False)
        if rebase.returncode != 0:
            conflicts = scratch.conflict_files()
            scratch.run("rebase", "--abort", check=False)
            if conflicts:
                return self.rework(mr, base_sha, conflicts)
            return self.fail(mr, "other", f"rebase onto {self.base} failed: {rebase.stderr or rebase.stdout}")
        rebased = scratch.sha("HEAD") or ""
        warnings: list[str] = []
        if rebased == base_sha:
            warnings.append(f"every commit of {mr.meta.branch} was already in {self.base}: nothing new merged")
            return self.finish(mr, base_sha, warnings=warnings)
        if not self.settings.gates:
            warnings.append(NO_GATE_WARNING.format(rig=self.rig.name))
        env = {**git_env(self.actor), "GT_RIG": self.rig.name, "GT_MR": mr.id, "GT_BRANCH": mr.meta.branch}
        for gate in self.settings.gates:
            result = gates_mod.run_gate(gate, scratch.cwd, env, record=self.repo.common_dir() / GATE_RECORD)
            if not result.ok:
                error = f"gate `{gate.run}` exited {result.returncode}\n{result.output_tail}".rstrip()
                return self.fail(mr, gate.kind, error)
        mr.meta.intended, mr.meta.intended_from = rebased, base_sha
        mr.meta.warnings = warnings
        mr = mrs.record(self.ledger, mr, "merging", f"{rebased} onto {base_sha}", actor=self.actor)
        return self.publish(mr, rebased, warnings)

    def _scratch(self, base_sha: str) -> Git:
        """The Refinery's own worktree (detached), created once and reused."""
        path = self.repo.common_dir() / SCRATCH_DIR
        scratch = Git(path, actor=self.actor)
        if not (path / ".git").exists():
            self.repo.run("worktree", "prune")
            self.repo.run("worktree", "add", "-q", "--detach", "-f", str(path), base_sha)
            return scratch
        _clear_stale_lock(path / scratch.out("rev-parse", "--git-path", "index.lock"))
        if rebase_in_progress(scratch):  # left behind by a crash mid-rebase (REBASE_HEAD or not)
            scratch.run("rebase", "--abort", check=False)
            if rebase_in_progress(scratch):  # a state too broken to abort: drop it, HEAD is reset next anyway
                scratch.run("rebase", "--quit")
        return scratch

    def publish(self, mr: mrs.MergeRequest, sha: str, warnings: list[str], *, recovered: bool = False) -> Outcome:
        """Push ``sha`` to the remote's base, fast-forward the clone's, then record the merge."""
        old = mr.meta.intended_from
        if self.repo.branch_sha(self.base) != old:
            mr.meta.intended = mr.meta.intended_from = ""
            mrs.record(self.ledger, mr, "requeued", f"{self.base} moved under the refinery",
                       actor=self.actor, status=mrs.OPEN, assignee="")  # fmt: skip
            return Outcome(result="requeued", mr_id=mr.id, detail=f"{self.base} moved; will rebase again")
        if self.remote:
            try:
                self._push(sha)
            except GitFailed as exc:
                mr.meta.intended = mr.meta.intended_from = ""
                hint = f" (to keep merges local: gt refinery gates --rig {self.rig.name} --push-remote '')"
                return self.fail(mr, "push", f"push to {self.remote}/{self.base} rejected: {exc.message}{hint}")
            self.published = sha
            try:
                self._move_base(old, sha)
            except GastownError as exc:
                warnings = [*warnings, self._not_followed(sha, exc)]
        else:
            self._move_base(old, sha)
        return self.finish(mr, sha, warnings=warnings, recovered=recovered)

    def _not_followed(self, sha: str, exc: GastownError) -> str:
        return (
            f"merged on {self.remote}/{self.base} ({sha[:12]}) but the canonical clone's checkout "
            f"could not follow: {exc.message}"
        )

    # -- outcomes: ledger and mail in one transaction each -------------------------

    def _body(self, mr: mrs.MergeRequest, *lines: str) -> str:
        head = [f"Branch: {mr.meta.branch}", f"MR: {mr.id}", f"Issue: {mr.meta.issue}"]
        return "\n".join(head + [ln for ln in lines if ln])

    def _mail(self, to: list[str], subject: str, body: str) -> list[str]:
        ids = []
        for addr in dict.fromkeys(to):
            ids.append(mail.send(self.ledger, addr, subject, body, actor=self.actor).id)
        return ids

    def _issue(self, mr: mrs.MergeRequest):
        if not mr.meta.issue or not self.ledger.exists(mr.meta.issue):
            return None
        bead = self.ledger.get(mr.meta.issue)
        return None if bead.status == "tombstone" else bead

    def _back_on_hook(self, mr: mrs.MergeRequest) -> None:
        """GUPP: the bounced issue goes back on the polecat's hook, so it resumes the work."""
        issue = self._issue(mr)
        if issue is not None and issue.status not in ("closed", hooks.HOOKED):
            hooks.hook(self.ledger, issue.id, mr.meta.polecat, actor=self.actor)

    def finish(
        self, mr: mrs.MergeRequest, sha: str, *, warnings: list[str] | None = None, recovered: bool = False
    ) -> Outcome:
        warnings = list(warnings if warnings is not None else mr.meta.warnings)
        name = _short_name(mr.meta.polecat)
        with self.ledger.atomic():
            mr.meta.warnings = warnings
            if recovered:
                mr.meta.journal.append(mrs.journal_entry(self.actor, "recovered", f"{self.base} already holds {sha}"))
            mrs.mark_merged(self.ledger, mr, sha, actor=self.actor)
            body = self._body(mr, f"Merge-Commit: {sha}", f"Base: {self.base}", *(f"Warning: {w}" for w in warnings))
            ids = self._mail([witness_address(self.rig), mr.meta.polecat], f"{MERGED} {name}", body)
            issue = self._issue(mr)
            if issue is not None and issue.status != "closed":
                self.ledger.close(issue.id, actor=self.actor, reason=f"merged {sha} ({mr.id})")
            if issue is not None:  # a convoy whose last bead this was lands now (mails overseer + mayor)
                convoys.land_finished(self.ledger, actor=self.actor, bead_ids=[issue.id])
        return Outcome(result="recovered" if recovered else "merged", mr_id=mr.id, sha=sha, warnings=warnings, mail_ids=ids)

    def fail(self, mr: mrs.MergeRequest, failure_type: str, error: str) -> Outcome:
        name = _short_name(mr.meta.polecat)
        with self.ledger.atomic():
            mr.meta.intended = mr.meta.intended_from = ""
            mrs.record(self.ledger, mr, "merge_failed", f"{failure_type}: {error.splitlines()[0] if error else ''}",
                       actor=self.actor, status=mrs.GATE_FAILED, assignee=mr.meta.polecat)  # fmt: skip
            body = self._body(mr, f"Failure-Type: {failure_type}", f"Error: {error}")
            ids = self._mail([mr.meta.polecat, witness_address(self.rig)], f"{MERGE_FAILED} {name}", body)
            self._back_on_hook(mr)
        return Outcome(result="failed", mr_id=mr.id, failure_type=failure_type, detail=error, mail_ids=ids)

    def rework(self, mr: mrs.MergeRequest, base_sha: str, conflicts: list[str]) -> Outcome:
        name = _short_name(mr.meta.polecat)
        with self.ledger.atomic():
            mrs.record(self.ledger, mr, "rework_requested", ", ".join(conflicts),
                       actor=self.actor, status=mrs.REWORK, assignee=mr.meta.polecat)  # fmt: skip
            body = self._body(
                mr, f"Base: {self.base} {base_sha}", f"Conflict-Files: {', '.join(conflicts)}",
                f"Rework: rebase {mr.meta.branch} onto {self.base}, resolve, commit, then gt done again.",
            )  # fmt: skip
            ids = self._mail([mr.meta.polecat, witness_address(self.rig)], f"{REWORK_REQUEST} {name}", body)
            self._back_on_hook(mr)
        return Outcome(result="rework", mr_id=mr.id, conflict_files=conflicts, mail_ids=ids)


def _clear_stale_lock(lock: Path, stale_after_s: float = 5.0) -> None:
    """Remove an ``index.lock`` a git killed with a previous run left in the scratch worktree.

    Only this Refinery (holding the rig lock) and its gates (ended in
    recover()) use that worktree; but a git the dead run had started may
    still be finishing, so a fresh lock gets a few seconds to go away first.
    """
    deadline = time.monotonic() + stale_after_s
    while True:
        try:
            age = time.time() - lock.stat().st_mtime
        except FileNotFoundError:
            return
        if age >= stale_after_s or time.monotonic() >= deadline:
            lock.unlink(missing_ok=True)
            return
        time.sleep(0.05)


def scratch_path(repo: str | os.PathLike[str]) -> Path:
    return Git(repo).common_dir() / SCRATCH_DIR
