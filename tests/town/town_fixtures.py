"""Town fixtures for every test directory (a pytest plugin, registered in
tests/conftest.py): real git repositories, real ledgers, real tmux on a
throwaway socket (``GT_TMUX_SOCKET``), the real ``gt`` as a process.

A directory's own conftest may override one (tests/rpc has its own ``town``)."""

import os
import subprocess
import uuid

import pytest
from town_helpers import _SCRUB, GT, make_repo, stop_daemon

@pytest.fixture
def src_repo(tmp_path):
    return make_repo(tmp_path / "src")


@pytest.fixture
def socket_name(monkeypatch):
    """A unique tmux socket for this test; the server (and any daemon) is gone afterwards."""
    name = f"gt-town-test-{uuid.uuid4().hex[:10]}"
    for key in _SCRUB:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GT_TMUX_SOCKET", name)
    yield name
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True)
    tmpdir = os.environ.get("TMUX_TMPDIR") or "/tmp"
    try:
        os.unlink(os.path.join(tmpdir, f"tmux-{os.getuid()}", name))
    except OSError:
        pass


@pytest.fixture
def town_root(tmp_path, socket_name):
    """An installed town (script runtime); its daemon is stopped at teardown."""
    from gastown_server.town.install import install

    root = install(tmp_path / "town", actor="overseer")
    yield root
    stop_daemon(root)


@pytest.fixture
def town(town_root):
    from gastown_server.town.core import Town

    t = Town(town_root)
    yield t
    t.close()


@pytest.fixture
def gt(town_root):
    """Run the real `gt` in the town (cwd = town root)."""

    def run(*argv, check=True, env=None, cwd=None, input_text=None):
        e = dict(os.environ)
        e.update(env or {})
        proc = subprocess.run([*GT, *argv], cwd=cwd or town_root, env=e, capture_output=True, text=True, timeout=120,
                              input=input_text)  # fmt: skip
        if check and proc.returncode != 0:
            raise AssertionError(f"gt {' '.join(argv)} failed ({proc.returncode}): {proc.stderr}{proc.stdout}")
        return proc

    return run




@pytest.fixture
def unique_sleep():
    """A ``sleep`` command line no other process has; whatever still runs it is killed at teardown."""
    import random
    import signal

    from town_helpers import pids_running

    cmd = f"sleep {random.randint(30, 90)}.{random.randint(10**5, 10**6)}"
    yield cmd
    for pid in pids_running(cmd):
        os.kill(pid, signal.SIGKILL)
