"""Nudges to sessions gastown itself started (start_agent), with a real attached tmux client."""

import json
import subprocess
import time
import uuid

import pytest
from town_helpers import transcript, wait_for

from gastown_server.runtime.runtimes import PRESETS
from gastown_server.town.lifecycle import start_agent


@pytest.fixture
def outer():
    """A second tmux server whose pane runs the human's `tmux attach`."""
    name = f"gt-town-outer-{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True)


def _attach_human(town, session: str, outer: str) -> None:
    attach = f"env -u TMUX tmux -L {town.socket} attach -t {session}"
    subprocess.run(["tmux", "-L", outer, "-f", "/dev/null", "new-session", "-d", "-s", "human", "-x", "200", "-y", "50", attach], check=True)
    wait_for(lambda: len(town.tmux.clients(session)) == 1, timeout=5, what="the human's client")


def _type(outer: str, text: str) -> None:
    subprocess.run(["tmux", "-L", outer, "send-keys", "-t", "human", "-l", text], check=True)


def test_started_session_records_empty_input_and_never_splices(town, gt, socket_name, outer):
    started = start_agent(town, "mayor")
    assert started.status == "started"
    opt = subprocess.run(["tmux", "-L", socket_name, "show-options", "-v", "-t", "=hq-mayor:", "@gt_empty_input"],
                         capture_output=True, text=True)
    assert opt.stdout.strip() == PRESETS["script"].empty_input
    wait_for(lambda: "ready for input" in transcript(town.root, "hq-mayor"), what="mayor ready")
    _attach_human(town, "hq-mayor", outer)
    _type(outer, "half typed by the human ")
    time.sleep(1.5)  # the human pauses: clients are idle, the line is not
    proc = gt("nudge", "mayor", "NUDGE TEXT", "--idle", "0.2", "--timeout", "1", "--json")
    res = json.loads(proc.stdout)
    assert res["status"] == "queued" and "half typed" in res["reason"], res
    assert "got:" not in transcript(town.root, "hq-mayor")
    screen = town.tmux.capture("hq-mayor", 5)
    assert "half typed by the human" in screen and "NUDGE" not in screen, screen


def test_respawned_session_keeps_the_presets_empty_input(town, socket_name):
    start_agent(town, "mayor")
    # A session whose pattern was lost (started by an older gastown) gets it back on respawn.
    subprocess.run(["tmux", "-L", socket_name, "set-option", "-t", "=hq-mayor:", "@gt_empty_input", ""], check=True)
    assert start_agent(town, "mayor", replace=True).status == "respawned"
    assert town.tmux.gastown_pane_info("hq-mayor")[1] == PRESETS["script"].empty_input


def test_status_shows_queued_nudges_deduped_and_stop_for_good_purges_them(town, gt, src_repo, outer):
    from gastown_server.runtime.nudge import pending_nudges
    from gastown_server.town import rigs
    from gastown_server.town.lifecycle import stop_agent

    rigs.add(town, "proj", str(src_repo), prefix="pj")
    start_agent(town, "proj/polecats/nux")
    wait_for(lambda: "ready for input" in transcript(town.root, "pj-nux"), what="polecat ready")
    _attach_human(town, "pj-nux", outer)
    _type(outer, "the human is mid-line")
    results = [
        json.loads(gt("nudge", "proj/polecats/nux", text, "--idle", "0.2", "--timeout", "0.3", "--json").stdout)
        for text in ("check your hook", "check your hook", "and your mail")
    ]
    assert [r["status"] for r in results] == ["queued"] * 3, results
    assert "already queued" in results[1]["reason"] and "already" not in results[2]["reason"]
    assert [q.message for q in pending_nudges(town.state_dir, "pj-nux")] == ["check your hook", "and your mail"]
    time.sleep(1.1)
    st = json.loads(gt("status", "--json").stdout)
    nux = next(a for a in st["agents"] if a["address"] == "proj/polecats/nux")
    assert nux["nudges_pending"] == 2 and nux["nudge_oldest_age_s"] >= 1.0, nux
    assert "nudges queued=2" in gt("status").stdout
    # The polecat's name goes back to the pool: its successor must not get these.
    assert stop_agent(town, "proj/polecats/nux", grace_s=1.0, agent_state="idle", clear_hook=True)
    assert pending_nudges(town.state_dir, "pj-nux") == []
    start_agent(town, "proj/polecats/nux")
    wait_for(lambda: "ready for input" in transcript(town.root, "pj-nux"), what="successor ready")
    st = json.loads(gt("status", "--json").stdout)
    assert next(a for a in st["agents"] if a["address"] == "proj/polecats/nux")["nudges_pending"] == 0
    assert "got:" not in transcript(town.root, "pj-nux").split("ready for input")[-1]
