import sys
import uuid
from pathlib import Path

import pytest

from gastown_server.runtime.tmux import TownTmux


@pytest.fixture
def tmux():
    """A TownTmux on a throwaway socket, killed at teardown."""
    t = TownTmux(f"gt-test-{uuid.uuid4().hex[:10]}")
    yield t
    t.kill_server()


@pytest.fixture
def base_env(tmp_path):
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
