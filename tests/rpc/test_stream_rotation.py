"""Transcript streaming across log rotation, with the real transcript writer and a real server."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rpc_helpers import clean_env

from gastown_server.rpc.client import Client
from gastown_server.runtime import transcripts

WRITER = Path(transcripts.__file__).with_name("_transcript_writer.py")


def _collect(c: Client, quiet_s: float = 1.0) -> list[dict]:
    chunks = []
    while (n := c.next_notification(quiet_s, method="$/gastown/transcript")) is not None:
        chunks.append(n["params"])
    return chunks


def test_every_line_arrives_once_in_order_across_rotations(town):
    log = transcripts.transcript_path(town, "hq-fake")
    log.parent.mkdir(parents=True, exist_ok=True)
    # A 4000-byte cap and 3 old files: 120 lines of ~90 bytes rotate twice or more.
    writer = subprocess.Popen([sys.executable, "-I", str(WRITER), str(log), "4000", "3"], stdin=subprocess.PIPE)
    sent = [f"line {i:04d} " + "x" * 80 + "\n" for i in range(120)]
    with Client.spawn(town=town, env=clean_env(), stderr=subprocess.DEVNULL) as c:
        c.initialize()
        c.call("transcript/subscribe", {"session": "hq-fake", "offset": 0})
        for line in sent:
            writer.stdin.write(line.encode())
            writer.stdin.flush()
            time.sleep(0.01)
        writer.stdin.close()
        writer.wait()
        chunks = _collect(c)
    assert len(transcripts.rotated_files(log)) >= 3  # it did rotate
    assert "".join(ch["data"] for ch in chunks) == "".join(sent)
    assert any(ch["rotated"] for ch in chunks)


def test_rotation_between_polls_still_sends_the_old_tail(town):
    """The whole rotation (tail written, file renamed, new file started) happens while the stream sleeps."""
    log = transcripts.transcript_path(town, "hq-fake")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("first\n")
    with Client.spawn(town=town, env=clean_env(), stderr=subprocess.DEVNULL) as c:
        c.initialize()
        c.call("transcript/subscribe", {"session": "hq-fake", "offset": 0})
        assert "".join(ch["data"] for ch in _collect(c, 0.5)) == "first\n"
        with open(log, "a") as fh:
            fh.write("tail of the old file\n")
        log.rename(log.with_name(log.name + ".1"))
        log.write_text("new\n")
        chunks = _collect(c, 0.5)
    assert [ch["data"] for ch in chunks] == ["tail of the old file\n", "new\n"]
    assert [ch["rotated"] for ch in chunks] == [False, True]
    assert chunks[1]["offset"] == 0


def test_transcript_lines_zero_is_empty_and_tail_spans_rotated_files(connect, town):
    log = transcripts.transcript_path(town, "hq-fake")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.with_name(log.name + ".1").write_text("".join(f"old {i}\n" for i in range(50_000)))
    log.write_text("live 1\nlive 2\n")
    c = connect()
    assert c.call("agent/transcript", {"session": "hq-fake", "lines": 0})["data"] == ""
    assert c.call("agent/transcript", {"session": "hq-fake", "lines": 3})["data"] == "old 49999\nlive 1\nlive 2\n"
    assert transcripts.tail(log, 50_002).count("\n") == 50_002  # 50,002 lines, each ending in a newline
