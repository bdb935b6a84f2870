"""Fixtures for the dog and plugin tests: a real town on a throwaway tmux socket, the real
`gt`, script-runtime dogs.  The town fixtures come from tests/town/town_fixtures.py."""

from __future__ import annotations

from pathlib import Path

import pytest


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

