"""Town, agent, hook, nudge, handoff, seance, formula and molecule methods, over both transports,
against a real installed town with a script agent (the Mayor) running in real tmux."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from rpc_helpers import clean_env, wait_for

from gastown_server.rpc.errors import RpcError

GT = [sys.executable, "-m", "gastown_server.cli.gt"]
BD = [sys.executable, "-m", "gastown_server.cli.bd"]


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """An installed town (script runtime) on a throwaway tmux socket, the Mayor running."""
    socket = f"gt-rpc-test-{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as mp:
        for key in ("GT_TOWN", "BEADS_DB", "BD_ACTOR", "GT_ACTOR", "GT_ROLE", "GT_SESSION_ID", "TMUX"):
            mp.delenv(key, raising=False)
        mp.setenv("GT_TMUX_SOCKET", socket)
        root = tmp_path_factory.mktemp("rpc-town") / "town"
        env = clean_env()
        src = root.parent / "src"
        src.mkdir()
        git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
        subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
        (src / "README.md").write_text("hello\n")
        subprocess.run([*git, "-C", str(src), "add", "-A"], check=True)
        subprocess.run([*git, "-C", str(src), "commit", "-q", "-m", "init"], check=True)
        for argv in (["install", str(root), "--name", "Central"], ["rig", "add", "proj", str(src), "--prefix", "pj"]):
            p = subprocess.run([*GT, *argv], cwd=root.parent if argv[0] == "install" else root, env=env,
                               capture_output=True, text=True)
            assert p.returncode == 0, p.stderr
        from gastown_server.town.core import Town
        from gastown_server.town.lifecycle import start_agent

        with Town(root) as t:
            start_agent(t, "mayor")
        log = root / ".gastown" / "transcripts" / "hq-mayor.log"
        assert wait_for(lambda: log.exists() and "ready for input" in log.read_text(errors="replace"), 15)
        try:
            yield root
        finally:
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def test_rig_and_agent_lists(connect, town):
    c = connect()
    assert [(r["name"], r["prefix"]) for r in c.call("rig/list")["rigs"]] == [("proj", "pj")]
    agents = {a["address"]: a for a in c.call("agent/list")["agents"]}
    assert agents["mayor"]["session"] == "hq-mayor" and agents["mayor"]["running"] and agents["mayor"]["alive"]
    assert agents["proj/witness"]["session"] == "pj-witness" and not agents["proj/witness"]["running"]


def test_agent_show_and_attach_command(connect, town):
    c = connect()
    shown = c.call("agent/show", {"agent": "mayor"})
    assert shown["identity"]["session"] == "hq-mayor" and shown["agent"]["alive"]
    assert shown["sessions"][0]["current"] and shown["sessions"][0]["runtime"] == "script"
    att = c.call("agent/attachCommand", {"agent": "hq-mayor"})  # a session name works too
    assert att["agent"] == "mayor" and att["running"]
    cmd = att["command"]
    assert cmd[:2] == ["tmux", "-L"] and cmd[-2:] == ["-t", "hq-mayor"]
    # the command names a real session: has-session on the same socket succeeds
    assert subprocess.run(["tmux", "-L", cmd[2], "has-session", "-t", "hq-mayor"]).returncode == 0
    with pytest.raises(RpcError) as err:
        c.call("agent/show", {"agent": "nosuchrig/witness"})
    assert err.value.code in (-33001, -33002)


def test_hook_show(connect, town):
    from gastown_server.beads.store import Ledger
    from gastown_server.paths import ledger_path
    from gastown_server.work import hooks

    c = connect(actor="proj/witness")
    bead = c.call("bead/create", {"title": "Patrol"})
    with Ledger(ledger_path(town)) as led:
        hooks.hook(led, bead["id"], "proj/witness", actor="overseer")
    mine = c.call("hook/show")
    assert mine["agent"] == "proj/witness" and bead["id"] in [b["id"] for b in mine["hook"]]  # town shared by the module
    assert c.call("hook/show", {"agent": "mayor"})["hook"] == []


def test_nudge_reaches_the_agent_seen_through_transcript_stream(connect, town):
    c = connect()
    sub = c.call("transcript/subscribe", {"agent": "mayor"})
    assert sub["session"] == "hq-mayor" and sub["agent"] == "mayor"
    word = f"hello-{c.transport if hasattr(c, 'transport') else ''}{uuid.uuid4().hex[:6]}"
    res = c.call("nudge", {"agent": "mayor", "message": word, "idle_s": 0})
    assert res["status"] == "delivered", res
    text = ""
    while f"got: {word}" not in text:
        note = c.next_notification(10, method="$/gastown/transcript")
        assert note is not None, text
        assert note["params"]["offset"] == sub["offset"] + len(text.encode()) or note["params"]["rotated"]
        text += note["params"]["data"]


def test_seance_list_and_talk_with_progress(connect, town):
    c = connect()
    c.call("nudge", {"agent": "mayor", "message": "the secret word is xylophone", "idle_s": 0})
    listed = c.call("seance/list", {"agent": "mayor"})
    sid = listed["sessions"][0]["session_id"]
    assert listed["agent"] == "mayor" and listed["sessions"][0]["current"]
    wait_for(lambda: "xylophone" in (town / ".gastown/transcripts/hq-mayor.log").read_text(errors="replace"), 10)
    ans = c.call("seance/talk", {"session_id": sid, "question": "what was the secret word?", "progress_token": "tk"})
    assert ans["source"] == "transcript" and "xylophone" in ans["answer"]
    kinds = [n["params"]["value"]["kind"] for n in c.notifications(0.5, method="$/progress")]
    assert kinds == ["begin", "end"]
    with pytest.raises(RpcError) as err:
        c.call("seance/talk", {"session_id": "nope", "question": "?"})
    assert err.value.code == -33001


def test_town_status_full(connect, town):
    c = connect()
    st = c.call("town/status")
    assert st["town"] == {"name": "Central", "root": str(town)}  # --name, not the directory's name
    assert c.server_info["town"]["name"] == "Central"
    assert st["status"]["tmux"]["running"] and st["status"]["rigs"][0]["name"] == "proj"
    mayor = next(a for a in st["status"]["agents"] if a["address"] == "mayor")
    assert mayor["alive"]


def test_formulas_and_molecule_status(connect, town):
    overlay = town / "formulas" / "overlays" / "towers-of-hanoi.toml"  # the town's change to a built-in
    overlay.parent.mkdir(parents=True, exist_ok=True)
    overlay.write_text('description = "Our towers"\n')
    c = connect()
    try:  # the town is shared by this module's tests: the overlay is removed again below
        listed = {f["name"]: f for f in c.call("formula/list")["formulas"]}
        assert {"towers-of-hanoi", "mol-polecat-work"} <= set(listed)
        assert listed["towers-of-hanoi"]["overlay"] == str(overlay) and "overlay" not in listed["mol-polecat-work"]
        shown = c.call("formula/show", {"name": "towers-of-hanoi"})
        assert shown["name"] == "towers-of-hanoi" and "disks" in shown["vars"]
        assert shown["description"] == "Our towers" and shown["overlay"] == str(overlay)
    finally:
        overlay.unlink()
    p = subprocess.run([*BD, "mol", "pour", "towers-of-hanoi", "--var", "disks=2", "--json"], cwd=town,
                       env=clean_env(BD_ACTOR="mayor"), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    root = json.loads(p.stdout)
    root_id = root.get("id") or root.get("root", {}).get("id") or root.get("molecule")
    st = c.call("mol/status", {"molecule": root_id})
    assert st["formula"] == "towers-of-hanoi" and st["progress"]["total"] >= 3
    assert st["current"] and st["progress"]["complete"] is False
    with pytest.raises(RpcError) as err:
        c.call("formula/show", {"name": "no-such-formula"})
    assert err.value.code < -32000


def test_handoff_respawns_and_pushes_agent_changed(connect, town):
    c = connect()
    c.call("feed/subscribe", {})
    before = c.call("agent/show", {"agent": "mayor"})
    res = c.call("handoff", {"agent": "mayor", "message": "over to you"}, timeout=60)
    assert res["status"] == "respawned" and res["session_id"] != before["sessions"][0]["session_id"]
    kinds = set()
    while "handoff" not in kinds:
        note = c.next_notification(10, method="$/gastown/agentChanged")
        assert note is not None, kinds
        kinds.add(note["params"]["kind"])
    assert "session_started" in kinds or wait_for(
        lambda: any(n["params"]["kind"] == "session_started" for n in c.notifications(2, method="$/gastown/agentChanged"))
    )
    log = town / ".gastown/transcripts/hq-mayor.log"
    marker = f"=== gastown session {res['session_id']} ==="
    assert wait_for(lambda: marker in log.read_text(errors="replace"), 15)
    assert wait_for(lambda: "ready for input" in log.read_text(errors="replace").split(marker)[1], 15)


def test_ledger_only_town_refuses_town_calls_clearly(tmp_path):
    from rpc_helpers import make_town

    from gastown_server.rpc.client import Client

    root = make_town(tmp_path / "ledger-only")
    with Client.spawn(town=root, env=clean_env(), stderr=subprocess.DEVNULL) as c:
        c.initialize()
        for method in ("agent/list", "rig/list", "nudge"):
            params = {"agent": "mayor", "message": "x"} if method == "nudge" else None
            with pytest.raises(RpcError) as err:
                c.call(method, params)
            assert err.value.code == -33004 and "gt install" in err.value.message
        assert "status" not in c.call("town/status")


def test_seance_talk_can_be_cancelled(connect, town, tmp_path, monkeypatch):
    """A resumed runtime that takes long: progress begins, $/cancelRequest answers `cancelled` at once."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "claude").write_text(
        "#!/bin/sh\n"
        'case " $* " in *" --resume "*) sleep 20; echo "too late";; *) exec sleep 600;; esac\n'
    )
    (fake / "claude").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    from gastown_server.town.core import Town
    from gastown_server.town.lifecycle import start_agent

    with Town(town) as t:
        started = start_agent(t, "deacon", agent="claude", replace=True)
    assert started.runtime == "claude"
    c = connect()
    msg_id = c.request("seance/talk", {"session_id": started.session_id, "question": "where were we?",
                                       "progress_token": 7, "timeout_s": 60})
    begin = c.next_notification(10, method="$/progress")
    assert begin["params"] == {"token": 7, "value": {"kind": "begin", "message": f"asking session {started.session_id}"}}
    t0 = __import__("time").monotonic()
    c.cancel(msg_id)
    with pytest.raises(RpcError) as err:
        c.wait(msg_id, timeout=10)
    assert err.value.code == -32800 and err.value.data["kind"] == "cancelled"
    assert __import__("time").monotonic() - t0 < 3
    assert c.next_notification(5, method="$/progress")["params"]["value"]["kind"] == "end"
    assert c.call("town/status")["status"]["tmux"]["running"]  # the server carries on
    with Town(town) as t:
        t.tmux.kill_session("hq-deacon")
