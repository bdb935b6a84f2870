"""Fixtures for the mailing-list and work-queue tests: an installed town (tmux on a
throwaway socket, killed at teardown), a real rig ``proj`` cloned from a git repo,
polecat agents registered the way their first start registers them, the real `gt`.

The town fixtures are tests/town's own (loaded from its conftest, not copied).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_TOWN_TESTS = Path(__file__).resolve().parent.parent / "town"
if str(_TOWN_TESTS) not in sys.path:
    sys.path.insert(0, str(_TOWN_TESTS))


def _load_town_conftest():
    spec = importlib.util.spec_from_file_location("_town_tests_conftest_mail_lists", _TOWN_TESTS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_town = _load_town_conftest()
socket_name = _town.socket_name
town_root = _town.town_root
town = _town.town
gt = _town.gt

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
