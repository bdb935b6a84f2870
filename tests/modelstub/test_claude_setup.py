"""What the town writes for a Claude Code session (no claude process needed): its own config dir,
the hooks, the first-run keys merged (Claude Code's own keys kept), a claude login linked, the
user's ~/.claude and ~/.claude.json untouched; and the PreToolUse guard's verdicts."""

import json
import os
import subprocess
import sys

import pytest

from gastown_server.runtime import claude_code, guards
from gastown_server.runtime.runtimes import PRESETS
from gastown_server.town.identity import town_identity

GT = [sys.executable, "-m", "gastown_server.cli.gt"]


def test_prepare_writes_only_town_files_and_keeps_claudes_keys(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / ".credentials.json").write_text('{"claudeAiOauth": "x"}')
    (home / ".claude.json").write_text('{"mine": 1}')
    monkeypatch.setenv("HOME", str(home))
    town = tmp_path / "town"
    (town / "mayor").mkdir(parents=True)
    ident = town_identity(town, "mayor")
    env = claude_code.prepare(town, ident, PRESETS["claude"], cwd=town / "mayor", session_id="s1")
    cfg = town / ".gastown" / "agent-config" / "claude" / "hq-mayor"
    assert env["CLAUDE_CONFIG_DIR"] == str(cfg)
    assert ("IS_SANDBOX" in env) == (os.geteuid() == 0)
    settings = json.loads((cfg / "settings.json").read_text())
    cmds = {ev: h[0]["hooks"][0]["command"] for ev, h in settings["hooks"].items()}
    assert cmds == {"SessionStart": "gt prime --hook && gt mail check --inject", "PreCompact": "gt prime --hook",
                    "UserPromptSubmit": "gt mail check --inject", "Stop": "gt costs record",
                    "PreToolUse": guards.hook_command()}
    assert settings["hooks"]["PreToolUse"][0]["matcher"] == "Bash" and settings["skipDangerousModePermissionPrompt"]
    data = json.loads((cfg / ".claude.json").read_text())
    data["numStartups"] = 7  # what Claude Code itself writes must survive the next start
    (cfg / ".claude.json").write_text(json.dumps(data))
    claude_code.prepare(town, ident, PRESETS["claude"], cwd=town / "mayor", session_id="s2")
    data = json.loads((cfg / ".claude.json").read_text())
    assert data["numStartups"] == 7 and data["hasCompletedOnboarding"] and data["bypassPermissionsModeAccepted"]
    assert data["customApiKeyResponses"]["approved"] == ["loopback-placeholder"]
    assert data["projects"][str((town / "mayor").resolve())]["hasTrustDialogAccepted"] is True
    assert (cfg / ".credentials.json").resolve() == (home / ".claude" / ".credentials.json").resolve()
    assert (home / ".claude.json").read_text() == '{"mine": 1}'
    assert sorted(p.name for p in (home / ".claude").iterdir()) == [".credentials.json"]


@pytest.mark.parametrize("command, refused", [
    ("sudo ls", True), ("ls && sudo -n true", True), ("apt-get install -y jq", True), ("pip install requests", True),
    ("python3 -m pip install x", True), ("npm install -g typescript", True), ("npm i lodash", True),
    ("git push --force origin main", True), ("git push -f", True), ("git push origin +main", True),
    ("npm ci", False), ("npm install", False), ("git push origin polecat/x", False), ("gt done", False),
    ("bd close gt-1 -r 'no sudo needed'", False), ("echo pseudo-install", False),
])  # fmt: skip
def test_guard_rules(command, refused):
    assert bool(guards.refusal(command)) is refused


@pytest.mark.parametrize("entry", ["gt tap guard", "the settings' hook command"])
def test_gt_tap_guard_exit_codes_and_reason(entry, tmp_path):
    # The hook command Claude Code runs (a shell string, from an unrelated directory) and `gt tap guard`
    # give the same verdicts, messages and exit codes.
    argv = [*GT, "tap", "guard"] if entry == "gt tap guard" else ["sh", "-c", guards.hook_command()]

    def run(stdin):
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30, cwd=tmp_path)

    proc = run(json.dumps({"tool_name": "Bash", "tool_input": {"command": "sudo rm -rf /tmp/x"}}))
    assert proc.returncode == 2 and proc.stderr.startswith("gt tap guard: refused: root is not for agents")
    ok = run(json.dumps({"tool_input": {"command": "gt done"}}))
    assert ok.returncode == 0 and ok.stderr == ""
    bad = run("not json")
    assert bad.returncode == 1 and bad.stderr.strip().startswith("gt: error: gt tap guard: stdin is not the hook's JSON")
    assert len(bad.stderr.strip().splitlines()) == 1
