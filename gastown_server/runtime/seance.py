"""Seance: ask a predecessor session a question.

Listing predecessors is the ledger's business (TOWN reads session-start
events); this module answers a question once a session is chosen:

* runtimes with a ``resume`` template (Claude Code: ``claude --resume <id> -p
  <question>``) are run non-interactively with a timeout; their stdout is the
  answer;
* the ``script`` runtime (and any runtime without ``resume``) answers from the
  transcript: the part of the log between that session's marker and the next
  one, searched for the question's keywords (lines mentioning most keywords
  first considered, shown in log order); with no match, the session's last
  lines.
"""

from __future__ import annotations

import codecs
import os
import re
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from ..errors import InvalidInput, NotFound, Unavailable
from . import transcripts
from .runtimes import RuntimePreset, check_available, resume_command

_WORD_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_STOPWORDS = frozenset(
    "the and for are was were what which who whom whose when where why how did does do you your "
    "with that this there their them then than from into onto about have has had not any all can "
    "could would should will shall may might been being its it's our out over under last first".split()
)


class SeanceAnswer(msgspec.Struct, omit_defaults=True):
    session_id: str
    runtime: str
    #: "resume" (the runtime answered) or "transcript" (found in the log).
    source: str
    answer: str
    command: list[str] = []
    matched: int = 0
    #: The runtime's own id of the session when it differs from the town's (Codex).
    native_id: str = ""


def keywords(question: str) -> list[str]:
    words = []
    for w in _WORD_RE.findall(question.lower()):
        w = w.strip(".-")
        if len(w) >= 3 and w not in _STOPWORDS and w not in words:
            words.append(w)
    return words


def answer_from_text(text: str, question: str, *, max_lines: int = 40) -> tuple[str, int]:
    """(answer, number of matching lines) for ``question`` over a transcript text."""
    lines = [l.rstrip() for l in text.splitlines() if l.strip()]
    words = keywords(question)
    scored = []
    for i, line in enumerate(lines):
        low = line.lower()
        score = sum(1 for w in words if w in low)
        if score:
            scored.append((score, i))
    if not scored:
        tail = lines[-min(20, max_lines) :]
        return "no line mentions " + (", ".join(words) or "the question") + "; its last lines:\n" + "\n".join(tail), 0
    best = sorted(scored, key=lambda s: (-s[0], s[1]))[:max_lines]
    return "\n".join(lines[i] for i in sorted(i for _, i in best)), len(scored)


def talk(
    preset: RuntimePreset,
    session_id: str,
    question: str,
    *,
    transcript: Path | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 120.0,
    max_lines: int = 40,
    on_output: Callable[[str], None] | None = None,
) -> SeanceAnswer:
    """Ask ``question`` of past session ``session_id`` run by ``preset``.

    ``on_output`` gets the resumed runtime's answer text as it arrives (the
    CLI prints it, RPC sends ``$/progress`` reports); the result holds all of it.
    """
    if not question or not question.strip():
        raise InvalidInput("the question is empty")
    argv = resume_command(preset, session_id=session_id, question=question)
    if argv is None:
        if transcript is None:
            raise InvalidInput(f"runtime {preset.name!r} cannot resume sessions; give its transcript")
        part = transcripts.session_part(transcript, session_id)
        if part is None:
            raise NotFound(f"no session {session_id!r} in transcript {transcript}")
        text, matched = answer_from_text(part, question, max_lines=max_lines)
        return SeanceAnswer(session_id=session_id, runtime=preset.name, source="transcript", answer=text, matched=matched)
    argv[0] = check_available(preset, path=(env or {}).get("PATH"))
    if cwd is not None and not Path(cwd).is_dir():
        raise InvalidInput(f"seance directory {cwd} does not exist")
    code, out, err = _run_streaming(argv, cwd=cwd, env=env, timeout_s=timeout_s, on_output=on_output)
    if code is None:
        raise Unavailable(f"seance with {preset.name} session {session_id} timed out after {timeout_s:g}s")
    if code != 0:
        lines = (err or out).strip().splitlines()
        raise Unavailable(
            f"{preset.name} could not resume session {session_id} (exit {code}): {lines[-1] if lines else 'no output'}"
        )
    return SeanceAnswer(session_id=session_id, runtime=preset.name, source="resume", answer=out.strip(), command=argv)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _run_streaming(
    argv: list[str], *, cwd, env, timeout_s: float, on_output: Callable[[str], None] | None
) -> tuple[int | None, str, str]:
    """Run ``argv``; stdout goes to ``on_output`` as it arrives.  (exit code, or None on timeout; out; err)."""
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,  # its own group: a timeout kills the CLI and whatever it started
    )  # fmt: skip
    err_chunks: list[bytes] = []

    def read_err() -> None:
        try:
            err_chunks.append(proc.stderr.read())
        except (OSError, ValueError):  # closed under us after a timeout
            pass

    reader = threading.Thread(target=read_err, daemon=True)
    reader.start()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    out: list[str] = []

    def emit(text: str) -> None:
        if text:
            out.append(text)
            if on_output is not None:
                on_output(text)

    deadline = time.monotonic() + timeout_s
    fd = proc.stdout.fileno()
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                _kill(proc)
                proc.wait()
                return None, "".join(out), ""
            if not select.select([fd], [], [], min(left, 0.5))[0]:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            emit(decoder.decode(chunk))
        emit(decoder.decode(b"", final=True))
        try:
            code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.wait()
            return None, "".join(out), ""
    except BaseException:
        _kill(proc)
        proc.wait()
        raise
    finally:
        proc.stdout.close()
        reader.join(timeout=2)
        proc.stderr.close()
    return code, "".join(out), b"".join(err_chunks).decode("utf-8", "replace")
