"""Fixtures for the work-lifecycle tests (sling, polecats, demo): a real town on a
throwaway tmux socket, a real rig cloned from a bare origin, the real `gt`/`bd`.

The town fixtures come from tests/town/town_fixtures.py (a plugin for every directory);
``town_helpers`` (wait_for, transcript, ...) is importable here too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


RIG = "proj"
PREFIX = "pj"
SEED_FILES = {
    "README.md": "# proj\n",
    "shared.txt": "line 1\nline 2\nline 3\n",
}


def _git(*args: str, cwd: Path | None = None) -> str:
    base = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    return subprocess.run([*base, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def origin(tmp_path) -> Path:
    """A bare origin (the Refinery pushes main there) seeded with SEED_FILES on main."""
    from town_helpers import make_repo

    seed = make_repo(tmp_path / "seed", SEED_FILES)
    bare = tmp_path / "origin.git"
    _git("clone", "-q", "--bare", str(seed), str(bare))
    return bare


@pytest.fixture
def rig(town, origin):
    """Rig ``proj`` (prefix ``pj``) in the town, cloned from ``origin``."""
    from gastown_server.town import rigs

    return rigs.add(town, RIG, str(origin), prefix=PREFIX, actor="overseer")


@pytest.fixture
def bd(town_root):
    """Run the real `bd` in the town."""
    import os

    def run(*argv, check=True, env=None):
        e = dict(os.environ)
        e.update(env or {})
        proc = subprocess.run([sys.executable, "-m", "gastown_server.cli.bd", *argv], cwd=town_root, env=e,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        if check and proc.returncode != 0:
            raise AssertionError(f"bd {' '.join(argv)} failed ({proc.returncode}): {proc.stderr}{proc.stdout}")
        return proc

    return run


@pytest.fixture
def new_bead(bd):
    """File an issue with `bd create`; returns its id."""

    def make(title: str, description: str = "", **extra) -> str:
        argv = ["create", title, "--json"]
        if description:
            argv += ["--description", description]
        for key, value in extra.items():
            argv += [f"--{key.replace('_', '-')}", value]
        return json.loads(bd(*argv).stdout)["id"]

    return make
