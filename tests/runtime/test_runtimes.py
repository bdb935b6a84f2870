import re
import stat
import sys
import uuid
from pathlib import Path

import pytest

from gastown_server.errors import InvalidInput, NotFound, Unavailable
from gastown_server.runtime import seance
from gastown_server.runtime.runtimes import (
    PRESETS,
    check_available,
    from_config,
    get_preset,
    resume_command,
    start_command,
    startup_nudge,
    transcript_location,
)

from rt_helpers import file_text, wait_for

# A stand-in `claude`: records its argv (one arg per line, NUL-terminated
# record) and answers -p questions, so we check the command lines we build.
FAKE_CLAUDE = """#!/bin/sh
log="${FAKE_ARGV_LOG:-/dev/null}"
for a in "$@"; do printf '%s\\n' "$a" >> "$log"; done
printf '\\0\\n' >> "$log"
case " $* " in
  *" -p "*) if [ -n "$FAKE_FAIL" ]; then echo "no such session" >&2; exit 3; fi
           if [ -n "$FAKE_SLEEP" ]; then sleep "$FAKE_SLEEP"; fi
           echo "I was fixing the login bug in auth.py"; exit 0;;
esac
echo "claude interactive"; sleep 60
"""


@pytest.fixture
def fake_bin(tmp_path):
    d = tmp_path / "bin"
    d.mkdir()
    exe = d / "claude"
    exe.write_text(FAKE_CLAUDE)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return d


def _records(log: Path) -> list[list[str]]:
    out = []
    for rec in file_text(log).split("\0\n"):
        if rec:
            out.append(rec.rstrip("\n").split("\n"))
    return out


def test_every_runtime_has_a_preset():
    assert set(PRESETS) == {"claude", "codex", "gemini", "opencode", "amp", "custom", "script"}
    with pytest.raises(NotFound, match="unknown runtime"):
        get_preset("cursor")


def test_command_lines(tmp_path):
    sid = str(uuid.uuid4())
    prompt = 'Run `gt prime`; then "work" it'
    assert start_command(PRESETS["claude"], cwd=tmp_path, prompt=prompt, session_id=sid) == [
        "claude", "--dangerously-skip-permissions", "--session-id", sid, prompt,
    ]  # fmt: skip
    assert start_command(PRESETS["codex"], cwd=tmp_path, prompt="go") == ["codex", "--no-daemon", "go"]
    assert start_command(PRESETS["gemini"], cwd=tmp_path, prompt="go") == ["gemini", "--prompt-interactive", "go"]
    assert start_command(PRESETS["opencode"], cwd=tmp_path, prompt="go") == ["opencode", "--prompt", "go"]
    assert start_command(PRESETS["amp"], cwd=tmp_path, prompt="go") == ["amp"]
    assert startup_nudge(PRESETS["amp"], "go") == "go" and startup_nudge(PRESETS["claude"], "go") is None
    assert start_command(PRESETS["script"], cwd=tmp_path, prompt="go") == [
        sys.executable, "-m", "gastown_server.runtime.script_agent", "--prompt", "go",
    ]  # fmt: skip
    assert start_command(PRESETS["claude"], cwd=tmp_path, prompt="") == ["claude", "--dangerously-skip-permissions"]
    assert resume_command(PRESETS["claude"], session_id=sid, question="what {bin} did you do?") == [
        "claude", "--resume", sid, "-p", "what {bin} did you do?",
    ]  # fmt: skip
    assert resume_command(PRESETS["codex"], session_id="abc", question="q") == ["codex", "exec", "--skip-git-repo-check", "resume", "abc", "q"]
    assert resume_command(PRESETS["script"], session_id="abc", question="q") is None
    with pytest.raises(InvalidInput):
        resume_command(PRESETS["claude"], session_id="--evil", question="q")
    with pytest.raises(InvalidInput):
        start_command(PRESETS["custom"], cwd=tmp_path, prompt="x")
    with pytest.raises(InvalidInput):
        start_command(PRESETS["claude"], cwd=tmp_path / "missing", prompt="x")


def test_from_config_overrides_and_validates(tmp_path):
    mine = from_config("fastclaude", {"preset": "claude", "command": ["claude", "--model", "haiku"], "env": {"X": "1"}})
    assert mine.name == "fastclaude" and mine.resume == PRESETS["claude"].resume and mine.env == {"X": "1"}
    assert start_command(mine, cwd=tmp_path, prompt="p")[:3] == ["claude", "--model", "haiku"]
    custom = from_config("aider", {"command": ["aider", "--yes"], "prompt_style": "flag", "prompt_flag": "--message"})
    assert start_command(custom, cwd=tmp_path, prompt="p") == ["aider", "--yes", "--message", "p"]
    with pytest.raises(InvalidInput, match="bad settings"):
        from_config("x", {"preset": "claude", "colour": "red"})
    with pytest.raises(InvalidInput, match="prompt_style"):
        from_config("x", {"command": ["x"], "prompt_style": "telepathy"})


def test_check_available(tmp_path, fake_bin):
    with pytest.raises(Unavailable, match="runtime 'claude' not found on PATH"):
        check_available(PRESETS["claude"], path=str(tmp_path))
    assert check_available(PRESETS["claude"], path=str(fake_bin)) == str(fake_bin / "claude")
    assert check_available(PRESETS["script"]) == sys.executable
    with pytest.raises(Unavailable):
        check_available(from_config("x", {"command": [str(tmp_path / "nope")]}))


def test_claude_transcript_location(tmp_path):
    """Each town session has its own Claude config dir (CLAUDE_CONFIG_DIR); its projects/ holds the logs."""
    from gastown_server.runtime.runtimes import session_config_dir

    proj = tmp_path / "my.proj"
    proj.mkdir()
    cfg = session_config_dir(tmp_path / "town", PRESETS["claude"], "hq-mayor")
    assert cfg == tmp_path / "town" / ".gastown" / "agent-config" / "claude" / "hq-mayor"
    loc = transcript_location(PRESETS["claude"], cwd=proj, session_id="s1", config_dir=cfg)
    slug = re.sub(r"[^A-Za-z0-9]", "-", str(proj.resolve()))
    assert slug.endswith("-my-proj") and "/" not in slug
    assert loc == cfg / "projects" / slug / "s1.jsonl"
    assert transcript_location(PRESETS["claude"], cwd=proj, config_dir=cfg) == cfg / "projects" / slug
    assert transcript_location(PRESETS["claude"], cwd=proj) is None
    assert transcript_location(PRESETS["amp"], cwd=proj) is None


def test_fake_claude_started_in_tmux_gets_our_command_line(tmux, tmp_path, fake_bin, base_env):
    argv_log = tmp_path / "argv.log"
    sid = str(uuid.uuid4())
    prompt = "You are the mayor. Run `gt prime` first; \"quote\" and $HOME stay literal."
    cmd = start_command(PRESETS["claude"], cwd=tmp_path, prompt=prompt, session_id=sid)
    env = {**base_env, "PATH": f"{fake_bin}:{base_env['PATH']}", "FAKE_ARGV_LOG": str(argv_log)}
    tmux.start("hq-mayor", cmd, cwd=tmp_path, env=env, transcript=tmp_path / "t.log")
    assert wait_for(lambda: _records(argv_log))
    assert _records(argv_log)[0] == cmd[1:]
    assert wait_for(lambda: "claude interactive" in file_text(tmp_path / "t.log"))


def test_seance_resumes_claude_non_interactively(tmp_path, fake_bin):
    argv_log = tmp_path / "argv.log"
    env = {"PATH": f"{fake_bin}:/usr/bin:/bin", "FAKE_ARGV_LOG": str(argv_log)}
    ans = seance.talk(PRESETS["claude"], "sess-1", "what were you doing?", cwd=tmp_path, env=env, timeout_s=10)
    assert ans.source == "resume" and "login bug" in ans.answer
    assert _records(argv_log) == [["--resume", "sess-1", "-p", "what were you doing?"]]
    with pytest.raises(Unavailable, match="exit 3.*no such session"):
        seance.talk(PRESETS["claude"], "sess-2", "q?", env={**env, "FAKE_FAIL": "1"}, timeout_s=10)
    with pytest.raises(Unavailable, match="timed out"):
        seance.talk(PRESETS["claude"], "sess-3", "q?", env={**env, "FAKE_SLEEP": "5"}, timeout_s=0.5)
    with pytest.raises(Unavailable, match="not found on PATH"):
        seance.talk(PRESETS["claude"], "sess-4", "q?", env={"PATH": str(tmp_path)}, timeout_s=1)
