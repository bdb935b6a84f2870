"""A small typed wrapper over the ``git`` command line.

Every call runs ``git`` with an explicit environment: the caller's ``GIT_*``
variables are dropped (a hook or an agent session must not redirect us to
another repository), prompts are off, and the acting agent's address is the
author and committer identity (DESIGN contract 6: identity recorded on every
git commit).  A failed command raises :class:`GitFailed` carrying git's own
message, which adapters show as one line.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..errors import Unavailable

#: Inherited from the caller; everything else is set here or left out.
_PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME", "TMPDIR", "SSH_AUTH_SOCK")
EMAIL_DOMAIN = "gastown.local"


class GitFailed(Unavailable):
    """A git command exited non-zero; ``message`` is git's own complaint."""

    def __init__(self, args: list[str], returncode: int, stderr: str, stdout: str = "") -> None:
        self.git_args = args
        self.returncode = returncode
        self.stderr = stderr
        self.stdout = stdout
        super().__init__(f"git {' '.join(args[:2])} failed: {first_line(stderr or stdout)}")


def first_line(text: str) -> str:
    """git's most useful line: the ``fatal:``/``error:`` one, else the first."""
    lines = [ln.strip() for ln in (text or "").strip().splitlines() if ln.strip()]
    for mark in ("fatal:", "error:", "CONFLICT"):
        picked = [ln for ln in lines if ln.startswith(mark)]
        if picked:
            return picked[0]
    return lines[0] if lines else "(no message)"


def identity_email(actor: str) -> str:
    """``gastown/polecats/toast`` -> ``gastown.polecats.toast@gastown.local``."""
    local = actor.strip().strip("/").replace("/", ".") or "overseer"
    return f"{local}@{EMAIL_DOMAIN}"


def git_env(actor: str = "") -> dict[str, str]:
    env = {k: os.environ[k] for k in _PASSTHROUGH if os.environ.get(k)}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_EDITOR"] = "true"  # rebase --continue and friends never open an editor
    env["GIT_MERGE_AUTOEDIT"] = "no"
    if actor:
        name, email = actor.strip().strip("/"), identity_email(actor)
        env.update(
            GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email, GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email
        )
    return env


class Git:
    """git in one directory, acting as ``actor``."""

    def __init__(self, cwd: str | os.PathLike[str], *, actor: str = "") -> None:
        self.cwd = Path(cwd)
        self.actor = actor
        self._env = git_env(actor)

    def as_actor(self, actor: str) -> Git:
        return Git(self.cwd, actor=actor)

    # -- running -----------------------------------------------------------------

    def run(
        self, *args: str, check: bool = True, timeout: float | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        argv = list(args)
        try:
            proc = subprocess.run(
                ["git", *argv], cwd=self.cwd, capture_output=True, text=True,
                env={**self._env, **(env or {})}, timeout=timeout,
            )  # fmt: skip
        except FileNotFoundError as exc:
            if not self.cwd.is_dir():
                raise Unavailable(f"{self.cwd} does not exist") from None
            raise Unavailable("git not found on PATH: install git") from exc
        except subprocess.TimeoutExpired:
            raise Unavailable(f"git {' '.join(argv[:2])} timed out after {timeout}s in {self.cwd}") from None
        if check and proc.returncode != 0:
            raise GitFailed(argv, proc.returncode, proc.stderr, proc.stdout)
        return proc

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def ok(self, *args: str) -> bool:
        return self.run(*args, check=False).returncode == 0

    # -- questions ---------------------------------------------------------------

    def sha(self, rev: str) -> str | None:
        """The commit ``rev`` names, or None."""
        proc = self.run("rev-parse", "--verify", "-q", f"{rev}^{{commit}}", check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def branch_sha(self, branch: str) -> str | None:
        return self.sha(f"refs/heads/{branch}")

    def current_branch(self) -> str:
        """The checked-out branch, or "" when HEAD is detached."""
        proc = self.run("symbolic-ref", "--short", "-q", "HEAD", check=False)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    def toplevel(self) -> Path:
        return Path(self.out("rev-parse", "--show-toplevel"))

    def common_dir(self) -> Path:
        """The repository's shared ``.git`` (the canonical clone's, for a worktree)."""
        return (self.cwd / self.out("rev-parse", "--git-common-dir")).resolve()

    def is_repo(self) -> bool:
        return self.cwd.is_dir() and self.ok("rev-parse", "--git-dir")

    def dirty(self) -> list[str]:
        """Uncommitted paths (staged, unstaged and untracked; ignored files don't count)."""
        text = self.run("status", "--porcelain=v1", "-z", "--untracked-files=all").stdout
        entries = [e for e in text.split("\0") if e]
        out, skip = [], False
        for e in entries:
            if skip:  # the source path of a rename
                skip = False
                continue
            if e[0] in "RC":
                skip = True
            out.append(e[3:])
        return out

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self.ok("merge-base", "--is-ancestor", ancestor, descendant)

    def unmerged_commits(self, upstream: str, head: str) -> list[str]:
        """Commits of ``head`` with no equivalent (by patch id) in ``upstream``."""
        text = self.out("cherry", upstream, head)
        return [ln[2:] for ln in text.splitlines() if ln.startswith("+ ")]

    def conflict_files(self) -> list[str]:
        text = self.run("diff", "--name-only", "--diff-filter=U", check=False).stdout
        return [ln for ln in text.splitlines() if ln]

    def subjects(self, rev_range: str) -> list[str]:
        return self.out("log", "--format=%s", rev_range).splitlines()

    def remotes(self) -> list[str]:
        return self.out("remote").split()

    def worktrees(self) -> dict[Path, str]:
        """Worktree path -> checked-out branch ("" if detached)."""
        out: dict[Path, str] = {}
        path: Path | None = None
        for line in self.out("worktree", "list", "--porcelain").splitlines():
            if line.startswith("worktree "):
                path = Path(line[9:]).resolve()
                out[path] = ""
            elif line.startswith("branch ") and path is not None:
                out[path] = line[7:].removeprefix("refs/heads/")
        return out


def rebase_in_progress(worktree: Git | str | os.PathLike[str]) -> bool:
    """Whether ``worktree`` is stopped in a rebase (an interrupted one, too).

    A rebase killed between two picks leaves ``rebase-merge`` (or, for the
    apply backend, ``rebase-apply``) in the worktree's own git dir without
    a ``REBASE_HEAD``; the next ``git rebase`` there then refuses to start.
    """
    git = worktree if isinstance(worktree, Git) else Git(worktree)
    paths = git.out("rev-parse", "--git-path", "rebase-merge", "--git-path", "rebase-apply").splitlines()
    return any((git.cwd / p).exists() for p in paths)  # git.cwd / an absolute path is that path
