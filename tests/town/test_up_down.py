"""gt up / status / down on real tmux (throwaway socket), with the script runtime."""

import json
import os
import subprocess
import sys
from pathlib import Path

from town_helpers import transcript, wait_for

from gastown_server.town import rigs
from gastown_server.town.lifecycle import start_agent

SECRETS = {
    "ANTHROPIC_API_KEY": "sk-ant-secret",
    "OPENAI_API_KEY": "sk-openai-secret",
    "GITHUB_TOKEN": "ghp_secret",
    "GT_SERVER_TOKEN": "server-secret",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
}


def tmux_sessions(socket):
    proc = subprocess.run(["tmux", "-L", socket, "list-sessions", "-F", "#{session_name}"], capture_output=True, text=True)
    return sorted(proc.stdout.split()) if proc.returncode == 0 else []


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_up_status_down(gt, town, src_repo, socket_name):
    rigs.add(town, "alpha", str(src_repo), prefix="al")
    rigs.add(town, "beta", str(src_repo), prefix="be")
    up = json.loads(gt("up", "--json", env=SECRETS).stdout)
    expected = ["al-refinery", "al-witness", "be-refinery", "be-witness", "hq-deacon", "hq-mayor"]
    assert sorted(a["session"] for a in up["agents"]) == expected
    assert all(a["status"] == "started" for a in up["agents"])
    assert up["daemon"]["running"] and up["daemon"]["pid"] > 0
    assert tmux_sessions(socket_name) == expected

    st = json.loads(gt("status", "--json").stdout)
    assert st["town"] == {"name": "town", "root": str(town.root)}
    assert st["tmux"] == {"socket": socket_name, "running": True, "session_count": 6}
    assert st["daemon"]["running"] and st["daemon"]["pid"] == up["daemon"]["pid"]
    by = {a["address"]: a for a in st["agents"]}
    for address in ("mayor", "deacon", "alpha/witness", "alpha/refinery", "beta/witness", "beta/refinery"):
        assert by[address]["alive"] and by[address]["running"], address
        assert by[address]["last_activity"]
    assert by["beta/refinery"]["session"] == "be-refinery"
    assert [r["name"] for r in st["rigs"]] == ["alpha", "beta"]

    # Each agent runs where it should, with exactly its explicit environment.
    mayor = by["mayor"]
    env = environ_of(mayor["pane_pid"])
    assert not set(SECRETS) & set(env), set(SECRETS) & set(env)
    assert env["GT_ROLE"] == env["BD_ACTOR"] == "mayor" and env["GT_TOWN"] == str(town.root)
    assert env["GT_TMUX_SOCKET"] == socket_name
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)
    assert os.readlink(f"/proc/{mayor['pane_pid']}/cwd") == str(town.root / "mayor")
    wenv = environ_of(by["alpha/witness"]["pane_pid"])
    assert (wenv["GT_ROLE"], wenv["GT_RIG"]) == ("alpha/witness", "alpha")
    assert os.readlink(f"/proc/{by['alpha/refinery']['pane_pid']}/cwd") == str(town.root / "alpha" / "repo")
    wait_for(lambda: "ready for input" in transcript(town.root, "hq-mayor"), what="mayor transcript")

    # Idempotent: a second up leaves running agents alone.
    again = json.loads(gt("up", "--json").stdout)
    assert all(a["status"] == "running" for a in again["agents"])
    assert tmux_sessions(socket_name) == expected

    text = gt("status").stdout
    assert f"tmux -L {socket_name}: running, 6 session(s)" in text and "alpha/witness" in text

    down = json.loads(gt("down", "--json", "--grace", "2").stdout)
    assert sorted(down["stopped"]) == expected
    assert tmux_sessions(socket_name) == []
    st = json.loads(gt("status", "--json").stdout)
    assert st["tmux"] == {"socket": socket_name, "running": False, "session_count": 0}
    assert not st["daemon"]["running"]
    assert {a["agent_state"] for a in st["agents"] if a["address"] != "boot"} == {"stopped"}


def test_up_refuses_missing_runtime_binary(gt, town, socket_name, tmp_path):
    gt("config", "agent", "default", "claude")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "tmux"):
        (bin_dir / tool).symlink_to(subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip())
    # (nor in the bootstrap's pinned install, which gastown also looks in)
    proc = gt("up", check=False, env={"PATH": str(bin_dir), "GASTOWN_AGENT_CLIS": str(tmp_path / "no-clis")})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "runtime 'claude' not found on PATH" in lines[0], proc.stderr
    assert tmux_sessions(socket_name) == []
    assert not (town.root / ".gastown" / "daemon.pid").exists()


def test_up_without_tmux(gt, town, socket_name, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(subprocess.run(["which", "git"], capture_output=True, text=True).stdout.strip())
    proc = gt("up", check=False, env={"PATH": str(bin_dir)})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "tmux not found" in lines[0], proc.stderr
    assert not (town.root / ".gastown" / "daemon.pid").exists()
    events = [e.kind for e in town.ledger.events_since(0, limit=10000)]
    assert "session_started" not in events
    # status still works without tmux, and says it is not running
    st = json.loads(gt("status", "--json", env={"PATH": str(bin_dir)}).stdout)
    assert st["tmux"]["running"] is False


def test_start_agent_polecats_and_status_counts(town, src_repo, socket_name, gt):
    rig = rigs.add(town, "proj", str(src_repo), prefix="pj")
    results = [start_agent(town, f"proj/polecats/{n}") for n in ("nux", "toast", "slit")]
    assert [r.session for r in results] == ["pj-nux", "pj-toast", "pj-slit"]
    assert all(r.status == "started" for r in results)
    assert (town.root / "proj" / "polecats" / "nux" / "README.md").exists()
    again = start_agent(town, "proj/polecats/nux")
    assert again.status == "running"
    bead = town.ledger.get("pj-polecat-nux")
    assert (bead.issue_type, bead.agent_state) == ("agent", "running")
    st = json.loads(gt("status", "--json").stdout)
    assert st["tmux"]["session_count"] == 3
    pole = [a for a in st["agents"] if a["role"] == "polecat"]
    assert sorted(a["address"] for a in pole) == ["proj/polecats/nux", "proj/polecats/slit", "proj/polecats/toast"]
    assert all(a["alive"] for a in pole)
    env = environ_of(next(a for a in pole if a["address"].endswith("nux"))["pane_pid"])
    assert (env["GT_POLECAT"], env["GT_RIG"], env["GT_ROLE"]) == ("nux", "proj", "proj/polecats/nux")
    listed = json.loads(gt("polecat", "list", "--json").stdout)
    assert len(listed) == 3
    # attach prints the tmux command when not on a terminal
    assert gt("polecat", "attach", "nux").stdout.split() == ["tmux", "-L", socket_name, "attach", "-t", "pj-nux"]
    assert gt("mayor", "attach", check=False).returncode == 1  # the mayor is not running
    assert rig.prefix == "pj"
