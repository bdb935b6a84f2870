"""``gt done``: a polecat hands its finished branch to the merge queue.

Order matters, because the original lost finished work exactly here
(Gas Town #342, #1379, #1945, #2028):

1. the worktree is fully committed (else nothing happens);
2. the branch is in the canonical clone at the worktree's HEAD, verified by
   sha (a worktree shares the clone's refs; a separate clone pushes first);
3. the merge request is recorded (one pending MR per branch: a second
   ``gt done`` after rework updates and reopens it);
4. ``POLECAT_DONE <name>`` goes to ``<rig>/witness`` (same transaction as 3).

Nothing is cleaned up here.  Cleanup is :mod:`.polecat_cleanup`'s job and
it refuses while the MR is pending.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from ..beads.store import Ledger
from ..errors import Conflict, InvalidInput, NotFound
from . import hooks, mail
from . import merge_requests as mrs
from .git import Git, GitFailed

DONE_SUBJECT = "POLECAT_DONE"
EXITS = ("MERGED", "ESCALATED", "DEFERRED")


class DoneResult(msgspec.Struct):
    exit: str
    branch: str
    head: str
    #: True when the branch had to be pushed (a separate clone), False for a worktree.
    pushed: bool
    mail_id: str
    #: The merge request (``Exit: MERGED`` only).
    mr: mrs.MergeRequest | None = None
    created: bool = False


def worker_name(address: str) -> tuple[str, str]:
    """``(rig, name)`` of a polecat or crew address; one clear error for anything else."""
    addr = mail.normalize_address(address)
    parts = addr.split("/")
    if len(parts) == 3 and parts[1] in ("polecats", "crew") and parts[0] and parts[2]:
        return parts[0], parts[2]
    raise InvalidInput(
        f"bad worker address {address!r}: gt done is for <rig>/polecats/<name> (or <rig>/crew/<name>)"
    )


def base_branch(rig: mrs.RigRef, repo: Git | None = None) -> str:
    """Where merges land: the rig's default branch, else the clone's current one, else main."""
    if rig.default_branch:
        return rig.default_branch
    current = (repo or Git(rig.repo)).current_branch()
    return current or "main"


def done(
    ledger: Ledger,
    rig: mrs.RigRef,
    *,
    worktree: str | os.PathLike[str],
    polecat: str,
    issue: str = "",
    actor: str = "",
    exit: str = "MERGED",
    notify_witness: bool = True,
) -> DoneResult:
    """Submit the worktree's branch for merging; see the module doc for the order.

    ``exit`` ``ESCALATED`` (blocked, help asked for) or ``DEFERRED`` (paused)
    files no MR: the branch is still confirmed in the canonical clone, and
    the Witness is told, so nothing is lost when the session ends.
    """
    if exit not in EXITS:
        raise InvalidInput(f"bad exit {exit!r} (one of {', '.join(EXITS)})")
    actor = actor or polecat
    addr_rig, name = worker_name(polecat)
    polecat = mail.normalize_address(polecat)
    mail.normalize_address(actor)
    if addr_rig != rig.name:
        raise InvalidInput(f"{polecat} is not in rig {rig.name}")
    if not issue:
        hooked = hooks.hooked_work(ledger, polecat)
        issue = hooked[0].id if len(hooked) == 1 else ""
    if issue:
        bead = ledger.get(issue)  # NotFound: one clear line, nothing changed
        if bead.status == "tombstone":
            raise NotFound(f"issue {issue} was deleted")
    path = Path(worktree).resolve()
    if not path.is_dir():
        raise InvalidInput(f"{path} is not a directory (give the polecat's worktree)")
    wt = Git(path, actor=actor)
    if not wt.is_repo():
        raise InvalidInput(f"{path} is not a git worktree")
    repo = Git(rig.repo, actor=actor)
    if not repo.is_repo():
        raise InvalidInput(f"the canonical clone {rig.repo} of rig {rig.name} is not a git repository")
    dirty = wt.dirty()
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise InvalidInput(f"uncommitted changes in {path}: commit or stash them first ({shown})")
    branch = wt.current_branch()
    if not branch:
        raise InvalidInput(f"{path} has a detached HEAD: check out the polecat's branch first")
    base = base_branch(rig, repo)
    if branch == base:
        raise InvalidInput(f"{path} is on {base} itself: polecats submit their own branch, not {base}")
    head = wt.sha("HEAD")
    if head is None:
        raise InvalidInput(f"{branch} in {path} has no commits")
    base_sha = repo.branch_sha(base)
    if base_sha is None:
        raise InvalidInput(f"the canonical clone {rig.repo} has no branch {base!r} to merge into")

    shared = wt.common_dir() == repo.common_dir()
    merging = exit == "MERGED"
    if shared and merging:
        _require_new_commits(repo, branch, base, head)
    pushed = _publish(wt, repo, path, branch, head, shared=shared, expected=_last_head(ledger, rig, branch))
    if not merging:
        body = "\n".join([f"Exit: {exit}", f"Issue: {issue}", "MR: ", f"Branch: {branch}", f"Head: {head}",
                          f"Worktree: {path}"])  # fmt: skip
        note = mail.send(ledger, f"{rig.name}/witness", f"{DONE_SUBJECT} {name}", body, actor=actor)
        return DoneResult(exit=exit, branch=branch, head=head, pushed=pushed, mail_id=note.id)
    if not shared:
        _require_new_commits(repo, branch, base, head)

    with ledger.atomic():
        mr, created = mrs.submit(
            ledger, rig=rig.name, prefix=rig.prefix, branch=branch, base=base, head=head, polecat=polecat,
            actor=actor, issue=issue, worktree=str(path),
        )  # fmt: skip
        body = "\n".join(
            ["Exit: MERGED", f"Issue: {issue}", f"MR: {mr.id}", f"Branch: {branch}", f"Head: {head}",
             f"Worktree: {path}"]
        )  # fmt: skip
        note = mail.send(ledger, f"{rig.name}/witness", f"{DONE_SUBJECT} {name}", body, actor=actor) if notify_witness else None
        if issue and ledger.get(issue).status == hooks.HOOKED:
            # The hook is done with: the issue waits for the merge (the Refinery closes it, or
            # hooks it back on the polecat for rework).
            hooks.unhook(ledger, issue, actor=actor, status="in_progress")
    return DoneResult(exit=exit, branch=branch, head=head, pushed=pushed, mail_id=note.id if note else "", mr=mr,
                      created=created)  # fmt: skip


def _last_head(ledger: Ledger, rig: mrs.RigRef, branch: str) -> str:
    history = mrs.for_branch(ledger, rig.name, branch)
    return history[-1].meta.head if history else ""


def _require_new_commits(repo: Git, branch: str, base: str, head: str) -> None:
    if not repo.unmerged_commits(base, head):
        raise InvalidInput(f"nothing to merge: every commit of {branch} is already in {base}")


def _publish(wt: Git, repo: Git, path: Path, branch: str, head: str, *, shared: bool, expected: str) -> bool:
    """Make the canonical clone hold ``branch`` at ``head``; True if a push was needed."""
    if shared:
        pushed = False  # a worktree of the clone: the branch ref is the clone's own
    else:
        # A separate clone (crew): push, overwriting only what we submitted before.
        lease = f"--force-with-lease=refs/heads/{branch}:{expected}" if expected else "--force-with-lease"
        try:
            wt.run("push", "-q", lease, str(repo.common_dir()), f"HEAD:refs/heads/{branch}")
        except GitFailed as exc:
            raise Conflict(f"could not push {branch} to the canonical clone: {exc.message}") from None
        pushed = True
    there = repo.branch_sha(branch)
    if there != head:
        raise Conflict(
            f"{branch} in the canonical clone is at {(there or 'nothing')[:12]}, not at {path}'s HEAD {head[:12]}: "
            "nothing was recorded"
        )
    return pushed
