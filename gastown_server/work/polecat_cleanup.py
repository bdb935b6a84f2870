"""Removing a polecat's worktree and branch, only when no work can be lost.

The invariant (issue 5): a polecat's worktree and branch are removed only
after its merge request is merged or explicitly abandoned.  :func:`nuke`
refuses while

- the worktree has uncommitted changes,
- an MR for the branch is pending (open, being merged, rework, gate failure),
- the branch has commits that are not in the base (by patch id, so commits
  the Refinery rebased onto main count as merged) and no merged MR covers
  the branch's tip,

unless ``force``; and even forced it keeps the branch (and stashes any
uncommitted changes under ``refs/gastown/salvage/<branch>``; a later salvage
of the same branch keeps the earlier one as a parent), removing only the
worktree.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from ..beads.store import Ledger
from ..errors import Conflict, InvalidInput
from . import merge_requests as mrs
from .done import base_branch
from .git import Git

SALVAGE_REF = "refs/gastown/salvage/{branch}"


class NukeResult(msgspec.Struct, omit_defaults=True):
    worktree: str
    branch: str
    removed_worktree: bool
    deleted_branch: bool
    forced: bool = False
    #: Why a forced nuke had to override the safety checks.
    overridden: list[str] = msgspec.field(default_factory=list)
    salvage_ref: str = ""


def reasons_to_keep(ledger: Ledger, rig: mrs.RigRef, branch: str, *, worktree: Git | None = None) -> list[str]:
    """Why removing ``branch`` (and its worktree) could lose work; empty when safe."""
    repo = Git(rig.repo)
    reasons = []
    if worktree is not None:
        dirty = worktree.dirty()
        if dirty:
            reasons.append(f"{len(dirty)} uncommitted change(s) in {worktree.cwd}")
    pending = mrs.pending_for_branch(ledger, rig.name, branch)
    if pending is not None:
        reasons.append(f"merge request {pending.id} is still {pending.status}")
    tip = repo.branch_sha(branch)
    if tip is not None:
        base = base_branch(rig, repo)
        unmerged = repo.unmerged_commits(base, tip) if repo.branch_sha(base) else [tip]
        if unmerged:
            # Merged or explicitly abandoned at exactly this tip: the owner has decided.
            covered = any(m.status == mrs.CLOSED and m.meta.head == tip for m in mrs.for_branch(ledger, rig.name, branch))
            if not covered:
                reasons.append(f"{branch} has {len(unmerged)} commit(s) not in {base}")
    return reasons


def nuke(
    ledger: Ledger,
    rig: mrs.RigRef,
    *,
    worktree: str | os.PathLike[str],
    actor: str,
    force: bool = False,
    branch: str = "",
    keep_branch: bool = False,
) -> NukeResult:
    """Remove a polecat's worktree (and, when safe and not ``keep_branch``, its branch)."""
    path = Path(worktree).resolve()
    repo = Git(rig.repo, actor=actor)
    registered = repo.worktrees()
    wt: Git | None = None
    if path in registered:
        wt = Git(path, actor=actor)
        branch = branch or registered[path]
        if path == repo.toplevel().resolve():
            raise InvalidInput(f"{path} is the rig's canonical clone, not a polecat worktree")
    elif not branch:
        raise InvalidInput(f"{path} is not a worktree of {rig.repo} (give the branch to clean up)")
    if wt is not None and not path.is_dir():
        wt = None  # registered but gone from disk: only the bookkeeping is left
    if branch:
        reasons = reasons_to_keep(ledger, rig, branch, worktree=wt)
    else:  # a detached worktree: only its uncommitted changes can be lost
        dirty = wt.dirty() if wt is not None else []
        reasons = [f"{len(dirty)} uncommitted change(s) in {path}"] if dirty else []
    if reasons and not force:
        raise Conflict(f"refusing to nuke {path}: " + "; ".join(reasons) + " (--force removes the worktree, keeps the branch)")
    salvage = ""
    if force and wt is not None and wt.dirty():
        salvage = _salvage(wt, branch or path.name)
    removed = False
    if path in registered:
        if path.is_dir():
            repo.run("worktree", "remove", "--force", str(path))
        else:
            repo.run("worktree", "prune")
        removed = True
    deleted = False
    if branch and not reasons and not keep_branch and repo.branch_sha(branch) is not None:
        repo.run("branch", "-D", "-q", branch)  # merged by patch id (rebased), so -d would refuse
        deleted = True
    return NukeResult(
        worktree=str(path), branch=branch, removed_worktree=removed, deleted_branch=deleted,
        forced=bool(force and reasons), overridden=reasons if force else [], salvage_ref=salvage,
    )  # fmt: skip


class Retired(msgspec.Struct, omit_defaults=True):
    """What :func:`retire` did to a polecat."""

    address: str
    session_stopped: bool
    #: Work that was on the polecat's hook and went back to ``open`` (forced only).
    unhooked: list[str] = msgspec.field(default_factory=list)
    #: Queue messages it had claimed and not finished, put back in their queues.
    released_mail: list[str] = msgspec.field(default_factory=list)
    nuke: NukeResult | None = None


def retire(town, ident, *, actor: str, force: bool = False) -> Retired:
    """Stop a polecat and remove its worktree (never its branch): the one way both
    ``gt polecat nuke`` and the Witness's cleanup take a polecat down.

    Refuses (:class:`Conflict`, nothing changed) while work could be lost or
    would come straight back: work hooked or in progress on it (the Witness
    would revive it and rebuild the worktree), uncommitted changes, a pending
    merge request or unmerged commits.  ``force`` overrides: the work goes
    back to ``open`` with no assignee, uncommitted changes are salvaged under
    a ref, the branch stays.

    Order matters against the daemon: the agent bead is marked idle (with an
    empty hook) *before* the session stops, under the session's start lock,
    so a heartbeat in between cannot revive it.
    """
    from ..town.lifecycle import stop_agent
    from ..town.polecats import BUSY_STATUSES
    from . import hooks

    ledger = town.ledger
    rig = mrs.rig_ref(town.rig(ident.rig))
    busy = ledger.list(assignee=ident.address, status=list(BUSY_STATUSES))
    worktree = Git(ident.cwd) if os.path.isdir(ident.cwd) else None
    reasons = _retire_blockers(ledger, rig, ident, busy, worktree)
    if reasons and not force:
        raise Conflict(f"refusing to nuke {ident.address}: " + "; ".join(reasons)
                       + " (--force removes the worktree, keeps the branch, puts its work back to open)",
                       data={"reasons": reasons})  # fmt: skip
    unhooked = []
    for bead in busy:
        with ledger.mutation("unhooked", actor, bead.id, {"reason": f"{ident.address} retired by force"}):
            if bead.status == hooks.HOOKED:
                hooks.unhook(ledger, bead.id, actor=actor)
            ledger.update(bead.id, actor=actor, status="open", assignee="")
        unhooked.append(bead.id)
    stopped = stop_agent(town, ident, actor=actor, grace_s=2.0, agent_state="idle", clear_hook=True)
    from .mailing import release_claims

    released = release_claims(ledger, town.root, ident.address, actor=actor)  # nobody else could claim them
    result = None
    if worktree is not None:
        result = nuke(ledger, rig, worktree=ident.cwd, actor=actor, force=force, keep_branch=True)
    return Retired(address=ident.address, session_stopped=stopped, unhooked=unhooked, released_mail=released,
                   nuke=result)  # fmt: skip


def _salvage(wt: Git, branch: str) -> str:
    """Keep uncommitted changes (tracked and untracked) as a commit under a ref before removal."""
    wt.run("add", "-A")
    tree = wt.out("write-tree")
    parent = wt.sha("HEAD")
    ref = SALVAGE_REF.format(branch=branch)
    # A second salvage of the same branch must not orphan the first (no reflog for refs/gastown/*):
    # the earlier salvage becomes a further parent, so every salvage stays reachable from the one ref.
    parents = [sha for sha in (parent, wt.sha(ref)) if sha]
    args = ["commit-tree", tree, *(a for sha in parents for a in ("-p", sha)), "-m",
            f"gastown salvage of uncommitted work in {wt.cwd}"]  # fmt: skip
    commit = wt.out(*args)
    wt.run("update-ref", ref, commit)
    return ref


def _retire_blockers(ledger: Ledger, rig: mrs.RigRef, ident, busy, worktree: Git | None) -> list[str]:
    branch = worktree.current_branch() if worktree is not None else ""
    reasons = [f"{b.id} is {b.status} on it" for b in busy]
    if branch:
        reasons += reasons_to_keep(ledger, rig, branch, worktree=worktree)
    return reasons


class GitState(msgspec.Struct, omit_defaults=False):
    """``gt polecat git-state``: what a polecat's worktree holds that is not merged yet."""

    address: str
    worktree: str
    exists: bool
    branch: str = ""
    head: str = ""
    base: str = ""
    uncommitted: list[str] = msgspec.field(default_factory=list)
    #: Commits on the branch that are not in the base branch.
    unmerged_commits: int = 0
    pending_mr: str = ""
    #: Gas Town's cleanup status: clean, uncommitted, unpushed (commits not merged), or missing.
    cleanup_status: str = "clean"


def git_state(town, ident) -> GitState:
    ledger = town.ledger
    rig = mrs.rig_ref(town.rig(ident.rig))
    st = GitState(address=ident.address, worktree=ident.cwd, exists=os.path.isdir(ident.cwd))
    if not st.exists:
        st.cleanup_status = "missing"
        return st
    wt = Git(ident.cwd)
    st.branch, st.head = wt.current_branch(), wt.sha("HEAD") or ""
    repo = Git(rig.repo)
    st.base = base_branch(rig, repo)
    st.uncommitted = wt.dirty()
    if st.head and repo.branch_sha(st.base):
        st.unmerged_commits = len(repo.unmerged_commits(st.base, st.head))
    pending = mrs.pending_for_branch(ledger, rig.name, st.branch) if st.branch else None
    st.pending_mr = pending.id if pending is not None else ""
    st.cleanup_status = "uncommitted" if st.uncommitted else ("unpushed" if st.unmerged_commits else "clean")
    return st


class Recovery(msgspec.Struct, omit_defaults=False):
    """``gt polecat check-recovery``: may this polecat be nuked, or does its work need saving first?"""

    address: str
    #: ``SAFE_TO_NUKE`` or ``NEEDS_RECOVERY`` (Gas Town's words).
    verdict: str
    reasons: list[str]
    session_running: bool


def check_recovery(town, ident) -> Recovery:
    from ..town.polecats import BUSY_STATUSES

    ledger = town.ledger
    rig = mrs.rig_ref(town.rig(ident.rig))
    busy = ledger.list(assignee=ident.address, status=list(BUSY_STATUSES))
    worktree = Git(ident.cwd) if os.path.isdir(ident.cwd) else None
    reasons = _retire_blockers(ledger, rig, ident, busy, worktree)
    return Recovery(address=ident.address, verdict="NEEDS_RECOVERY" if reasons else "SAFE_TO_NUKE",
                    reasons=reasons, session_running=town.tmux.has(ident.session))  # fmt: skip
