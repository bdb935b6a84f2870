import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gastown_server.errors import Conflict, InvalidInput, NotFound, Unavailable
from gastown_server.runtime import transcripts
from gastown_server.runtime.tmux import TownTmux, socket_name

from rt_helpers import PY, file_text, wait_for

SECRETS = {
    "ANTHROPIC_API_KEY": "sk-ant-secret",
    "GITHUB_TOKEN": "ghp_secret",
    "GT_SERVER_TOKEN": "server-secret",
    "OPENAI_API_KEY": "sk-secret",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
}
DUMP_ENV = "import os, json, time; print('ENV=' + json.dumps(dict(os.environ)), flush=True); time.sleep(60)"


def _env_from(transcript: Path) -> dict:
    text = wait_for(lambda: "ENV=" in file_text(transcript) and file_text(transcript).rstrip().endswith("}") and file_text(transcript))
    line = next(l for l in text.splitlines() if l.startswith("ENV="))
    return json.loads(line[4:])


def test_socket_name_is_basename_and_hash(tmp_path, monkeypatch):
    monkeypatch.delenv("GT_TMUX_SOCKET", raising=False)
    town = tmp_path / "my town"
    town.mkdir()
    name = socket_name(town)
    assert name.startswith("my_town-") and len(name.split("-")[-1]) == 6
    assert socket_name(town) == name
    other = tmp_path / "other"
    other.mkdir()
    assert socket_name(other) != name
    monkeypatch.setenv("GT_TMUX_SOCKET", "override")
    assert socket_name(town) == "override"


def test_session_gets_only_its_explicit_environment(tmux, tmp_path, base_env, monkeypatch):
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    env = {**base_env, "GT_ROLE": "mayor", "BD_ACTOR": "mayor", "GT_TOWN": str(tmp_path)}
    log = tmp_path / "t" / "hq-mayor.log"
    tmux.start("hq-mayor", [PY, "-c", DUMP_ENV], cwd=tmp_path, env=env, transcript=log)
    seen = _env_from(log)
    assert not set(SECRETS) & set(seen)
    assert set(seen) <= set(env) | {"TMUX", "TMUX_PANE", "TERM", "LC_CTYPE"}
    assert seen["GT_ROLE"] == "mayor" and seen["GT_TOWN"] == str(tmp_path)
    # The server itself was started scrubbed: its own process environment,
    # its global environment and a window a human opens hold no secret.
    pid = tmux.server.cmd("display-message", "-p", "#{pid}").stdout[0]
    server_env = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    for k, v in SECRETS.items():
        assert k not in server_env and v not in server_env
    glob = "\n".join(tmux.server.cmd("show-environment", "-g").stdout)
    assert not any(k in glob for k in SECRETS)
    out = tmux.server.cmd("new-window", "-d", "-t", "=hq-mayor:", "-P", "-F", "#{pane_id}", "--", "sh", "-c", "env; sleep 30").stdout[0]
    text = wait_for(lambda: "PATH=" in "\n".join(tmux.server.cmd("capture-pane", "-p", "-t", out).stdout) and "\n".join(tmux.server.cmd("capture-pane", "-p", "-t", out).stdout))
    assert "PATH=" in text and not any(k in text for k in SECRETS)


def test_attaching_client_does_not_leak_its_environment(tmux, tmp_path, base_env, monkeypatch):
    monkeypatch.setenv("SSH_AUTH_SOCK", "/tmp/agent.sock")
    log = tmp_path / "a.log"
    tmux.start("a", ["sh", "-c", "sleep 60"], cwd=tmp_path, env=base_env, transcript=log)
    assert tmux.server.cmd("show-options", "-gv", "update-environment").stdout in ([], [""])
    sess = "\n".join(tmux.server.cmd("show-environment", "-t", "=a").stdout)
    assert "agent.sock" not in sess


def test_transcript_captures_first_output_and_semicolons(tmux, tmp_path, base_env):
    log = tmp_path / "s.log"
    tmux.start("s", ["sh", "-c", "echo first line; echo 'ends with;'; sleep 60", "ignored;"], cwd=tmp_path, env=base_env, transcript=log)
    assert wait_for(lambda: "ends with;" in file_text(log))
    assert file_text(log).startswith("first line")
    info = tmux.sessions()
    assert [s.name for s in info] == ["s"] and info[0].alive and info[0].pane_pid > 0
    assert tmux.running() and tmux.has("s") and not tmux.has("t")
    assert "first line" in tmux.capture("s", 10)


def test_start_errors(tmux, tmp_path, base_env, monkeypatch):
    log = tmp_path / "x.log"
    tmux.start("dup", ["sleep", "60"], cwd=tmp_path, env=base_env, transcript=log)
    with pytest.raises(Conflict):
        tmux.start("dup", ["sleep", "60"], cwd=tmp_path, env=base_env, transcript=log)
    with pytest.raises(InvalidInput):
        tmux.start("bad:name", ["sleep", "60"], cwd=tmp_path, env=base_env, transcript=log)
    with pytest.raises(InvalidInput):
        tmux.start("ok", ["sleep", "60"], cwd=tmp_path / "missing", env=base_env, transcript=log)
    with pytest.raises(InvalidInput):
        tmux.start("ok", ["sleep", "60"], cwd=tmp_path, env={"BAD KEY": "1"}, transcript=log)
    with pytest.raises(NotFound):
        tmux.capture("nope")
    assert [s.name for s in tmux.sessions()] == ["dup"]


def test_tmux_absent_is_unavailable(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(Unavailable, match="tmux not found"):
        TownTmux("gt-test-absent").start("a", ["sleep", "1"], cwd=tmp_path, env={}, transcript=tmp_path / "a.log")


def test_not_running_server_reads_as_empty():
    t = TownTmux("gt-test-never-started")
    assert not t.running() and t.sessions() == [] and not t.has("x")
    t.stop("x")  # no-op


def test_respawn_replaces_only_the_gastown_pane(tmux, tmp_path, base_env):
    log = tmp_path / "w.log"
    tmux.start("w", ["sh", "-c", "echo one; sleep 60"], cwd=tmp_path, env=base_env, transcript=log)
    assert wait_for(lambda: "one" in file_text(log))
    first = tmux.sessions()[0]
    user = tmux.server.cmd("split-window", "-d", "-t", "=w:", "-P", "-F", "#{pane_id}\t#{pane_pid}", "sleep", "120").stdout[0]
    user_pane, user_pid = user.split("\t")
    tmux.respawn("w", ["sh", "-c", "echo two; sleep 60"], cwd=tmp_path, env=base_env)
    assert wait_for(lambda: "two" in file_text(log))
    after = tmux.sessions()[0]
    assert after.pane_id == first.pane_id and after.pane_pid != first.pane_pid and after.alive
    panes = dict(r.split("\t") for r in tmux.server.cmd("list-panes", "-s", "-t", "=w", "-F", "#{pane_id}\t#{pane_pid}").stdout)
    assert panes[user_pane] == user_pid
    assert file_text(log).split() == ["one", "two"]
    # Exactly one transcript writer per pane after respawn (the old pipe was replaced).
    assert wait_for(lambda: len(_writers(log)) == 1), _writers(log)


def _writers(log: Path) -> list[int]:
    """Transcript writer processes feeding ``log`` (not the tmux server, whose argv mentions it)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if len(argv) > 3 and argv[2].endswith(b"_transcript_writer.py") and argv[3] == str(log).encode():
            found.append(int(proc.name))
    return found


def test_stop_keeps_user_panes_and_respawn_brings_agent_back(tmux, tmp_path, base_env):
    log = tmp_path / "c.log"
    tmux.start("c", ["sh", "-c", "trap 'echo got TERM; exit 0' TERM; echo up; while :; do sleep 0.05; done"], cwd=tmp_path, env=base_env, transcript=log)
    assert wait_for(lambda: "up" in file_text(log))
    tmux.server.cmd("split-window", "-d", "-t", "=c:", "sleep", "120")
    tmux.stop("c", grace_s=3)
    assert wait_for(lambda: "got TERM" in file_text(log))
    info = tmux.sessions()[0]
    assert tmux.has("c") and not info.alive and info.pane_pid == 0
    tmux.respawn("c", ["sh", "-c", "echo back; sleep 60"], cwd=tmp_path, env=base_env)
    assert wait_for(lambda: "back" in file_text(log))
    assert tmux.sessions()[0].alive
    tmux.stop("c", grace_s=0.5, kill_user_panes=True)
    assert not tmux.has("c")


def test_stop_kills_a_process_ignoring_sigterm_after_grace(tmux, tmp_path, base_env):
    tmux.start("stubborn", ["sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"], cwd=tmp_path, env=base_env, transcript=tmp_path / "x.log")
    tmux.stop("stubborn", grace_s=0.3)
    assert not tmux.has("stubborn")


def test_transcript_rotation_caps_size_and_keeps_n(tmux, tmp_path, base_env):
    log = tmp_path / "r.log"
    script = "import sys, time\nfor i in range(400): print(f'line {i:04d} ' + 'x' * 40, flush=True)\nprint('END', flush=True)\ntime.sleep(60)"
    tmux.start("r", [PY, "-c", script], cwd=tmp_path, env=base_env, transcript=log, max_bytes=4000, keep=2)
    assert wait_for(lambda: "END" in file_text(log))
    files = transcripts.rotated_files(log)
    assert [f.name for f in files] == ["r.log.2", "r.log.1", "r.log"]
    assert not (tmp_path / "r.log.3").exists()
    assert all(f.stat().st_size <= 4000 for f in files)
    assert all(file_text(f).endswith("\n") for f in files[:-1])  # cut on line breaks
    text = transcripts.full_text(log)
    # The newest lines survive in order; the oldest were rotated away.
    assert "line 0399" in text and "line 0000" not in text
    nums = [int(l.split()[1]) for l in text.splitlines() if l.startswith("line ")]
    assert nums == sorted(nums) and nums[-1] == 399
