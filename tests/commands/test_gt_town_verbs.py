"""Gas Town's town-operation verbs (rig park/boot/stop, sessions, polecats, worktrees, boot, dogs, handoff,
peek) as the real `gt` in a real town with a rig, real tmux sessions on a throwaway socket."""

import subprocess

import pytest

from gastown_server.beads.store import Ledger
from town_helpers import GT, js, make_repo, one_error_line, wait_for


def _new_bead(town_root, title):
    proc = subprocess.run([GT[0], "-m", "gastown_server.cli.bd", "create", title, "--json"], cwd=town_root,
                          capture_output=True, text=True)
    return js(proc)["id"]


def _sessions(socket_name):
    out = subprocess.run(["tmux", "-L", socket_name, "list-sessions", "-F", "#{session_name}"], capture_output=True, text=True)
    return set(out.stdout.split())


@pytest.mark.slow
def test_rig_sessions_polecats_worktrees_boot_dogs(tmp_path, town_root, gt, socket_name):
    gt("rig", "add", "app", str(make_repo(tmp_path / "src")), "--prefix", "ap")
    gt("config", "set", "patrol.enabled", "false")  # script agents sit idle: nothing but the verbs under test moves

    # rig boot / session status / peek --lines / park (nothing restarts) / unpark / stop (note) / shutdown
    booted = js(gt("rig", "boot", "app", "--json"))
    assert booted["started"] == ["app/witness", "app/refinery"]
    assert {"ap-witness", "ap-refinery"} <= _sessions(socket_name)
    st = js(gt("session", "status", "app/witness", "--json"))
    assert (st["session"], st["running"]) == ("ap-witness", True)
    wait_for(lambda: gt("peek", "app/witness", "--lines", "5").stdout.strip(), what="witness output")
    assert len(js(gt("peek", "app/witness", "-n", "3", "--json"))["text"].splitlines()) <= 3
    parked = js(gt("rig", "park", "app", "--json"))
    assert parked["parked"] is True and sorted(parked["stopped"]) == ["app/refinery", "app/witness"]
    assert not {"ap-witness", "ap-refinery"} & _sessions(socket_name)
    with Ledger(town_root / ".gastown" / "ledger.db") as led:
        assert led.get("ap-witness").agent_state == "parked"
    from gastown_server.town.core import Town
    with Town(town_root) as town:
        assert [i.address for i in town.always_on()] == ["mayor", "deacon"]  # the daemon starts nothing of app
    one_error_line(gt("rig", "boot", "app", check=False), "parked", "gt rig unpark app")
    one_error_line(gt("sling", _new_bead(town_root, "Later"), "app", "--no-start", check=False), "parked")
    assert js(gt("rig", "unpark", "app", "--json"))["started"] == ["app/witness", "app/refinery"]
    stopped = js(gt("rig", "stop", "app", "--json"))
    assert sorted(stopped["stopped"]) == ["app/refinery", "app/witness"] and "gt rig park app" in stopped["note"]
    gt("rig", "start", "app")
    assert js(gt("session", "stop", "app/refinery", "--json"))["was_running"] is True
    assert "ap-refinery" not in _sessions(socket_name)
    assert js(gt("rig", "shutdown", "app", "--json"))["stopped"] == ["app/witness"]

    # polecats: sling --no-start makes one with a worktree and hooked work
    issue = js(gt("sling", _new_bead(town_root, "Feature"), "app", "--no-start", "--json"))
    name, address = issue["polecat"], f"app/polecats/{issue['polecat']}"
    assert [p["address"] for p in js(gt("polecat", "list", "app", "--json"))] == [address]
    assert js(gt("polecat", "list", "--json"))[0]["address"] == address
    state = js(gt("polecat", "git-state", f"app/{name}", "--json"))
    assert state["exists"] and state["cleanup_status"] == "clean" and state["branch"] == issue["branch"]
    (town_root / "app" / "polecats" / name / "wip.txt").write_text("wip\n")
    assert js(gt("polecat", "git-state", address, "--json"))["cleanup_status"] == "uncommitted"
    rec = js(gt("polecat", "check-recovery", f"app/{name}", "--json"))
    assert rec["verdict"] == "NEEDS_RECOVERY" and any("uncommitted" in r for r in rec["reasons"])
    assert js(gt("polecat", "status", f"app/{name}", "--json"))["git"]["cleanup_status"] == "uncommitted"
    kinds = {w["kind"]: w for w in js(gt("worktree", "list", "--json"))}
    assert kinds["polecat"]["owner"] == address and kinds["canonical"]["rig"] == "app"
    one_error_line(gt("polecat", "remove", f"app/{name}", check=False), "refusing to nuke")
    one_error_line(gt("worktree", "remove", kinds["canonical"]["path"], check=False), "canonical clone")
    removed = js(gt("worktree", "remove", address, "--force", "--json"))
    assert removed["nuke"]["salvage_ref"] and not (town_root / "app" / "polecats" / name).exists()
    assert js(gt("polecat", "check-recovery", address, "--json"))["verdict"] == "SAFE_TO_NUKE"
    one_error_line(gt("polecat", "list", "nosuch", check=False), "no rig 'nosuch'")

    # boot: triage --degraded decides only; spawn acts; status reports
    assert js(gt("boot", "triage", "--degraded", "--json")) == {"action": "restart", "degraded": True}
    assert "hq-deacon" not in _sessions(socket_name)
    assert js(gt("boot", "spawn", "--json"))["action"] == "restart"
    assert "hq-deacon" in _sessions(socket_name)
    bs = js(gt("boot", "status", "--json"))
    assert bs["running"] is True and bs["last_triage"] and bs["daemon_running"] is False

    # handoff -y -s -m: a fresh session, the note in the HANDOFF mail
    deacon = {"BD_ACTOR": "deacon"}
    before = js(gt("seance", "deacon", "--json"))
    gt("handoff", "-y", "-s", "Patrol half done", "-m", "resume at check-rigs", env=deacon)
    assert len(js(gt("seance", "deacon", "--json"))) == len(before) + 1
    handoff = [m for m in js(gt("mail", "inbox", "--json", env=deacon))["messages"] if m["subject"] == "HANDOFF"]
    assert handoff and handoff[-1]["body"].startswith("Patrol half done\n\nresume at check-rigs")
    one_error_line(gt("handoff", "app/witness", "-y", check=False, env=deacon), "your own session")

    # dog done: the dog's hooked work is closed, its hook empty
    gt("dog", "add", "alpha")
    chore = _new_bead(town_root, "Chore")
    gt("hook", "attach", chore, "deacon/dogs/alpha")
    assert js(gt("dog", "done", "-m", "swept", "--json", env={"BD_ACTOR": "deacon/dogs/alpha"}))["finished"] == [chore]
    assert js(gt("show", chore, "--json"))[0]["status"] == "closed"
    one_error_line(gt("dog", "done", check=False, env={"BD_ACTOR": "mayor"}), "not a dog")
    gt("down", "--grace", "1")
