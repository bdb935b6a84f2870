"""Real Claude Code (the bootstrap's pinned binary) running a town, offline, in real tmux.

One town for the module (real claude start-ups are slow): the demo's town
with a claude Mayor and claude polecats (patrols on the script runtime),
started by `gt up` with ANTHROPIC_API_KEY and an upstream ANTHROPIC_BASE_URL
in its environment, so the town runs its key-adding forward proxy; the
upstream is a loopback stub in this process that records the headers it gets.
So every claude request goes session -> town proxy -> upstream stub, and the
tests check the key arrives upstream but is in no agent's environment, file
or transcript.
"""

import functools
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import town_helpers
from town_helpers import GT

from gastown_server.modelstub import service
from gastown_server.runtime import agent_clis

pytestmark = pytest.mark.slow

SECRET = "sk-ant-api03-TOWN-SECRET-do-not-leak-4711"
DIALOGS = re.compile(r"Detected a custom API key|trust this folder|one you trust\?|Bypass Permissions mode|"
                     r"Select login method|Choose the text style")


#: These waits last minutes and mostly read a pane through tmux: poll a few times a second (the shared default: 20).
wait_for = functools.partial(town_helpers.wait_for, step=0.25)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    """The 'hosted model': a loopback stub that remembers every request's headers."""
    d = tmp_path_factory.mktemp("upstream")
    server = service.make_server(0, log_path=d / "upstream.jsonl")
    headers = []
    base = server.RequestHandlerClass

    class Spy(base):
        def do_POST(self):
            headers.append({k.lower(): v for k, v in self.headers.items()})
            if server.slow_s:  # a slow model: the CLI shows its busy screen meanwhile
                time.sleep(server.slow_s)
            return base.do_POST(self)

    server.RequestHandlerClass = Spy
    server.slow_s = 0.0
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    server.headers_seen = headers
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def town(tmp_path_factory, upstream):
    from gastown_server.demo.town import Demo

    assert agent_clis.find("claude"), "claude is not installed: run scripts/bootstrap --agents"
    where = tmp_path_factory.mktemp("claude-town")
    home = where / "home"
    home.mkdir()
    demo = Demo(where / "demo", verbose=False, runtime="script", model="hosted",
                roles={"mayor": "claude", "polecat": "claude"})
    demo.env.update(HOME=str(home), ANTHROPIC_API_KEY=SECRET, ANTHROPIC_BASE_URL=upstream.url)
    demo.build()
    demo.home = home
    demo.log = Path(upstream.log_path)
    yield demo
    try:
        demo.down()
    finally:
        from gastown_server.runtime.tmux import socket_name

        subprocess.run(["tmux", "-L", socket_name(demo.town), "kill-server"], capture_output=True)
        service.stop(demo.town)


def gt(town, *argv, check=True, env=None):
    e = {k: v for k, v in town.env.items() if not k.startswith("ANTHROPIC_")}
    e.update(env or {})
    proc = subprocess.run([*GT, *argv], cwd=town.town, env=e, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"gt {' '.join(argv)} failed ({proc.returncode}): {proc.stderr}{proc.stdout}")
    return proc


def screen(town, session):
    from gastown_server.runtime.tmux import socket_name

    return subprocess.run(["tmux", "-L", socket_name(town.town), "capture-pane", "-p", "-t", session],
                          capture_output=True, text=True).stdout


def log(town):
    try:
        return [json.loads(x) for x in town.log.read_text().splitlines()]
    except OSError:
        return []


def idle(town, session):
    text = screen(town, session)
    return "esc to interrupt" not in text and re.search(r"^\s*❯\s*$", text, re.M) and text


def test_mayor_starts_with_no_dialog_and_answers_a_nudge(town):
    wait_for(lambda: any(e.get("who") == "mayor" and e["kind"] == "idle" for e in log(town)), 120, "the Mayor to prime")
    text = wait_for(lambda: idle(town, "hq-mayor"), 60, "the Mayor's input prompt")
    assert not DIALOGS.search(text), text
    st = json.loads(gt(town, "status", "--json").stdout)
    mayor = next(a for a in st["agents"] if a["address"] == "mayor")
    assert mayor["alive"] and mayor["dialog"] == ""

    question = "which town are you in?"
    res = gt(town, "nudge", "mayor", question)
    assert res.stdout.startswith("delivered to mayor")
    entry = wait_for(lambda: next((e for e in log(town) if e.get("user") == question), None), 60, "the nudge at the model")
    assert entry["who"] == "mayor" and entry["kind"] == "answer"
    wait_for(lambda: f"you asked: {question}" in screen(town, "hq-mayor"), 60, "the answer in the pane")


def test_a_nudge_never_splices_into_a_half_typed_line_nor_lands_while_claude_generates(town, upstream):
    from gastown_server.runtime import nudge as rt_nudge
    from gastown_server.runtime.tmux import TownTmux, socket_name

    tmux = TownTmux(socket_name(town.town))
    state = town.town / ".gastown"
    wait_for(lambda: idle(town, "hq-mayor"), 60, "the Mayor's input prompt")
    subprocess.run(["tmux", "-L", socket_name(town.town), "send-keys", "-t", "hq-mayor", "-l", "half typed by a human"])
    wait_for(lambda: "half typed by a human" in screen(town, "hq-mayor"), 10, "the half line on screen")
    res = rt_nudge.nudge(tmux, "hq-mayor", "are you there, first?", state_dir=state, idle_s=0.2, timeout_s=2)
    assert res.status == "queued" and "input line holds text" in res.reason, res
    subprocess.run(["tmux", "-L", socket_name(town.town), "send-keys", "-t", "hq-mayor", "C-u"])
    wait_for(lambda: idle(town, "hq-mayor"), 10, "the input box empty again")
    rt_nudge.flush_queue(tmux, state, "hq-mayor", idle_s=0.2)  # (or the daemon's heartbeat flushed it already)
    wait_for(lambda: any(r.id == res.id and r.status == "delivered" for r in rt_nudge.read_log(state)), 30,
             "the queued nudge delivered")
    wait_for(lambda: any(e.get("user") == "are you there, first?" for e in log(town)), 60, "the queued nudge at the model")
    wait_for(lambda: idle(town, "hq-mayor"), 60, "the Mayor idle after answering")
    assert "half typed by a human" not in [e.get("user") for e in log(town)]

    upstream.slow_s = 8.0
    try:
        res = rt_nudge.nudge(tmux, "hq-mayor", "what is slow today?", state_dir=state, idle_s=0.2)
        assert res.status == "delivered"
        wait_for(lambda: "esc to interrupt" in screen(town, "hq-mayor"), 20, "claude's busy screen")
        busy = rt_nudge.nudge(tmux, "hq-mayor", "and what comes next?", state_dir=state, idle_s=0.2, timeout_s=1.5)
        assert busy.status == "queued" and "generating" in busy.reason, busy
    finally:
        upstream.slow_s = 0.0
    wait_for(lambda: idle(town, "hq-mayor"), 90, "the Mayor idle after the slow answer")
    rt_nudge.flush_queue(tmux, state, "hq-mayor", idle_s=0.2)
    wait_for(lambda: any(r.id == busy.id and r.status == "delivered" for r in rt_nudge.read_log(state)), 30,
             "the queued nudge delivered")
    wait_for(lambda: any(e.get("user") == "and what comes next?" for e in log(town)), 60, "the second nudge at the model")
    wait_for(lambda: idle(town, "hq-mayor"), 60, "the Mayor idle again")


def test_a_guarded_command_is_refused_with_a_reason_the_agent_sees(town):
    wait_for(lambda: idle(town, "hq-mayor"), 60, "the Mayor's input prompt")
    gt(town, "nudge", "mayor", "run `sudo id -u`")
    ran = wait_for(lambda: next((e for e in log(town) if e["kind"] == "ran" and e.get("who") == "mayor"), None),
                   90, "the model to see the command's result")
    assert "refused" in ran["text"] and "root is not for agents" in ran["text"], ran
    wait_for(lambda: "root is not for agents" in screen(town, "hq-mayor"), 30, "the refusal in the pane")


def test_a_model_reply_the_cli_rejects_is_one_clear_line_and_the_town_keeps_running(town, upstream):
    """Seance resumes the Mayor's Claude session with `claude --resume <id> -p`; the model answers garbage."""
    sessions = json.loads(gt(town, "seance", "mayor", "--json").stdout)
    sid = sessions[0]["session_id"]
    upstream.fault = "bad-reply"
    try:
        proc = gt(town, "seance", "--talk", sid, "-p", "what did you do?", "--timeout", "90", check=False)
    finally:
        upstream.fault = ""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("gt: error:") and "malformed response" in lines[0], lines[0]
    st = json.loads(gt(town, "status", "--json").stdout)
    assert next(a for a in st["agents"] if a["address"] == "mayor")["alive"]
    ok = gt(town, "seance", "--talk", sid, "-p", "which town are you in?", "--timeout", "90")
    assert "you asked: which town are you in?" in ok.stdout


def test_polecat_on_claude_finishes_through_gt_done_and_the_refinery_merges(town):
    from gastown_server.demo.work import BEADS

    convoy, ids = town.file_work(BEADS[:1])
    town.sling(ids)
    town.wait_for_landing(convoy, ids, timeout_s=300)
    subjects = town.report(convoy, ids)
    assert sum(s.endswith(f"({ids[0]})") for s in subjects) == 1
    walked = [e for e in log(town) if e.get("who", "").startswith("textkit/polecats/")]
    assert any("gt done" in c for e in walked for c in e["calls"]), "the polecat ran gt done through claude's Bash tool"


def test_the_key_reaches_upstream_and_nowhere_an_agent_can_see(town, upstream):
    wait_for(lambda: upstream.headers_seen, 30, "a request upstream")
    assert all(h.get("x-api-key") == SECRET for h in upstream.headers_seen)
    st = service.status(town.town)
    assert st.running and st.mode == "forward" and st.url.startswith("http://127.0.0.1:")
    from gastown_server.town.status import agent_rows
    from gastown_server.town.core import Town

    with Town(town.town) as t:
        rows = [a for a in agent_rows(t) if a.alive and a.pane_pid]
    pids = [a.pane_pid for a in rows]
    mayor = next(a.pane_pid for a in rows if a.address == "mayor")
    assert b"CLAUDE_CONFIG_DIR=" in Path(f"/proc/{mayor}/environ").read_bytes()  # the claude process itself
    seen = 0
    for pid in pids:
        for proc in [pid, *_descendants(pid)]:
            try:
                environ = Path(f"/proc/{proc}/environ").read_bytes()
            except OSError:
                continue
            seen += 1
            assert SECRET.encode() not in environ, f"key in /proc/{proc}/environ"
            if b"ANTHROPIC_BASE_URL=" in environ:
                assert f"ANTHROPIC_BASE_URL={st.url}".encode() in environ
    assert seen >= 1  # (a polecat being cleaned up may be gone by now)
    for root in (town.where, town.home):
        hits = subprocess.run(["grep", "-rl", "--binary-files=text", SECRET, str(root)], capture_output=True, text=True)
        assert hits.stdout == "", f"the key is in files: {hits.stdout}"


def _descendants(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout.split()
    kids = [int(p) for p in out]
    return kids + [g for k in kids for g in _descendants(k)]


def test_a_session_stuck_on_a_dialog_is_reported_and_the_town_keeps_running(town):
    """A claude crew member given a config dir the town did not prepare stops on a first-run screen:
    `gt status` (text and --json) says DIALOG with the line, not alive; the rest of the town runs on.

    The dir holds onboarding done and nothing else, so Claude Code 2.1.332 stops on the folder trust
    screen.  It must lie inside the session's sandbox view (here: the crew's own clone).  The first
    version of this test kept it under pytest's tmp, which no sandbox mounts: inside, the dir was
    empty, Claude Code ran its first-run welcome, whose check of api.anthropic.com fails offline
    ("Unable to connect to Anthropic services") and exits 1 -- a dead pane, not a dialog, which is
    why the trust prompt "vanished" when sandboxes landed (reproduced by hand with the binary).
    """
    from gastown_server.town import layout

    name = "bob"
    screen_says = r"Yes, I trust this folder|one you trust\?"
    gt(town, "crew", "add", name, "--rig", "textkit")
    raw = layout.crew_dir(town.town, "textkit", name) / ".raw-claude-config"
    raw.mkdir()
    (raw / ".claude.json").write_text('{"hasCompletedOnboarding": true}')
    agent = f"raw{name}"
    gt(town, "config", "agent", "set", agent, "claude --dangerously-skip-permissions", "--preset", "claude",
       "--env", f"CLAUDE_CONFIG_DIR={raw}")
    gt(town, "config", "agent", "default", agent, "--role", "crew")
    gt(town, "crew", "start", name, "--rig", "textkit")
    address = f"textkit/crew/{name}"

    def stuck():
        st = json.loads(gt(town, "status", "--json").stdout)
        return next((a for a in st["agents"] if a["address"] == address and a["dialog"]), None)

    try:
        try:
            row = wait_for(stuck, 90, "gt status to report the dialog")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the pane shows:\n{screen(town, f'tk-crew-{name}')}") from None
        assert re.search(screen_says, row["dialog"]), row["dialog"]
        assert re.search(screen_says, screen(town, row["session"])), "the line gt status names is on the pane"
        line = next(ln for ln in gt(town, "status").stdout.splitlines() if address in ln)
        assert " DIALOG " in line and " alive " not in line and "stuck on a dialog" in line, line
        st = json.loads(gt(town, "status", "--json").stdout)
        assert next(a for a in st["agents"] if a["address"] == "mayor")["alive"]
        assert not next(a for a in st["agents"] if a["address"] == "mayor")["dialog"]
    finally:
        gt(town, "crew", "stop", name, "--rig", "textkit", check=False)
        gt(town, "config", "agent", "default", "script", "--role", "crew")  # (after the stop: a respawn reads it)


def test_claude_missing_from_path_is_one_clear_line(tmp_path):
    from gastown_server.town.install import install

    root = install(tmp_path / "t", actor="overseer")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GT_", "BD_", "ANTHROPIC_"))}
    env.update(PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin", GASTOWN_AGENT_CLIS=str(tmp_path / "none"),
               GT_TMUX_SOCKET=f"gt-claude-missing-{os.getpid()}", HOME=str(tmp_path))
    subprocess.run([*GT, "config", "agent", "default", "claude"], cwd=root, env=env, check=True, capture_output=True)
    proc = subprocess.run([*GT, "up"], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "gt: error: runtime 'claude' not found on PATH: no 'claude' executable "
        "(install it, or pick another runtime with `gt config agent default <name>`)"
    ]
    assert not (root / ".gastown" / "model-proxy.json").exists()
