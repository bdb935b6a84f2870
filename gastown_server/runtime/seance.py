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

import re
import subprocess
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
) -> SeanceAnswer:
    """Ask ``question`` of past session ``session_id`` run by ``preset``."""
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
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise Unavailable(f"seance with {preset.name} session {session_id} timed out after {timeout_s:g}s") from None
    if proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip().splitlines()
        raise Unavailable(
            f"{preset.name} could not resume session {session_id} (exit {proc.returncode}): {err[-1] if err else 'no output'}"
        )
    return SeanceAnswer(session_id=session_id, runtime=preset.name, source="resume", answer=proc.stdout.strip(), command=argv)
