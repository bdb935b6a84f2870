"""Patrol tests reuse the town fixtures (real tmux on a throwaway socket, real git, real ledger)."""

import importlib.util
import sys
from pathlib import Path

_TOWN_TESTS = Path(__file__).resolve().parent.parent / "town"
sys.path.insert(0, str(_TOWN_TESTS))
_spec = importlib.util.spec_from_file_location("town_conftest_for_patrol", _TOWN_TESTS / "conftest.py")
_town_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_town_conftest)

# The fixtures themselves (pytest collects fixtures from this module's namespace).
socket_name = _town_conftest.socket_name
town_root = _town_conftest.town_root
town = _town_conftest.town
gt = _town_conftest.gt
src_repo = _town_conftest.src_repo
