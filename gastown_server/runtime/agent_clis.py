"""Where the agent CLIs are: the one place that finds ``claude``, ``codex`` & co.

``scripts/bootstrap --all`` (or ``--agents``) installs the pinned npm
packages (:data:`PINNED`) into :func:`install_dir` (``$GASTOWN_AGENT_CLIS``,
default ``<the user's home>/.cache/gastown/agent-clis``), never globally.
The home is the account's (``pwd``), not ``$HOME``: tests and town sessions
run with a temporary ``HOME`` and must still find the install.
:func:`find` looks on ``PATH`` first (a user's own install wins), then in
that directory's ``node_modules/.bin``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

#: executable -> (npm package, pinned version); scripts/bootstrap installs exactly these.
PINNED = {
    "claude": ("@anthropic-ai/claude-code", "2.1.332"),
    "codex": ("@openai/codex", "0.171.0"),
}


def install_dir() -> Path:
    explicit = os.environ.get("GASTOWN_AGENT_CLIS")
    if explicit:
        return Path(explicit).expanduser()
    import pwd

    try:
        home = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        home = os.path.expanduser("~")
    return Path(home) / ".cache" / "gastown" / "agent-clis"


def bin_dir() -> Path:
    return install_dir() / "node_modules" / ".bin"


def find(name: str, *, path: str | None = None) -> str | None:
    """The executable ``name`` from PATH, else from the bootstrap's install dir; None if neither has it.

    An explicit ``path`` is searched alone.
    """
    found = shutil.which(name, path=path)
    if found or path is not None:
        return found
    if os.sep in name or name not in PINNED:
        return None
    candidate = bin_dir() / name
    return str(candidate) if os.access(candidate, os.X_OK) and candidate.is_file() else None
