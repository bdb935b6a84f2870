"""The operator's verbs over RPC (rig/add, crew/add, agent/start|stop|restart|nuke, formula/pour,
work/board, mail/broadcast, escalate) against a real installed town, real git and real tmux
on a throwaway socket (script runtime)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from rpc_helpers import clean_env

from gastown_server.rpc.client import Client
from gastown_server.rpc.errors import RpcError

GT = [sys.executable, "-m", "gastown_server.cli.gt"]
BD = [sys.executable, "-m", "gastown_server.cli.bd"]
GIT = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]


def _repo(path):
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "README.md").write_text("hello\n")
    subprocess.run([*GIT, "-C", str(path), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(path), "commit", "-q", "-m", "init"], check=True)
    return path


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """An installed town with one rig (proj), on a throwaway tmux socket; nothing running yet."""
    socket = f"gt-ops-test-{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as mp:
        for key in ("GT_TOWN", "BEADS_DB", "BD_ACTOR", "GT_ACTOR", "GT_ROLE", "GT_SESSION_ID", "TMUX", "GT_RIG"):
            mp.delenv(key, raising=False)
        mp.setenv("GT_TMUX_SOCKET", socket)
        base = tmp_path_factory.mktemp("ops-town")
        root = base / "town"
        (base / "src").mkdir()
        _repo(base / "src")
        for argv in (["install", str(root), "--name", "Ops"], ["rig", "add", "proj", str(base / "src"), "--prefix", "pj"]):
            p = subprocess.run([*GT, *argv], cwd=base if argv[0] == "install" else root, env=clean_env(),
                               capture_output=True, text=True)  # fmt: skip
            assert p.returncode == 0, p.stderr
        try:
            yield root
        finally:
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


@pytest.fixture
def c(town):
    with Client.spawn(town=town, env=clean_env(), stderr=subprocess.PIPE) as client:
        client.initialize(actor="overseer")
        yield client
        client.close()
        err = client.process.stderr.read().decode()
        assert "Traceback" not in err, err


def _refused(c, method, params, *words, code=None):
    with pytest.raises(RpcError) as err:
        c.call(method, params, timeout=60)
    for w in words:
        assert w in err.value.message, err.value.message
    assert "\n" not in err.value.message
    if code is not None:
        assert err.value.code == code
    return err.value


def test_rig_add_and_crew_lifecycle(c, town, tmp_path):
    src = _repo(tmp_path / "other")
    rig = c.call("rig/add", {"name": "other", "url": str(src), "prefix": "ot"}, timeout=60)
    assert (rig["name"], rig["prefix"]) == ("other", "ot") and (town / "other").is_dir()
    assert sorted(r["name"] for r in c.call("rig/list")["rigs"]) == ["other", "proj"]
    _refused(c, "rig/add", {"name": "again", "url": str(src), "prefix": "ot"}, "prefix 'ot' is already taken")
    _refused(c, "rig/add", {"name": "nourl", "url": " "}, "git URL or path")
    assert not (town / "nourl").exists()  # nothing half-made

    alice = c.call("crew/add", {"name": "alice", "rig": "proj"}, timeout=60)
    assert alice["address"] == "proj/crew/alice"
    _refused(c, "crew/add", {"name": "alice", "rig": "proj"}, "already exists")

    started = c.call("agent/start", {"agent": "proj/crew/alice"}, timeout=60)
    assert started["status"] in ("started", "running") and started["session"]
    first = started["session_id"]
    rows = {a["address"]: a for a in c.call("agent/list")["agents"]}
    assert rows["proj/crew/alice"]["running"]
    again = c.call("agent/restart", {"agent": "proj/crew/alice"}, timeout=60)
    assert again["session_id"] != first
    stopped = c.call("agent/stop", {"agent": "proj/crew/alice", "grace_s": 1}, timeout=60)
    assert stopped == {"address": "proj/crew/alice", "session": started["session"], "was_running": True}
    assert not {a["address"]: a for a in c.call("agent/list")["agents"]}["proj/crew/alice"]["running"]
    assert c.call("agent/stop", {"agent": "proj/crew/alice"}, timeout=60)["was_running"] is False
    _refused(c, "agent/nuke", {"agent": "proj/crew/alice"}, "only a polecat can be nuked", "stop it instead")
    _refused(c, "agent/start", {"agent": "nobody/at/all"}, code=None)


def test_nuke_refused_while_work_is_hooked_then_forced(c, town):
    env = clean_env(GT_TOWN=str(town), BD_ACTOR="overseer")
    bead = json.loads(subprocess.run([*BD, "create", "Feature", "-t", "task", "--json"], cwd=town, env=env,
                                     capture_output=True, text=True, check=True).stdout)["id"]  # fmt: skip
    slung = json.loads(subprocess.run([*GT, "sling", bead, "proj", "--no-start", "--json"], cwd=town, env=env,
                                      capture_output=True, text=True, check=True).stdout)  # fmt: skip
    address = f"proj/polecats/{slung['polecat']}"
    err = _refused(c, "agent/nuke", {"agent": address}, f"refusing to nuke {address}", "--force")
    assert err.data["reasons"] and err.data["kind"] == "conflict"
    assert (town / "proj" / "polecats" / slung["polecat"]).is_dir()  # nothing changed
    done = c.call("agent/nuke", {"agent": address, "force": True}, timeout=60)
    assert done["address"] == address and bead in done["unhooked"]
    assert not (town / "proj" / "polecats" / slung["polecat"]).exists()
    assert c.call("bead/show", {"id": bead})["status"] == "open"


def test_formula_pour_with_vars_and_missing_ones(c, town):
    err = _refused(c, "formula/pour", {"name": "release"}, "formula release needs variable version", "fill it in")
    assert err.data["missing"] == ["version"]
    _refused(c, "formula/pour", {"name": "release", "vars": {"version": "one"}}, "does not match pattern")
    _refused(c, "formula/pour", {"name": "release", "vars": {"version": "1.0.0", "nope": "1"}}, "unknown variable 'nope'")
    _refused(c, "formula/pour", {"name": "../etc/x"}, "must be a name")
    out = c.call("formula/pour", {"name": "release", "vars": {"version": "1.2.3", "publish": "false"}, "assignee": "mayor"})
    assert out["formula"] == "release" and out["steps"] > 3 and out["ephemeral"] is False
    assert [b["title"] for b in out["current"]] == ["Freeze main for 1.2.3"]
    st = c.call("mol/status", {"molecule": out["id"]})
    assert st["vars"]["version"] == "1.2.3" and st["progress"]["total"] == out["steps"]


def test_work_board_ready_and_blocked(c, town):
    env = clean_env(GT_TOWN=str(town), BD_ACTOR="overseer")

    def bd(*argv):
        return json.loads(subprocess.run([*BD, *argv, "--json"], cwd=town, env=env, capture_output=True, text=True,
                                         check=True).stdout)  # fmt: skip

    first = bd("create", "Lay the track", "-t", "task")["id"]
    second = bd("create", "Run the train", "-t", "task", "--deps", f"blocks:{first}")["id"]
    board = c.call("work/board", {})
    ready = [b["id"] for b in board["ready"]]
    blocked = {i["bead"]["id"]: i["blockers"] for i in board["blocked"]}
    assert first in ready and second not in ready
    assert blocked[second] == [first]
    assert len(c.call("work/board", {"limit": 1})["ready"]) == 1


def test_broadcast_and_escalate(c, town):
    sent = c.call("mail/broadcast", {"subject": "Freeze at noon", "body": "no merges", "rig": "proj"})
    to = sorted(m["to"] for m in sent["messages"])
    assert to and all(a.startswith("proj/") for a in to) and "proj/witness" in to
    inbox = c.call("mail/inbox", {"address": "proj/witness"})
    assert any(m["subject"] == "Freeze at noon" for m in inbox["messages"])
    _refused(c, "mail/broadcast", {"subject": "  "}, "needs a subject")
    _refused(c, "mail/broadcast", {"subject": "x", "rig": "nosuch"}, "no rig 'nosuch'")

    esc = c.call("escalate", {"description": "Refinery keeps failing", "severity": "critical", "body": "see mq"})
    assert esc["severity"] == "critical" and esc["mail"]
    over = c.call("mail/inbox", {"address": "overseer"})["messages"]
    assert any("Refinery keeps failing" in m["subject"] for m in over)
    _refused(c, "escalate", {"description": " "})
    _refused(c, "escalate", {"description": "x", "severity": "apocalyptic"})


def test_rig_park_unpark_remove(c, town, tmp_path):
    src = _repo(tmp_path / "yard")
    c.call("rig/add", {"name": "yard", "url": str(src), "prefix": "yd"}, timeout=60)
    assert "yard" not in c.call("rig/list")["parked"]

    up = c.call("rig/unpark", {"name": "yard"}, timeout=60)
    assert up == {"rig": "yard", "parked": False, "stopped": [], "started": [], "note": "yard was not parked"}
    parked = c.call("rig/park", {"name": "yard", "grace_s": 1}, timeout=60)
    assert parked["parked"] is True and "until gt rig unpark" in parked["note"]
    assert "yard" in c.call("rig/list")["parked"]
    assert c.call("town/status")["status"]["parked_rigs"] == ["yard"]
    assert c.call("rig/park", {"name": "yard"}, timeout=60)["note"] == "yard was already parked"

    up = c.call("rig/unpark", {"name": "yard"}, timeout=60)
    assert up["parked"] is False and sorted(up["started"]) == ["yard/refinery", "yard/witness"]
    assert "yard" not in c.call("rig/list")["parked"]
    running = {a["address"] for a in c.call("agent/list")["agents"] if a["running"]}
    assert {"yard/witness", "yard/refinery"} <= running

    err = _refused(c, "rig/remove", {"name": "yard"}, "rig 'yard' has running sessions", code=-33003)
    assert err.data["kind"] == "conflict"
    assert (town / "yard").is_dir() and "yard" in [r["name"] for r in c.call("rig/list")["rigs"]]  # nothing removed

    c.call("rig/park", {"name": "yard", "grace_s": 1}, timeout=60)
    gone = c.call("rig/remove", {"name": "yard"}, timeout=60)
    assert (gone["name"], gone["prefix"]) == ("yard", "yd")
    assert not (town / "yard").exists() and "yard" not in [r["name"] for r in c.call("rig/list")["rigs"]]
    for method in ("rig/park", "rig/unpark", "rig/remove"):
        _refused(c, method, {"name": "yard"}, "no rig 'yard'", code=-33001)
    _refused(c, "rig/park", {"name": "proj", "grace_s": 500}, "grace_s", code=-32602)


def test_rig_remove_force_stops_running_sessions(c, town, tmp_path):
    src = _repo(tmp_path / "shed")
    c.call("rig/add", {"name": "shed", "url": str(src), "prefix": "sh"}, timeout=60)
    c.call("agent/start", {"agent": "shed/witness"}, timeout=60)
    gone = c.call("rig/remove", {"name": "shed", "force": True}, timeout=60)
    assert gone["name"] == "shed" and not (town / "shed").exists()
    assert not [a for a in c.call("agent/list")["agents"] if a["rig"] == "shed"]
