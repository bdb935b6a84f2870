import sys
import time
from pathlib import Path

PY = sys.executable


def wait_for(predicate, timeout=5.0, step=0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def file_text(path: Path) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return ""


AGENT = [PY, "-m", "gastown_server.runtime.script_agent"]


def start_agent(
    tmux, tmp_path: Path, name: str, env: dict, *, address: str = "mayor", extra: dict | None = None, empty_input: str = ""
) -> Path:
    """Start the script agent in session ``name``; return its transcript once it is ready."""
    log = tmp_path / "transcripts" / f"{name}.log"
    full = {**env, "BD_ACTOR": address, "GT_ROLE": address, **(extra or {})}
    tmux.start(name, AGENT, cwd=tmp_path, env=full, transcript=log, empty_input=empty_input)
    assert wait_for(lambda: "ready for input" in file_text(log), timeout=10), file_text(log)
    return log


def got_lines(log: Path, address: str = "mayor") -> list[str]:
    """What the script agent reports it got, in order.

    The agent's answer may land after the echo of the next nudge being typed
    on the same terminal row (the transcript is the raw pane output), so the
    marker is searched anywhere in a line.
    """
    prefix = f"[{address}] got: "
    out = []
    for line in file_text(log).splitlines():
        at = line.find(prefix)
        if at >= 0:
            out.append(line[at + len(prefix):].rstrip("\r"))
    return out
