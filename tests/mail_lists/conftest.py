"""Fixtures for the mailing-list and work-queue tests: an installed town (tmux on a
throwaway socket, killed at teardown), a real rig ``proj`` cloned from a git repo,
polecat agents registered the way their first start registers them, the real `gt`.

The town fixtures come from tests/town/town_fixtures.py (a plugin for every directory).
"""

from __future__ import annotations

from pathlib import Path

import pytest


RIG, PREFIX = "proj", "pj"
POLECATS = ("nux", "rust", "ace")


@pytest.fixture
def rig(town, tmp_path):
    """Rig ``proj`` (prefix ``pj``) with polecats nux, rust and ace known to the town (no sessions)."""
    from town_helpers import make_repo

    from gastown_server.town import identity, rigs, roles

    r = rigs.add(town, RIG, str(make_repo(tmp_path / "src")), prefix=PREFIX, actor="overseer")
    for name in POLECATS:
        roles.ensure_agent_bead(town.ledger, identity.rig_identity(town.root, RIG, PREFIX, "polecat", name),
                                actor="overseer")  # fmt: skip
    return r
