import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from gastown_server.errors import InvalidInput, NotFound
from gastown_server.runtime import nudge as nudge_mod
from gastown_server.runtime.nudge import clean_message, flush_queue, last_failures, nudge, pending_nudges
from gastown_server.runtime.tmux import TownTmux

from rt_helpers import PY, file_text, got_lines, start_agent, wait_for

FAST = dict(idle_s=0.3, timeout_s=10.0, echo_s=2.0, confirm_s=0.5, retries=2)


def test_clean_message_never_carries_control_keys():
    assert clean_message("a\nb\tc\r\nd") == "a b c d"
    assert clean_message("stop\x1b[A\x03 now\x7f") == "stop[A now"
    with pytest.raises(InvalidInput):
        clean_message(" \n\x1b ")


def test_nudge_reaches_script_agent_and_reaction_is_in_transcript(tmux, tmp_path, base_env):
    log = start_agent(tmux, tmp_path, "hq-mayor", base_env)
    state = tmp_path / "state"
    res = nudge(tmux, "hq-mayor", "check your hook; then report", state_dir=state, **FAST)
    assert res.status == "delivered", res
    assert res.attempts == 1 and res.seq == 1
    assert wait_for(lambda: "check your hook; then report" in got_lines(log))
    # A message with line breaks and an Escape arrives as one clean line.
    res = nudge(tmux, "hq-mayor", "two\nlines\x1b here", state_dir=state, **FAST)
    assert res.status == "delivered"
    assert wait_for(lambda: "two lines here" in got_lines(log))
    logged = nudge_mod.read_log(state)
    assert [r.status for r in logged] == ["delivered", "delivered"]
    assert last_failures(state) == []


def test_bad_targets(tmux, tmp_path, base_env):
    start_agent(tmux, tmp_path, "hq-mayor", base_env)
    with pytest.raises(NotFound):
        nudge(tmux, "hq-nobody", "hi", state_dir=tmp_path)
    with pytest.raises(InvalidInput):
        nudge(tmux, "hq-mayor", "\n", state_dir=tmp_path)
    res = nudge(tmux, "hq-later", "hi later", state_dir=tmp_path, queue_if_missing=True)
    assert res.status == "queued"
    assert [q.message for q in pending_nudges(tmp_path, "hq-later")] == ["hi later"]


_WORKER = """
import json, sys
from pathlib import Path
from gastown_server.runtime.tmux import TownTmux
from gastown_server.runtime.nudge import nudge
sock, session, state, msg = sys.argv[1:5]
r = nudge(TownTmux(sock), session, msg, state_dir=Path(state), idle_s=0.3, timeout_s=60, echo_s=3, confirm_s=1, retries=2)
print(json.dumps({"status": r.status, "seq": r.seq, "message": r.message, "attempts": r.attempts, "reason": r.reason}))
"""


@pytest.mark.slow
def test_twenty_concurrent_nudges_arrive_intact_in_order_exactly_once(tmux, tmp_path, base_env):
    log = start_agent(tmux, tmp_path, "gt-alpha", base_env, address="gt/polecats/alpha")
    state = tmp_path / "state"
    messages = [f"nudge-{i:02d} " + "payload-" * 6 + f"end-{i:02d}" for i in range(20)]
    procs = [
        subprocess.Popen([PY, "-c", _WORKER, tmux.socket, "gt-alpha", str(state), m], stdout=subprocess.PIPE, text=True)
        for m in messages
    ]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(r["status"] == "delivered" for r in results), [r for r in results if r["status"] != "delivered"]
    assert sorted(r["seq"] for r in results) == list(range(1, 21))
    expected = [r["message"] for r in sorted(results, key=lambda r: r["seq"])]
    assert wait_for(lambda: len(got_lines(log, "gt/polecats/alpha")) >= 20, timeout=10)
    time.sleep(0.3)
    assert got_lines(log, "gt/polecats/alpha") == expected  # intact, in order of acquisition, each once


# A program that reads raw keys, echoes printable ones, honours backspace and
# ignores Enter: text typed into it can never be submitted.
_RAW = r"""
import os, sys, tty
tty.setraw(0)
os.write(1, b"raw> ")
while True:
    b = os.read(0, 1)
    if not b:
        break
    if b == b"\x7f":
        os.write(1, b"\b \b")
    elif 32 <= b[0] < 127:
        os.write(1, b)
"""


def test_nudge_to_pane_that_never_submits_is_failed_and_erased(tmux, tmp_path, base_env):
    log = tmp_path / "raw.log"
    tmux.start("raw", [PY, "-c", _RAW], cwd=tmp_path, env=base_env, transcript=log)
    assert wait_for(lambda: "raw>" in tmux.capture("raw", 5))
    state = tmp_path / "state"
    res = nudge(tmux, "raw", "please submit me", state_dir=state, **FAST)
    assert res.status == "failed"
    assert res.attempts == 3 and "stayed on the input line" in res.reason
    # Our text was taken back, so the next nudge would not be glued onto it.
    assert wait_for(lambda: tmux.capture("raw", 5).strip() == "raw>")
    fails = last_failures(state)
    assert [f.message for f in fails] == ["please submit me"]
    assert "failed" in (state / "nudge.log").read_text()


def _attach_real_client(inner: TownTmux, session: str, outer: TownTmux, tmp_path: Path, base_env: dict) -> str:
    """A real tmux client attached to ``session``, running in a pane of ``outer``; returns that pane."""
    cmd = ["env", "-u", "TMUX", "tmux", "-L", inner.socket, "attach", "-t", session]
    outer.start("human", cmd, cwd=tmp_path, env=base_env, transcript=tmp_path / "human.log")
    assert wait_for(lambda: len(inner.clients(session)) == 1, timeout=5)
    return outer.gastown_pane("human")


@pytest.fixture
def outer():
    t = TownTmux(f"gt-test-outer-{uuid.uuid4().hex[:8]}")
    yield t
    t.kill_server()


@pytest.mark.slow
def test_nudge_waits_while_attached_client_types_then_arrives(tmux, outer, tmp_path, base_env):
    log = start_agent(tmux, tmp_path, "hq-mayor", base_env)
    human = _attach_real_client(tmux, "hq-mayor", outer, tmp_path, base_env)
    typed_done = {}

    def type_slowly():
        for ch in "the human is typing this line":
            outer.send_literal(human, ch)
            time.sleep(0.07)
        outer.send_enter(human)
        typed_done["at"] = time.time()

    typist = threading.Thread(target=type_slowly)
    typist.start()
    time.sleep(0.3)  # the human is mid-line
    state = tmp_path / "state"
    res = nudge(tmux, "hq-mayor", "from the deacon", state_dir=state, idle_s=0.5, timeout_s=20, echo_s=2, confirm_s=0.5)
    delivered_at = time.time()
    typist.join()
    assert res.status == "delivered", res
    assert delivered_at >= typed_done["at"] + 0.5
    assert wait_for(lambda: len(got_lines(log)) >= 2)
    assert got_lines(log) == ["the human is typing this line", "from the deacon"]


@pytest.mark.slow
def test_busy_client_queues_then_flush_and_next_nudge_deliver_in_order(tmux, outer, tmp_path, base_env):
    log = start_agent(tmux, tmp_path, "hq-mayor", base_env)
    _attach_real_client(tmux, "hq-mayor", outer, tmp_path, base_env)
    pane = tmux.gastown_pane("hq-mayor")
    tmux.server.cmd("copy-mode", "-t", pane)  # the human scrolls back: not a moment to type
    state = tmp_path / "state"
    first = nudge(tmux, "hq-mayor", "queued one", state_dir=state, idle_s=0.2, timeout_s=0.5)
    second = nudge(tmux, "hq-mayor", "queued two", state_dir=state, idle_s=0.2, timeout_s=0.5)
    assert (first.status, second.status) == ("queued", "queued")
    assert [q.message for q in pending_nudges(state)] == ["queued one", "queued two"]
    assert flush_queue(tmux, state, idle_s=0.2) == []  # still busy: nothing attempted, nothing lost
    assert len(pending_nudges(state)) == 2
    tmux.cancel_mode(pane)
    # flush_queue never waits (the heartbeat calls it again); the client's
    # activity stamp has 1 s resolution, so give it a few heartbeats.
    done = []
    assert wait_for(lambda: done.extend(flush_queue(tmux, state, idle_s=0.2, confirm_s=0.5)) or len(done) >= 2, timeout=5)
    assert [r.status for r in done] == ["delivered", "delivered"]
    assert pending_nudges(state) == []
    # Queue again, then a fresh nudge drains the older ones first.
    tmux.server.cmd("copy-mode", "-t", pane)
    assert nudge(tmux, "hq-mayor", "queued three", state_dir=state, idle_s=0.2, timeout_s=0.3).status == "queued"
    tmux.cancel_mode(pane)
    assert nudge(tmux, "hq-mayor", "fresh four", state_dir=state, idle_s=0.2, timeout_s=5).status == "delivered"
    assert wait_for(lambda: len(got_lines(log)) >= 4)
    assert got_lines(log) == ["queued one", "queued two", "queued three", "fresh four"]


def test_pane_closing_on_enter_counts_as_delivered(tmux, tmp_path, base_env):
    # Reads one line and exits: the pane vanishes on Enter, having consumed the line.
    tmux.start("brief", [PY, "-c", "import sys; sys.stdin.readline()"], cwd=tmp_path, env=base_env, transcript=tmp_path / "b.log")
    res = nudge(tmux, "brief", "bye now", state_dir=tmp_path / "st", idle_s=0.1, echo_s=2, confirm_s=0.5)
    assert res.status == "delivered", res
    assert wait_for(lambda: not tmux.has("brief"))


def test_pane_dying_mid_typing_is_failed_not_raised(tmux, tmp_path, base_env):
    # Raw mode, exits on the first key: the pane is gone before the echo check.
    prog = "import os, tty; tty.setraw(0); os.write(1, b'RAW-READY'); os.read(0, 1)"
    tmux.start("brief", [PY, "-c", prog], cwd=tmp_path, env=base_env, transcript=tmp_path / "b.log")
    assert wait_for(lambda: "RAW-READY" in (tmux.capture("brief", 3) or ""))  # in raw mode now
    res = nudge(tmux, "brief", "bye now", state_dir=tmp_path / "st", idle_s=0.1, echo_s=0.5, confirm_s=0.3)
    assert res.status == "failed", res
    assert "tmux failed during delivery" in res.reason or "pane is gone" in res.reason or "never showed" in res.reason
    assert nudge_mod.read_log(tmp_path / "st")[-1].id == res.id
    assert last_failures(tmp_path / "st")[-1].id == res.id


@pytest.mark.slow
def test_half_typed_human_line_is_never_spliced(tmux, outer, tmp_path, base_env):
    from gastown_server.runtime.runtimes import PRESETS

    # The preset's pattern is recorded on the session at start; every nudge uses it.
    log = start_agent(tmux, tmp_path, "hq-mayor", base_env, empty_input=PRESETS["script"].empty_input)
    human = _attach_real_client(tmux, "hq-mayor", outer, tmp_path, base_env)
    outer.send_literal(human, "half typed")  # ...and the human walks away
    time.sleep(0.3)
    state = tmp_path / "state"
    res = nudge(tmux, "hq-mayor", "from the witness", state_dir=state, idle_s=0.2, timeout_s=1.5)
    assert res.status == "queued" and "half typed" in res.reason
    assert pending_nudges(state)[0].empty_input == PRESETS["script"].empty_input
    assert flush_queue(tmux, state, idle_s=0.2) == []  # still there: still waiting
    outer.send_literal(human, " and finished")
    outer.send_enter(human)
    assert wait_for(lambda: got_lines(log) == ["half typed and finished"])
    assert wait_for(lambda: [r.status for r in flush_queue(tmux, state, idle_s=0.2)] == ["delivered"], timeout=5)
    assert wait_for(lambda: got_lines(log) == ["half typed and finished", "from the witness"])


def test_line_mode_agent_printing_while_a_nudge_is_typed(tmux, tmp_path, base_env):
    """A chatty agent (a status line every 20 ms) keeps moving the cursor and
    can push the text being typed off the cursor row: delivery is still
    confirmed, and each line arrives once and intact."""
    prog = (
        "import sys, threading, time\n"
        "def tick():\n"
        "    while True:\n"
        "        time.sleep(0.02); print('tick', flush=True)\n"
        "threading.Thread(target=tick, daemon=True).start()\n"
        "for line in sys.stdin:\n"
        "    print('answer: ' + line.strip(), flush=True)\n"
    )
    log = tmp_path / "busy.log"
    tmux.start("busy", [PY, "-c", prog], cwd=tmp_path, env=base_env, transcript=log)
    state = tmp_path / "st"
    msgs = [f"busy message {i}" for i in range(4)]
    results = [nudge(tmux, "busy", m, state_dir=state, idle_s=0.1, echo_s=2, confirm_s=1.0, retries=1) for m in msgs]
    assert [r.status for r in results] == ["delivered"] * 4, results
    assert wait_for(lambda: file_text(log).count("answer: ") == 4)
    answers = [l.split("answer: ", 1)[1].strip() for l in file_text(log).splitlines() if "answer: " in l]
    assert answers == msgs


def _queue_one_in_copy_mode(tmux, pane, state, text):
    """Queue ``text`` (the pane is in copy mode: not a moment to type), then leave copy mode."""
    tmux.server.cmd("copy-mode", "-t", pane)
    assert nudge(tmux, "hq-mayor", text, state_dir=state, idle_s=0.2, timeout_s=0.3).status == "queued"
    tmux.cancel_mode(pane)


def _after_delivering(monkeypatch, text, then):
    """Run ``then()`` right after the real delivery of ``text`` returns (a timing hook, not a stand-in)."""
    real = nudge_mod._deliver

    def deliver(tmux, pane, message, **opts):
        out = real(tmux, pane, message, **opts)
        if message == text:
            then()
        return out

    monkeypatch.setattr(nudge_mod, "_deliver", deliver)


@pytest.mark.slow
def test_human_starting_a_line_while_the_queue_drains_is_not_spliced(tmux, outer, tmp_path, base_env, monkeypatch):
    from gastown_server.runtime.runtimes import PRESETS

    log = start_agent(tmux, tmp_path, "hq-mayor", base_env, empty_input=PRESETS["script"].empty_input)
    human = _attach_real_client(tmux, "hq-mayor", outer, tmp_path, base_env)
    pane = tmux.gastown_pane("hq-mayor")
    state = tmp_path / "state"
    _queue_one_in_copy_mode(tmux, pane, state, "queued earlier")
    time.sleep(1.5)  # everybody idle

    def human_starts_typing():
        outer.send_literal(human, "human half")
        assert wait_for(lambda: "human half" in tmux.capture("hq-mayor", 3))

    _after_delivering(monkeypatch, "queued earlier", human_starts_typing)
    res = nudge(tmux, "hq-mayor", "NEW NUDGE", state_dir=state, idle_s=1.0, timeout_s=2.0)
    assert res.status == "queued", res
    assert [q.message for q in pending_nudges(state)] == ["NEW NUDGE"]
    time.sleep(0.3)
    assert got_lines(log) == ["queued earlier"]
    screen = tmux.capture("hq-mayor", 3)
    assert "human half" in screen and "NEW NUDGE" not in screen, screen


@pytest.mark.slow
def test_nudge_queued_during_the_drain_is_delivered_not_left_queued(tmux, outer, tmp_path, base_env, monkeypatch):
    log = start_agent(tmux, tmp_path, "hq-mayor", base_env)
    _attach_real_client(tmux, "hq-mayor", outer, tmp_path, base_env)
    pane = tmux.gastown_pane("hq-mayor")
    state = tmp_path / "state"
    _queue_one_in_copy_mode(tmux, pane, state, "queued earlier")
    time.sleep(1.5)

    def another_sender_gives_up_on_the_lock():
        late = nudge(tmux, "hq-mayor", "queued meanwhile", state_dir=state, idle_s=0.2, timeout_s=0.05)
        assert late.status == "queued" and "held" in late.reason

    _after_delivering(monkeypatch, "queued earlier", another_sender_gives_up_on_the_lock)
    res = nudge(tmux, "hq-mayor", "fresh one", state_dir=state, idle_s=0.2, timeout_s=5.0)
    assert res.status == "delivered", res  # everyone was idle: nothing left waiting
    assert pending_nudges(state) == []
    assert wait_for(lambda: len(got_lines(log)) >= 3)
    assert got_lines(log) == ["queued earlier", "queued meanwhile", "fresh one"]



_LOGGER = r"""
import sys, time
from pathlib import Path
from gastown_server.runtime import nudge
nudge.LOG_MAX_BYTES = int(sys.argv[3])
who = sys.argv[2]
time.sleep(max(0.0, float(sys.argv[5]) - time.time()))  # all start together
for i in range(int(sys.argv[4])):
    nudge._log(Path(sys.argv[1]), nudge.NudgeResult(status="failed", session="s", message=f"{who}-{i}", id=f"{who}-{i}"))
"""


def test_log_rotation_by_racing_writers_loses_no_line(tmp_path):
    # The log is just under its limit and twelve processes log at once: exactly
    # one rotation may happen, so every line is in nudge.log or nudge.log.1.
    def record(i):
        return nudge_mod.NudgeResult(status="failed", session="s", message=f"old-{i:04d}", id=f"old-{i:04d}")

    old = b"".join(nudge_mod._encoder.encode(record(i)) + b"\n" for i in range(1000))
    (tmp_path / nudge_mod.LOG_FILE).write_bytes(old)
    writers, each = 12, 30
    start = time.time() + 2.0
    args = [str(tmp_path), "", str(len(old) - 1), str(each), str(start)]
    procs = []
    for w in range(writers):
        args[1] = f"w{w}"
        procs.append(subprocess.Popen([PY, "-c", _LOGGER, *args]))
    assert [p.wait(timeout=60) for p in procs] == [0] * writers
    ids = {r.id for r in nudge_mod.read_log(tmp_path)}
    assert len(ids) == 1000 + writers * each, f"{1000 + writers * each - len(ids)} lines lost"


def test_abort_ends_the_wait_for_idle_and_for_the_lock_with_the_nudge_queued(tmux, tmp_path, base_env):
    import fcntl
    import os

    start_agent(tmux, tmp_path, "hq-mayor", base_env)
    state = tmp_path / "state"
    # Busy for good: the input line never looks empty to this pattern.
    abort = threading.Event()
    threading.Timer(0.3, abort.set).start()
    t0 = time.monotonic()
    res = nudge(tmux, "hq-mayor", "wait for idle", state_dir=state, idle_s=0.1, timeout_s=30,
                empty_input="^NEVER-EMPTY$", abort=abort)
    assert res.status == "queued" and res.reason == "aborted", res
    assert time.monotonic() - t0 < 1.5
    # The lock held by another nudge: the wait for it ends too.
    (state / "nudge").mkdir(parents=True, exist_ok=True)
    fd = os.open(state / "nudge" / "hq-mayor.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        abort = threading.Event()
        threading.Timer(0.3, abort.set).start()
        t0 = time.monotonic()
        res = nudge(tmux, "hq-mayor", "wait for the lock", state_dir=state, timeout_s=30, abort=abort)
        assert res.status == "queued" and res.reason == "aborted", res
        assert time.monotonic() - t0 < 1.5
    finally:
        os.close(fd)
    assert [q.message for q in pending_nudges(state, "hq-mayor")] == ["wait for idle", "wait for the lock"]
