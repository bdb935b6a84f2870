"""Per-session transcripts: the pane output tmux pipes to a log file.

Layout: ``<town>/.gastown/transcripts/<session>.log`` is the live file;
rotation (see ``_transcript_writer.py``) moves full files to ``.log.1`` (the
newest old one) .. ``.log.<keep>``.  Offsets given to :func:`read_range` are
byte offsets into the live file; after a rotation the live file starts again
at 0, which a streaming client notices as ``size < cursor``
(:func:`size` tells it).

Session markers: the runtime prints ``SESSION_MARK`` lines (the script agent
does; TOWN may write one for other runtimes with :func:`mark`) so seance can
cut one predecessor's part out of a log shared by successive sessions of the
same role.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..paths import STATE_DIR

TRANSCRIPTS_DIR = "transcripts"
#: Rotation defaults: 8 MiB live file, 3 older files kept.
MAX_BYTES = 8 * 1024 * 1024
KEEP = 3
#: ``=== gastown session <id> ===`` starts one session's part of a transcript.
SESSION_MARK = "=== gastown session {id} ==="
_MARK_RE = re.compile(r"=== gastown session (\S+) ===")
_ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>78]")


def transcripts_dir(town_root: Path) -> Path:
    return Path(town_root) / STATE_DIR / TRANSCRIPTS_DIR


def transcript_path(town_root: Path, session: str) -> Path:
    return transcripts_dir(town_root) / f"{session}.log"


def rotated_files(path: Path) -> list[Path]:
    """Every file of a transcript, oldest first, live file last (those that exist)."""
    path = Path(path)
    olds = []
    for candidate in path.parent.glob(path.name + ".*"):
        suffix = candidate.name[len(path.name) + 1 :]
        if suffix.isdigit():
            olds.append((int(suffix), candidate))
    files = [p for _, p in sorted(olds, reverse=True)]
    if path.exists():
        files.append(path)
    return files


def size(path: Path) -> int:
    try:
        return Path(path).stat().st_size
    except FileNotFoundError:
        return 0


def read_range(path: Path, start: int, end: int | None = None) -> bytes:
    """Bytes ``[start, end)`` of the live transcript (``end=None``: to the end).

    A missing file reads as empty; offsets past the end read as empty.
    """
    if start < 0 or (end is not None and end < start):
        from ..errors import InvalidInput

        raise InvalidInput(f"bad transcript range {start}..{end}")
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            return fh.read() if end is None else fh.read(end - start)
    except FileNotFoundError:
        return b""


def tail(path: Path, lines: int = 50) -> str:
    """The last ``lines`` lines of text of a transcript (live file, then older files).

    Reads backwards from the end in blocks, so a long log costs only what is shown.
    """
    if lines <= 0:
        return ""
    block = 64 * 1024
    data = b""
    for file in reversed(rotated_files(path)):
        try:
            with open(file, "rb") as fh:
                pos = fh.seek(0, 2)
                while pos > 0 and data.count(b"\n") <= lines:
                    step = min(block, pos)
                    pos -= step
                    fh.seek(pos)
                    data = fh.read(step) + data
        except FileNotFoundError:
            continue
        if data.count(b"\n") > lines:
            break
    text = clean(data)
    out = text.splitlines()
    # Keep the final newline: a client shows this tail and then appends the
    # live stream from the end of the file; without it the next line was
    # glued onto the last one ("ready for inputstatus please").
    return "\n".join(out[-lines:]) + ("\n" if text.endswith("\n") and out else "")


def clean(data: bytes) -> str:
    """Terminal output -> plain text: escapes stripped, CRLF normalised."""
    text = data.decode("utf-8", errors="replace")
    text = _ANSI_RE.sub("", text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def full_text(path: Path) -> str:
    """The whole transcript, every rotated file included, as plain text."""
    return "".join(clean(f.read_bytes()) for f in rotated_files(path))


def session_part(path: Path, session_id: str) -> str | None:
    """The text one session wrote (from its marker to the next marker), or None."""
    text = full_text(path)
    marks = list(_MARK_RE.finditer(text))
    for i, m in enumerate(marks):
        if m.group(1) == session_id:
            stop = marks[i + 1].start() if i + 1 < len(marks) else len(text)
            return text[m.start() : stop]
    return None


def session_ids(path: Path) -> list[str]:
    """Session ids marked in a transcript, oldest first."""
    return [m.group(1) for m in _MARK_RE.finditer(full_text(path))]


def mark(path: Path, session_id: str) -> None:
    """Append a session marker line (for runtimes that do not print one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n" + SESSION_MARK.format(id=session_id) + "\n")


def writer_command(path: Path, *, max_bytes: int = MAX_BYTES, keep: int = KEEP) -> str:
    """The shell command tmux ``pipe-pane`` runs to feed ``path``."""
    import shlex
    import sys

    script = Path(__file__).with_name("_transcript_writer.py")
    return "exec " + shlex.join(
        [sys.executable, "-I", str(script), str(Path(path).resolve()), str(max_bytes), str(keep)]
    )

