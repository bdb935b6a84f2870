"""Nudging a full-screen TUI agent (Claude Code-like): the input lives in a
bordered box that wraps long text over several rows and is cleared on Enter."""

import pytest

from gastown_server.runtime.nudge import nudge

from rt_helpers import PY, file_text, wait_for

# Raw-mode program redrawing the whole screen: submitted lines above, then
# a box with the input wrapped at 30 columns inside borders; Enter submits
# (the box is cleared), printable keys and backspace edit.  SUBMITTED lines
# are also appended to a file so the test sees exactly what was received.
TUI = r"""
import os, sys, tty
tty.setraw(0)
out_path = sys.argv[1]
history, buf, W = [], "", 30

def draw():
    rows = ["\x1b[2J\x1b[H"]
    for h in history[-5:]:
        rows.append("> " + h[:60] + "\r\n")
    rows.append("+" + "-" * (W + 2) + "+\r\n")
    chunks = [buf[i:i + W] for i in range(0, len(buf), W)] or [""]
    if len(buf) and len(buf) % W == 0:
        chunks.append("")
    for c in chunks:
        rows.append("| " + c.ljust(W) + " |\r\n")
    rows.append("+" + "-" * (W + 2) + "+\r\n")
    row = len(history[-5:]) + 1 + len(chunks)
    col = 3 + len(chunks[-1])
    rows.append(f"\x1b[{row};{col}H")
    os.write(1, "".join(rows).encode())

draw()
pending = b""
while True:
    b = os.read(0, 64)
    if not b:
        break
    pending += b
    try:
        text = pending.decode()
    except UnicodeDecodeError:
        continue
    pending = b""
    for ch in text:
        if ch == "\r":
            if buf:
                history.append(buf)
                with open(out_path, "a") as fh:
                    fh.write(buf + "\n")
            buf = ""
        elif ch == "\x7f":
            buf = buf[:-1]
        elif ch.isprintable():
            buf += ch
    draw()
"""


@pytest.mark.parametrize("message", [
    "short one",
    "a long nudge that wraps over several rows of the box: " + "lorem ipsum dolor sit amet " * 4 + "THE END",
])
def test_nudge_into_a_boxed_tui_input(tmux, tmp_path, base_env, message):
    received = tmp_path / "received.txt"
    tmux.start("tui", [PY, "-c", TUI, str(received)], cwd=tmp_path, env=base_env, transcript=tmp_path / "tui.log")
    assert wait_for(lambda: "+---" in tmux.capture("tui", 10))
    state = tmp_path / "st"
    res = nudge(tmux, "tui", message, state_dir=state, idle_s=0.1, echo_s=2, confirm_s=0.5)
    assert res.status == "delivered", res
    assert res.attempts == 1
    assert wait_for(lambda: file_text(received) == message + "\n")
    second = nudge(tmux, "tui", "and another", state_dir=state, idle_s=0.1, echo_s=2, confirm_s=0.5)
    assert second.status == "delivered"
    assert wait_for(lambda: file_text(received) == message + "\nand another\n")
