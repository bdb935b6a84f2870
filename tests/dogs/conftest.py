"""Fixtures for the dog and plugin tests: a real town on a throwaway tmux socket, the real
`gt`, script-runtime dogs.  The town fixtures are tests/town's own (loaded, not copied)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_TOWN_TESTS = Path(__file__).resolve().parent.parent / "town"
if str(_TOWN_TESTS) not in sys.path:
    sys.path.insert(0, str(_TOWN_TESTS))


def _load_town_conftest():
    spec = importlib.util.spec_from_file_location("_town_tests_conftest_dogs", _TOWN_TESTS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_town = _load_town_conftest()
socket_name = _town.socket_name
town_root = _town.town_root
town = _town.town
gt = _town.gt


@pytest.fixture
def write_plugin(town_root):
    """Write ``<town>/plugins/<name>/plugin.md`` from front-matter TOML and instructions."""

    def write(name: str, toml: str, body: str = "Do the thing.\n") -> Path:
        d = town_root / "plugins" / name
        d.mkdir(parents=True, exist_ok=True)
        path = d / "plugin.md"
        path.write_text(f"+++\n{toml.strip()}\n+++\n{body}")
        return path

    return write
