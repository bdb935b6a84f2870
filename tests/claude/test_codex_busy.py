"""Codex's busy screen, on the real binary (the bootstrap's pinned codex) in real tmux: a nudge never
lands while Codex generates.

While a turn runs, Codex 0.171 keeps its input row empty ("› Ask Codex to do anything") and shows
"• Working (5s • esc to interrupt)"; text typed and submitted then is queued into the running turn.
So the empty-input check alone would let a nudge through: the codex preset's ``busy`` pattern is
what holds it.  The model is a loopback stub in this process that can be made slow (the town's own
`gt model-stub` answers at once); the Mayor's runtime points Codex at it (GT_MODEL_BASE_URL).
"""

import functools
import json
import os
import subprocess
import threading
import time

import pytest
import town_helpers
from town_helpers import GT

from gastown_server.modelstub import service
from gastown_server.runtime import agent_clis

pytestmark = pytest.mark.slow

#: These waits last minutes and mostly read a pane through tmux: poll a few times a second (the shared default: 20).
wait_for = functools.partial(town_helpers.wait_for, step=0.2)


@pytest.fixture
def slow_stub(tmp_path):
    server = service.make_server(0, log_path=tmp_path / "stub.jsonl")
    base = server.RequestHandlerClass

    class Slow(base):
        def do_POST(self):
            if server.slow_s:
                time.sleep(server.slow_s)
            return base.do_POST(self)

    server.RequestHandlerClass = Slow
    server.slow_s = 0.0
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_nudge_waits_while_codex_generates_and_goes_in_after(town_root, slow_stub, tmp_path, monkeypatch):
    from gastown_server.runtime import nudge as rt_nudge
    from gastown_server.town import lifecycle
    from gastown_server.town.core import Town

    codex = agent_clis.find("codex")
    assert codex, "codex is not installed: run scripts/bootstrap --agents"
    monkeypatch.setenv("PATH", os.pathsep.join([os.path.dirname(codex), os.environ["PATH"]]))
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("CODEX_HOME", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "GT_MODEL_BASE_URL"):
        monkeypatch.delenv(var, raising=False)

    def log():
        try:
            return [json.loads(x) for x in slow_stub.log_path.read_text().splitlines()]
        except OSError:
            return []

    def gt(*argv):
        proc = subprocess.run([*GT, *argv], cwd=town_root, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc

    gt("config", "agent", "set", "slowcodex", "codex --no-daemon", "--preset", "codex",
       "--env", f"GT_MODEL_BASE_URL={slow_stub.url}")  # fmt: skip
    gt("config", "agent", "default", "slowcodex", "--role", "mayor")
    with Town(town_root) as town:
        res = lifecycle.start_agent(town, "mayor")
        assert res.status == "started" and res.runtime == "slowcodex"
        session, state = res.session, town.state_dir

        def screen():
            return town.tmux.capture(session) or ""

        def idle():
            text = screen()
            return "Waiting for work" in text and "esc to interrupt" not in text and "Ask Codex to do anything" in text

        wait_for(lambda: any(e.get("kind") == "idle" for e in log()), 90, "the Mayor to prime and go idle")
        wait_for(idle, 30, "Codex idle at its input row")

        slow_stub.slow_s = 8.0
        try:
            first = rt_nudge.nudge(town.tmux, session, "what is slow today?", state_dir=state, idle_s=0.2)
            assert first.status == "delivered", first
            busy_screen = wait_for(lambda: (t := screen()) and "esc to interrupt" in t and t, 20, "Codex's busy row")
            assert "Ask Codex to do anything" in busy_screen  # the input row looks idle: only `busy` tells
            second = rt_nudge.nudge(town.tmux, session, "and what comes next?", state_dir=state, idle_s=0.2,
                                    timeout_s=1.5)  # fmt: skip
            assert second.status == "queued" and "agent is generating" in second.reason, second
            assert "and what comes next" not in screen()  # nothing typed into the running turn
        finally:
            slow_stub.slow_s = 0.0
        wait_for(lambda: any(e.get("user") == "what is slow today?" for e in log()), 60, "the first nudge at the model")
        wait_for(lambda: idle() and "you asked: what is slow today" in screen(), 60, "Codex idle after the slow answer")
        rt_nudge.flush_queue(town.tmux, state, session, idle_s=0.2)  # (or the daemon's heartbeat flushed it)
        wait_for(lambda: any(r.id == second.id and r.status == "delivered" for r in rt_nudge.read_log(state)), 30,
                 "the queued nudge delivered")  # fmt: skip
        asked = wait_for(lambda: [e for e in log() if e.get("user") == "and what comes next?"], 60,
                         "the queued nudge at the model")  # fmt: skip
        assert len(asked) == 1 and asked[0]["kind"] == "answer"  # once, as its own turn
        entries = log()
        first_answer = next(i for i, e in enumerate(entries) if "you asked: what is slow today" in e.get("text", ""))
        assert entries.index(asked[0]) > first_answer  # after the slow turn had ended, not folded into it
        lifecycle.stop_agent(town, "mayor", grace_s=2)
