"""Work as data: how a mechanical (script runtime) polecat implements an issue.

An issue whose description holds a fenced ``gt-script`` block::

    ```gt-script
    sed -i 's/old/new/' src/thing.py
    ```

can be implemented by ``gt apply <issue>`` in the polecat's worktree: the
block runs with ``sh -e`` there, every change is committed as
``<title> (<issue>)`` with a ``Gastown-Issue: <issue>`` trailer.  Run again
(a restarted session, or rework after ``REWORK_REQUEST``) it is idempotent:

- a worktree left half-changed by a killed run is kept (committed under
  ``refs/gastown/interrupted/<branch>/<time>-<sha>``, not lost) and the run
  starts clean;
- if the branch already has the issue's commit and contains the base, it
  does nothing; if the base moved on, it rebases onto it; if that rebase
  conflicts it aborts, resets the branch to the base and applies the script
  again (a faithful "re-resolve" for an agent that cannot think).  Nothing
  is thrown away doing so: the old tip is kept under
  ``refs/gastown/rework/<branch>/<time>-<sha>``, and a branch that also
  holds commits that are not the issue's (no trailer: somebody else's work)
  is refused and left as it was.

An issue without a ``gt-script`` block is left alone (exit 0, "nothing
mechanical"): ``mol-polecat-work`` declares ``gt apply`` for every polecat.
``gt apply --test`` runs the rig's gates (``gt refinery gates``) in the
worktree, the polecat's own test step.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
import subprocess
from pathlib import Path

import msgspec

from ..beads.store import Ledger
from ..errors import Conflict, InvalidInput
from .git import Git, GitFailed, rebase_in_progress

_FENCE = re.compile(r"^```gt-script[^\n]*\n(.*?)^```", re.S | re.M)
TRAILER = "Gastown-Issue"
SCRIPT_TIMEOUT_S = 300.0


class ApplyResult(msgspec.Struct):
    issue: str
    #: ``no-script``, ``already-applied``, ``rebased``, ``applied``, ``reapplied``
    action: str
    head: str = ""
    detail: str = ""


def script_of(text: str) -> str:
    """The ``gt-script`` block(s) of a description, joined ('' if none)."""
    return "\n".join(m.group(1) for m in _FENCE.finditer(text or ""))


def _issue_commits(git: Git, base: str, issue: str) -> list[str]:
    text = git.out("log", "--format=%H", f"--grep=^{TRAILER}: {re.escape(issue)}$", f"{base}..HEAD")
    return text.split()


def _start_clean(git: Git, issue: str) -> str:
    """Undo what a killed run left behind, keeping it in a stash."""
    notes = []
    if rebase_in_progress(git):
        git.run("rebase", "--abort", check=False)
        notes.append("aborted an interrupted rebase")
    if git.dirty():
        ref = _keep_interrupted(git, issue)
        notes.append(f"kept an interrupted run's changes under {ref}")
    return "; ".join(notes)


def _keep_interrupted(git: Git, issue: str) -> str:
    """Commit the dirty tree (untracked files too) to ``refs/gastown/interrupted/...`` and clean up.

    Not ``git stash``: ``refs/stash`` is shared by every worktree of the
    clone, and a sandboxed polecat may only write ``refs/heads/polecat/`` and
    ``refs/gastown/`` there (docs/security.md).
    """
    import tempfile

    branch = git.current_branch() or "detached"
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        git.run("read-tree", "HEAD", env=env)
        git.run("add", "-A", env=env)
        tree = git.run("write-tree", env=env).stdout.strip()
    sha = git.run("commit-tree", tree, "-p", "HEAD", "-m", f"gt apply {issue}: interrupted run").stdout.strip()
    ref = f"refs/gastown/interrupted/{branch}/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{sha[:12]}"
    git.run("update-ref", ref, sha)
    git.run("reset", "-q", "--hard", "HEAD")
    git.run("clean", "-q", "-fd")
    return ref


def _run_script(worktree: Path, script: str, env: dict[str, str] | None, timeout: float) -> None:
    try:
        proc = subprocess.run(
            ["sh", "-e", "-c", script], cwd=worktree, capture_output=True, text=True,
            stdin=subprocess.DEVNULL, env=env, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise Conflict(f"gt-script timed out after {timeout:g}s in {worktree}") from None
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise Conflict(f"gt-script failed (exit {proc.returncode}): {' | '.join(tail) or 'no output'}")


def _commit(git: Git, issue: str, title: str) -> str:
    git.run("add", "-A")
    if git.ok("diff", "--cached", "--quiet"):
        raise Conflict(f"gt-script of {issue} made no change in {git.cwd}")
    git.run("commit", "-q", "-m", f"{title} ({issue})\n\n{TRAILER}: {issue}\n")
    return git.out("rev-parse", "HEAD")


def apply(
    ledger: Ledger,
    issue: str,
    *,
    worktree: str | os.PathLike[str],
    base: str = "main",
    actor: str = "",
    env: dict[str, str] | None = None,
    timeout: float = SCRIPT_TIMEOUT_S,
) -> ApplyResult:
    """Make ``issue``'s change on the worktree's branch; see the module doc."""
    bead = ledger.get(issue)
    script = script_of(bead.description)
    if not script.strip():
        return ApplyResult(issue, "no-script", detail=f"{issue} has no gt-script block: nothing mechanical to do")
    path = Path(worktree)
    git = Git(path, actor=actor)
    if not git.is_repo():
        raise InvalidInput(f"{path} is not a git worktree")
    if not git.sha(base):
        raise InvalidInput(f"no base branch {base!r} in {path}")
    # One apply at a time per worktree: a killed agent's orphaned run may still be
    # finishing while its replacement starts; the second waits and then sees the commit.
    with _worktree_lock(git, timeout):
        return _apply_locked(git, bead, script, base=base, env=env, timeout=timeout)


@contextlib.contextmanager
def _worktree_lock(git: Git, timeout: float):
    path = Path(git.out("rev-parse", "--absolute-git-dir")) / "gastown-apply.lock"
    with open(path, "a+") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Conflict(f"another gt apply holds {path} (waited {timeout:g}s)") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _apply_locked(git: Git, bead, script: str, *, base: str, env, timeout: float) -> ApplyResult:
    issue, path = bead.id, git.cwd
    notes = [n for n in [_start_clean(git, issue)] if n]
    action = "applied"
    if _issue_commits(git, base, issue):
        if git.is_ancestor(base, "HEAD"):
            return ApplyResult(issue, "already-applied", git.out("rev-parse", "HEAD"), "; ".join(notes))
        try:
            git.run("rebase", "-q", base)
            notes.append(f"rebased onto {base}")
            return ApplyResult(issue, "rebased", git.out("rev-parse", "HEAD"), "; ".join(notes))
        except GitFailed:
            conflicts = git.conflict_files()
            git.run("rebase", "--abort", check=False)
            kept = _keep_tip(git, base, issue, conflicts)
            git.run("reset", "-q", "--hard", base)
            notes.append(
                f"rebase onto {base} conflicted ({', '.join(conflicts) or '?'}): old tip kept as {kept}, "
                f"reset to {base}, script applied again"
            )
            action = "reapplied"
    elif not git.is_ancestor(base, "HEAD") and not git.out("rev-list", f"{base}..HEAD"):
        # A fresh branch behind its base (main moved since it was cut): start from the base.
        git.run("reset", "-q", "--hard", base)
    _run_script(path, script, env, timeout)
    head = _commit(git, issue, bead.title)
    return ApplyResult(issue, action, head, "; ".join(notes))


def _keep_tip(git: Git, base: str, issue: str, conflicts: list[str]) -> str:
    """Before the branch is reset to ``base``: refuse if it holds others' commits, else keep its tip."""
    tip = git.out("rev-parse", "HEAD")
    own = set(_issue_commits(git, base, issue))
    foreign = [c for c in git.out("rev-list", f"{base}..HEAD").split() if c not in own]
    if foreign:
        shown = "; ".join(f"{c[:12]} {git.out('log', '-1', '--format=%s', c)}" for c in foreign[:3])
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise Conflict(
            f"rebase of {git.current_branch() or 'HEAD'} onto {base} conflicted ({', '.join(conflicts) or '?'}) "
            f"and the branch has commits that are not {issue}'s ({shown}{more}): left as it was; "
            f"rebase it onto {base} by hand"
        )
    branch = git.current_branch() or "detached"
    ref = f"refs/gastown/rework/{branch}/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{tip[:12]}"
    git.run("update-ref", "-m", f"gt apply {issue}: tip before re-applying", ref, tip)
    return ref


def run_tests(ledger: Ledger, rig: str, worktree: str | os.PathLike[str]) -> list:
    """Run the rig's gates in the worktree (the polecat's own test step); the GateResults."""
    from . import gates

    settings = gates.load(ledger, rig)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    record = _gate_record(Path(worktree))
    if record is not None:
        gates.kill_leftover(record)  # a gate a SIGKILLed run left (nothing runs on SIGKILL)
    return [gates.run_gate(g, Path(worktree), env, record=record) for g in settings.gates]


#: In the worktree's own git dir: per worktree, never committed, gone with the worktree.
TEST_GATE_RECORD = "gastown-test-gate.json"


def _gate_record(worktree: Path) -> Path | None:
    proc = subprocess.run(["git", "-C", str(worktree), "rev-parse", "--absolute-git-dir"], capture_output=True,
                          text=True, env={k: v for k, v in os.environ.items() if not k.startswith("GIT_")})  # fmt: skip
    return Path(proc.stdout.strip()) / TEST_GATE_RECORD if proc.returncode == 0 and proc.stdout.strip() else None
