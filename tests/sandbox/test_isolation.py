"""Agent sandboxes from the inside: a real polecat session (script runtime, real tmux, real bwrap)
tries to read what it must not, and the Refinery pushes to a credential-protected origin.

Every probe is run by the agent itself: a hooked bead's ``run`` command the
script agent executes in its sandboxed session; its findings land in a file
of its own worktree (the one place it may write).
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from git_http import GitHTTPServer
from town_helpers import make_repo, transcript, wait_for

from gastown_server.errors import SecretRefused
from gastown_server.sandbox import secrets
from gastown_server.town import config as town_config
from gastown_server.town import rigs
from gastown_server.town.lifecycle import start_agent, stop_agent
from gastown_server.work import escalation, hooks

pytestmark = pytest.mark.slow

TOKEN = "ghp_t0ken-only-the-refinery-may-use-42"


def _hook_command(town, address: str, command: str, title: str = "probe the sandbox") -> str:
    bead = town.ledger.create(title, actor="overseer", metadata=json.dumps({"run": command}))
    hooks.hook(town.ledger, bead.id, address, actor="overseer")
    return bead.id


@pytest.fixture
def fake_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY----- fake\n")
    monkeypatch.setenv("HOME", str(home))
    return home


def test_polecat_reads_none_of_what_it_must_not(town, tmp_path, fake_home):
    alpha_src = make_repo(tmp_path / "alpha-src")
    beta_src = make_repo(tmp_path / "beta-src", {"beta-only.txt": "beta's code\n"})
    rigs.add(town, "alpha", str(alpha_src), prefix="al")
    rigs.add(town, "beta", str(beta_src), prefix="be")
    secrets.set_secret(town, "alpha", "git-password", TOKEN)
    other = rigs.ensure_polecat_worktree(town, town.rig("alpha"), "other")
    (other / "uncommitted.txt").write_text("another polecat's work in progress\n")
    root = town.root
    forbidden = {
        "other-rig": root / "beta" / "repo" / "beta-only.txt",
        "other-polecat": other / "uncommitted.txt",
        "secret-store": root / ".gastown" / "secrets" / "secrets.json",
        "ssh-key": fake_home / ".ssh" / "id_ed25519",
        "outside-process": Path(f"/proc/{os.getpid()}/environ"),
    }
    for p in forbidden.values():
        assert p.read_bytes(), p  # all there and readable outside the sandbox
    probe = "; ".join(
        f'if cat "{p}" >/dev/null 2>&1; then echo "READ {name}"; else echo "DENIED {name}"; fi' for name, p in forbidden.items()
    )
    half = len(TOKEN) // 2  # the bead holding the command must not quote the value itself
    command = textwrap.dedent(f"""\
        ( {probe}
          T='{TOKEN[:half]}'; T="$T"'{TOKEN[half:]}'
          grep -q "$T" /proc/*/environ 2>/dev/null && echo "TOKEN IN AN ENVIRON" || echo "no token in any environ"
          bd list --json >/dev/null && echo "BD OK"
          bd create "pasting $T into a bead" 2>&1 | tail -1
          echo mine > mine.txt && git add mine.txt && git commit -qm "work from inside" && echo "COMMIT OK"
          echo x > {root}/alpha/repo/README.md 2>/dev/null && echo "WROTE CANONICAL" || echo "canonical clone read-only"
          AGENT_PY=$(tr '\\0' '\\n' </proc/$PPID/cmdline | head -1)  # the script agent running this step
          "$AGENT_PY" -c 'import sys, gastown_server; print("AGENT-PY", sys.prefix, gastown_server.__file__)'
        ) > probe.out 2>&1""")
    _hook_command(town, "alpha/polecats/nux", command)
    res = start_agent(town, "alpha/polecats/nux")
    assert res.status == "started"
    worktree = root / "alpha" / "polecats" / "nux"
    out = wait_for(lambda: (worktree / "probe.out").exists() and "AGENT-PY" in (worktree / "probe.out").read_text()
                   and (worktree / "probe.out").read_text(), timeout=60, what="the probe's report")  # fmt: skip
    for name in forbidden:
        assert f"DENIED {name}" in out, out
    # The agent inside runs this venv's Python, with gastown importable from it (not the base interpreter).
    import sys

    import gastown_server

    assert f"AGENT-PY {sys.prefix} {gastown_server.__file__}" in out, out
    assert "READ " not in out and "no token in any environ" in out
    assert "BD OK" in out and "COMMIT OK" in out and "canonical clone read-only" in out
    assert "refused: the text contains the value of secret alpha/git-password" in out
    # The refusal wrote nothing but an escalation (which does not quote the value).
    assert not any(TOKEN in b.title + b.description for b in town.ledger.list(include_closed=True))
    escalated = [e for e in escalation.list_escalations(town.ledger) if "alpha/git-password" in e.description]
    assert escalated and escalated[0].created_by == "alpha/polecats/nux" and escalated[0].severity == "high"
    # The commit made inside is on the polecat's branch in the canonical clone.
    log = subprocess.run(["git", "-C", str(worktree), "log", "-1", "--format=%s"], capture_output=True, text=True)
    assert log.stdout.strip() == "work from inside"
    assert TOKEN not in transcript(root, "al-nux")
    stop_agent(town, "alpha/polecats/nux", grace_s=2)


def test_network_none_has_only_loopback(town, tmp_path):
    rigs.add(town, "alpha", str(make_repo(tmp_path / "src")), prefix="al")
    town_config.set_sandbox(town.root, network={"polecat": "none"})
    town.reload_config()
    _hook_command(town, "alpha/polecats/nux", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' > nets.out")
    start_agent(town, "alpha/polecats/nux")
    nets = town.root / "alpha" / "polecats" / "nux" / "nets.out"
    wait_for(lambda: nets.exists() and nets.read_text().strip(), timeout=60, what="the interface list")
    assert nets.read_text().split() == ["lo"]
    info = json.loads((town.root / ".gastown" / "sandbox" / "al-nux.json").read_text())
    assert info["network"] == "none" and info["enabled"] is True
    stop_agent(town, "alpha/polecats/nux", grace_s=2)


def test_refinery_pushes_to_a_credential_protected_origin(town, tmp_path):
    origins = tmp_path / "origins"
    seed = make_repo(tmp_path / "seed")
    origins.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(origins / "alpha.git")], check=True)
    server = GitHTTPServer(origins, "x-access-token", TOKEN)
    try:
        rigs.add(town, "alpha", server.url("alpha.git"), prefix="al")
        cfg = town_config.load(town.root)
        cfg.patrol.interval_s = 0.3
        cfg.patrol.max_backoff_s = 0.5
        town_config.save(town.root, cfg)
        town.reload_config()
        secrets.set_secret(town, "alpha", "git-password", TOKEN)
        from gastown_server.work.done import done
        from gastown_server.work.merge_requests import rig_ref

        wt = rigs.ensure_polecat_worktree(town, town.rig("alpha"), "nux")
        git = ["git", "-C", str(wt), "-c", "user.email=p@example.com", "-c", "user.name=p"]
        (wt / "feature.txt").write_text("the feature\n")
        subprocess.run([*git, "add", "feature.txt"], check=True)
        subprocess.run([*git, "commit", "-qm", "nux: the feature"], check=True)
        done(town.ledger, rig_ref(town.rig("alpha")), worktree=wt, polecat="alpha/polecats/nux")

        res = start_agent(town, "alpha/refinery")
        assert res.status == "started"
        bare = ["git", "-C", str(origins / "alpha.git")]

        def origin_subject():
            p = subprocess.run([*bare, "log", "-1", "--format=%s", "main"], capture_output=True, text=True)
            return p.stdout.strip() == "nux: the feature"

        wait_for(origin_subject, timeout=60, what="the merge pushed to the protected origin")
        # An authenticated push (the server logs it once git http-backend returns: just after the ref moved).
        wait_for(lambda: ("ok", "/alpha.git/git-receive-pack") in server.log, timeout=10, what="the push logged")
        # The credential reached no process of the session, nor its transcript.
        pane_pid = next(s.pane_pid for s in town.tmux.sessions() if s.name == "al-refinery")
        tree = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pane_pid)], capture_output=True, text=True).stdout.split()
        for pid in [pane_pid, *map(int, tree)]:
            try:
                assert TOKEN.encode() not in Path(f"/proc/{pid}/environ").read_bytes()
            except FileNotFoundError:
                pass
        assert TOKEN not in transcript(town.root, "al-refinery")
        info = json.loads((town.root / ".gastown" / "sandbox" / "al-refinery.json").read_text())
        assert info["git_broker"] is True and info["tmux"] is False
        stop_agent(town, "alpha/refinery", grace_s=2)
    finally:
        server.close()


def test_failing_credential_helper_is_one_clear_line(town, tmp_path):
    from gastown_server.sandbox.broker import remote_git
    from gastown_server.work.git import Git

    origins = tmp_path / "origins"
    origins.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(make_repo(tmp_path / "seed")), str(origins / "a.git")], check=True)
    server = GitHTTPServer(origins, "x-access-token", TOKEN)
    try:
        rigs.add(town, "alpha", server.url("a.git"), prefix="al")
        repo = Git(town.rig("alpha").repo)
        proc = remote_git(repo, ["push", "-q", "origin", "HEAD:refs/heads/other"], town=str(town.root), rig="alpha")
        assert proc.returncode != 0
        assert "gastown credential helper: rig alpha has no secret git-password (gt secret set alpha git-password)" in proc.stderr
        assert ("denied", "/a.git/git-receive-pack") in server.log or any(s == "denied" for s, _ in server.log)
    finally:
        server.close()


def test_secret_in_mail_or_comment_is_refused_outside_a_sandbox_too(town, tmp_path):
    from gastown_server.work import mail

    rigs.add(town, "alpha", str(make_repo(tmp_path / "src")), prefix="al")
    secrets.set_secret(town, "alpha", "git-password", TOKEN)
    bead = town.ledger.create("harmless", actor="overseer")
    before = town.ledger.last_event_id()
    with pytest.raises(SecretRefused, match="alpha/git-password"):
        mail.send(town.ledger, "mayor", "creds", f"here: {TOKEN}", actor="alpha/witness")
    with pytest.raises(SecretRefused):
        town.ledger.add_comment(bead.id, f"token={TOKEN}!", actor="alpha/witness")
    with pytest.raises(SecretRefused):
        town.ledger.update(bead.id, actor="alpha/witness", notes=f"x{TOKEN}")
    assert TOKEN not in json.dumps([msgspec_to(e) for e in town.ledger.events_since(before)])
    assert len([e for e in escalation.list_escalations(town.ledger) if "alpha/git-password" in e.description]) == 3


def msgspec_to(obj):
    import msgspec

    return msgspec.to_builtins(obj)


def test_sandboxed_polecat_handoff_ends_its_session_and_the_daemon_brings_a_fresh_one(town, tmp_path):
    from gastown_server.patrol.heartbeat import BeatState, beat
    from gastown_server.town.lifecycle import sessions_of
    from gastown_server.work import mail

    rigs.add(town, "alpha", str(make_repo(tmp_path / "src")), prefix="al")
    first = start_agent(town, "alpha/polecats/nux")
    wait_for(lambda: "ready for input" in transcript(town.root, "al-nux"), timeout=30, what="the polecat up")
    subprocess.run(["tmux", "-L", town.socket, "send-keys", "-t", "al-nux", "-l", "handoff fresh context please"], check=True)
    subprocess.run(["tmux", "-L", town.socket, "send-keys", "-t", "al-nux", "Enter"], check=True)
    wait_for(lambda: not town.tmux.has("al-nux"), timeout=30, what="the sandboxed session to end itself")
    assert "handing off: fresh context please" in transcript(town.root, "al-nux")
    notes = [m for m in mail.inbox(town.ledger, "alpha/polecats/nux") if m.subject == "HANDOFF"]
    assert len(notes) == 1 and first.session_id in notes[0].body
    beat(town, BeatState())  # what the daemon does on its next heartbeat
    records = sessions_of(town, town.identity("alpha/polecats/nux"))
    assert records[0].mode == "revive" and records[0].session_id != first.session_id
    marker = f"=== gastown session {records[0].session_id} ==="
    wait_for(lambda: marker in transcript(town.root, "al-nux")
             and "HANDOFF" in transcript(town.root, "al-nux").split(marker)[1], timeout=30, what="the fresh session reads the note")  # fmt: skip
    stop_agent(town, "alpha/polecats/nux", grace_s=2)
