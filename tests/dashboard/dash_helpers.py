"""Running the real `gt dashboard` as a process, and looking at what it serves."""

from __future__ import annotations

import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

GT = [sys.executable, "-m", "gastown_server.cli.gt"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
_SERVING = re.compile(r"serving .* at (http://\S+)")


class DashServer:
    """``gt dashboard --port 0`` in its own process group; ``url`` once it listens."""

    def __init__(self, town: Path, *args: str, env: dict | None = None, timeout: float = 30.0) -> None:
        self.town = town
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [*GT, "dashboard", "--town", str(town), "--port", "0", *args], cwd=town, env=env or dict(os.environ),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        self.url = ""
        got = threading.Event()

        def read():
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
                m = _SERVING.search(line)
                if m and not self.url:
                    self.url = m.group(1).rstrip("/")
                    got.set()
            got.set()

        threading.Thread(target=read, daemon=True).start()
        if not got.wait(timeout) or not self.url:
            self.stop()
            raise AssertionError("gt dashboard did not start:\n" + "\n".join(self.lines))
        # Print order: the token lines follow the serving line.
        time.sleep(0.2)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def get(url: str, *, headers: dict | None = None, data: bytes | None = None, follow: bool = True):
    """(status, headers, body text) of one request; errors are answers too."""
    req = urllib.request.Request(url, headers=headers or {}, data=data)
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=20) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def png_pixels_vary(png: bytes) -> int:
    """How many distinct byte values the PNG's (filtered) image data holds: ~3 for a blank page, >100 for text."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat)))


def claude_reply(day: str, msg_id: str, inp: int, out: int) -> str:
    """One assistant line as Claude Code writes it in its session JSONL (the fields gastown.costs reads)."""
    import json

    return json.dumps({"type": "assistant", "timestamp": f"{day}T10:00:00.000Z", "requestId": f"req-{msg_id}",
                       "message": {"id": msg_id, "model": "claude-sonnet-4-5",
                                   "usage": {"input_tokens": inp, "output_tokens": out}}})  # fmt: skip
