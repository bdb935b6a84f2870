"""The reliable nudge: type a line into an agent's pane, and know it arrived.

What the original got wrong, and what this module guarantees instead:

* **Serialized.**  Every nudge to a session takes an exclusive ``fcntl`` lock
  (``<state_dir>/nudge/<session>.lock``) for the whole typing + submit
  sequence, so two nudges never interleave.  Each gets a ``seq`` (a per-session
  counter bumped under the lock): deliveries reach the pane in ``seq`` order.
* **Polite.**  It types only when every (writable) client attached to the
  session has been idle for ``idle_s`` (tmux ``client_activity``; no attached
  client = idle) and the pane is not in copy mode.  tmux reports activity in
  whole seconds, so an activity stamp ``t`` is taken as ``t + 1`` (we may wait
  up to a second longer than needed, never shorter).  When the runtime says
  what its empty input line looks like (``empty_input``, a regex; preset
  field of the same name), a cursor line that does not match it means a
  human left half-typed text there: the nudge waits/queues rather than
  splice into it.  The check is repeated right before each line is typed
  (older queued ones first, then the new one), not only once.
* **Never cancels.**  Text goes with ``send-keys -l`` (literal, no key names),
  then a separate ``Enter``.  Control characters in the message are turned
  into spaces or dropped, so no Escape, C-c or newline is ever sent.  The only
  other key ever sent is BSpace, to take back our own unsubmitted text.
* **Confirmed.**  "Submitted" is defined on the pane's screen:
  1. *echo*: after typing, the tail of the message (its last
     :data:`TAIL_CHARS` ASCII letters/digits, whitespace and punctuation ignored, so
     TUI box borders and wrapping do not matter) appears in the rows at the
     cursor more often than before typing (a message with no letters or
     digits is compared on its non-space characters); no echo within
     ``echo_s`` -> ``failed``, the keys are taken back with BSpace and
     nothing is retyped (typing again could duplicate them);
  2. *submit*: after ``Enter``, the cursor's row has changed from what it was after typing and holds fewer copies
     of the tail: the text left the input line (a line-mode program moved to a
     new line; a TUI cleared its input box).  One more case: when output the
     agent printed meanwhile had already pushed our text off the cursor row
     (the cursor sat on an empty row after typing), the cursor advancing to
     another row counts as submitted.  Not within ``confirm_s``: press
     Enter again, at most ``retries`` more times; then ``failed``, and our text
     is erased with BSpace so the next nudge is not glued onto it.
* **Never dropped.**  If clients stay busy past ``timeout_s`` (or the lock is
  held that long), the nudge is appended to ``<state_dir>/nudge/<session>.queue.jsonl``
  and the result is ``queued``.  Queued nudges go out, oldest first and before
  any newer one, on the next nudge to that session or on :func:`flush_queue`
  (the daemon heartbeat calls it).
* **Honest.**  Every outcome is a :class:`NudgeResult`; each is appended to
  ``<state_dir>/nudge.log`` (JSON lines); :func:`last_failures` reads the
  failed ones back for ``gt status``.  Delivery problems never raise; only bad
  input (empty message) and an unknown session do.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from ..beads import clock
from ..errors import GastownError, InvalidInput, NotFound
from .tmux import TownTmux

TAIL_CHARS = 12
MAX_MESSAGE = 16 * 1024
LOG_FILE = "nudge.log"
LOG_MAX_BYTES = 1024 * 1024
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BREAK_RE = re.compile(r"\r\n|[\r\n\t]")
_NON_WORD_RE = re.compile(r"[\W_]+")
_NON_ASCII_WORD_RE = re.compile(r"[^A-Za-z0-9]+")
_SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9_.-]")


class NudgeResult(msgspec.Struct, omit_defaults=True):
    status: str  # "delivered" | "queued" | "failed"
    session: str
    message: str
    id: str
    #: Delivery order within the session (0 for a nudge that was only queued).
    seq: int = 0
    attempts: int = 0
    reason: str = ""
    elapsed_ms: float = 0.0
    at: str = ""
    sender: str = ""


class QueuedNudge(msgspec.Struct, omit_defaults=True):
    id: str
    session: str
    message: str
    queued_at: str
    sender: str = ""
    #: The runtime's empty-input-line pattern, kept for the later flush.
    empty_input: str = ""
    #: The runtime's busy-screen pattern (a row while it generates), kept for the later flush.
    busy: str = ""


_result_decoder = msgspec.json.Decoder(NudgeResult)
_queued_decoder = msgspec.json.Decoder(QueuedNudge)
_encoder = msgspec.json.Encoder()


def clean_message(message: str) -> str:
    """One line of printable text: line breaks/tabs -> spaces, other controls dropped."""
    text = _CONTROL_RE.sub("", _BREAK_RE.sub(" ", message or "")).strip()
    if not text:
        raise InvalidInput("nudge message is empty")
    if len(text) > MAX_MESSAGE:
        raise InvalidInput(f"nudge message is too long ({len(text)} > {MAX_MESSAGE} characters)")
    return text


def _norm(text: str) -> str:
    return _NON_WORD_RE.sub("", text)


def _squash(text: str) -> str:
    return "".join(text.split())


def _ascii_norm(text: str) -> str:
    return _NON_ASCII_WORD_RE.sub("", text)


def _matcher(text: str):
    """(normalizer, tail) used to find the message on screen.

    ASCII letters/digits when the message has some (every terminal renders
    them the same), else any letters/digits, else all non-space characters.
    """
    for normalizer in (_ascii_norm, _norm, _squash):
        norm = normalizer(text)
        if norm:
            return normalizer, norm[-TAIL_CHARS:]
    return _squash, text[-TAIL_CHARS:]


# -- files -------------------------------------------------------------------


def _dir(state_dir: Path) -> Path:
    d = Path(state_dir) / "nudge"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _safe(session: str) -> str:
    return _SAFE_NAME_RE.sub("_", session)


@contextmanager
def _flock(path: Path, *, deadline: float | None, abort: threading.Event | None = None) -> Iterator[bool]:
    """Exclusive lock on ``path``; yields False if not acquired by ``deadline`` (None: wait forever)
    or once ``abort`` is set."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        got = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if deadline is None else fcntl.LOCK_NB))
                got = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline or (abort is not None and abort.is_set()):  # type: ignore[operator]
                    break
                time.sleep(0.005)
        yield got
    finally:
        os.close(fd)  # closing releases the lock


def _next_seq(d: Path, session: str) -> int:
    path = d / f"{_safe(session)}.seq"
    try:
        n = int(path.read_text() or 0) + 1
    except (FileNotFoundError, ValueError):
        n = 1
    tmp = path.with_suffix(".seq.tmp")
    tmp.write_text(str(n))
    os.replace(tmp, path)
    return n


def _queue_path(d: Path, session: str) -> Path:
    return d / f"{_safe(session)}.queue.jsonl"


def _read_queue(path: Path) -> list[QueuedNudge]:
    out = []
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        if line.strip():
            try:
                out.append(_queued_decoder.decode(line))
            except msgspec.DecodeError:
                continue  # a torn line from a crash: skip it, keep the rest
    return out


def _write_queue(path: Path, items: list[QueuedNudge]) -> None:
    if not items:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(b"".join(_encoder.encode(i) + b"\n" for i in items))
    os.replace(tmp, path)


def _enqueue(d: Path, item: QueuedNudge) -> bool:
    """Append ``item``; False (nothing written) when the same text already waits for that session."""
    with _flock(d / f"{_safe(item.session)}.queue.lock", deadline=None):
        path = _queue_path(d, item.session)
        # A patrol re-nudging a busy agent every beat must not pile up copies.
        if any(q.message == item.message for q in _read_queue(path)):
            return False
        with open(path, "ab") as fh:
            fh.write(_encoder.encode(item) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
    return True


def _pop_queue(d: Path, session: str, item_id: str) -> None:
    with _flock(d / f"{_safe(session)}.queue.lock", deadline=None):
        path = _queue_path(d, session)
        _write_queue(path, [i for i in _read_queue(path) if i.id != item_id])


def _log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _log(state_dir: Path, result: NudgeResult) -> None:
    path = Path(state_dir) / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if _log_size(path) > LOG_MAX_BYTES:
        # Two writers seeing the full log at once would both rotate, the
        # second moving the fresh, nearly empty log over the rotated one.
        with _flock(path.with_name(LOG_FILE + ".lock"), deadline=None):
            if _log_size(path) > LOG_MAX_BYTES:
                os.replace(path, path.with_name(LOG_FILE + ".1"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, _encoder.encode(result) + b"\n")
    finally:
        os.close(fd)


# -- public reads --------------------------------------------------------------


def enqueue(state_dir: Path, session: str, message: str, *, sender: str = "") -> NudgeResult:
    """Queue ``message`` for ``session`` without trying to type it (for a sender with no tmux:
    a sandboxed Refinery); it goes out like any queued nudge, on the daemon's next beat once
    the session is idle, or before the next nudge to that session."""
    text = clean_message(message)
    item = QueuedNudge(id=uuid.uuid4().hex[:12], session=session, message=text, queued_at=clock.now(), sender=sender)
    fresh = _enqueue(_dir(state_dir), item)
    result = NudgeResult(status="queued", session=session, message=text, id=item.id, at=item.queued_at, sender=sender,
                         reason="queued by a sender without tmux" if fresh else "the same text was already queued (kept once)")  # fmt: skip
    _log(state_dir, result)
    return result


def sent_since(state_dir: Path, session: str, message: str, since: str) -> str:
    """'queued' when the same text waits in ``session``'s queue, 'delivered' when it reached the
    session at or after ``since`` (an ISO time, as ``clock.now()``), else ''."""
    text = clean_message(message)
    if any(q.message == text for q in pending_nudges(state_dir, session)):
        return "queued"
    floor = clock.parse(since)
    for r in read_log(state_dir):
        if r.session == session and r.message == text and r.status == "delivered" and r.at and clock.parse(r.at) >= floor:
            return "delivered"
    return ""


def drop_queued(state_dir: Path, session: str, message: str) -> int:
    """Take the queued copies of ``message`` for ``session`` out of its queue; how many."""
    d = _dir(state_dir)
    text = clean_message(message)
    with _flock(d / f"{_safe(session)}.queue.lock", deadline=None):
        path = _queue_path(d, session)
        items = _read_queue(path)
        keep = [i for i in items if i.message != text]
        if len(keep) != len(items):
            _write_queue(path, keep)
    return len(items) - len(keep)


def pending_nudges(state_dir: Path, session: str | None = None) -> list[QueuedNudge]:
    """Queued (not yet delivered) nudges, oldest first per session."""
    d = Path(state_dir) / "nudge"
    if not d.is_dir():
        return []
    if session is not None:
        return _read_queue(_queue_path(d, session))
    out: list[QueuedNudge] = []
    for path in sorted(d.glob("*.queue.jsonl")):
        out.extend(_read_queue(path))
    return out


def pending_summary(state_dir: Path) -> dict[str, tuple[int, str]]:
    """Per session: (number of queued nudges, ``queued_at`` of the oldest), for ``gt status``."""
    out: dict[str, tuple[int, str]] = {}
    for item in pending_nudges(state_dir):
        count, oldest = out.get(item.session, (0, item.queued_at))
        out[item.session] = (count + 1, min(oldest, item.queued_at))
    return out


def purge_queue(state_dir: Path, session: str) -> list[QueuedNudge]:
    """Drop ``session``'s queued nudges (its agent is gone for good); returns them.

    A recycled name (a polecat's) must not receive its predecessor's nudges.
    """
    d = Path(state_dir) / "nudge"
    if not d.is_dir():
        return []
    with _flock(d / f"{_safe(session)}.queue.lock", deadline=None):
        path = _queue_path(d, session)
        dropped = _read_queue(path)
        path.unlink(missing_ok=True)
    return dropped


def read_log(state_dir: Path) -> list[NudgeResult]:
    out = []
    for path in (Path(state_dir) / (LOG_FILE + ".1"), Path(state_dir) / LOG_FILE):
        try:
            lines = path.read_bytes().splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            try:
                out.append(_result_decoder.decode(line))
            except msgspec.DecodeError:
                continue
    return out


def last_failures(state_dir: Path, limit: int = 10, session: str | None = None) -> list[NudgeResult]:
    """The most recent failed nudges (oldest first), for ``gt status``."""
    failed = [r for r in read_log(state_dir) if r.status == "failed" and (session is None or r.session == session)]
    return failed[-limit:] if limit else failed


# -- idle and delivery ---------------------------------------------------------


def _busy_reason(tmux: TownTmux, session: str, pane: str, idle_s: float, empty_input: str = "", busy: str = "") -> str:
    """Why typing now would be rude ('' = go ahead)."""
    clients = [c for c in tmux.clients(session) if not c.readonly]
    now = time.time()
    for c in clients:
        # client_activity has 1 s resolution: assume the latest instant of that second.
        if now - (c.activity + 1) < idle_s:
            return f"client {c.name} active"
    got = tmux.screen(pane)
    if got is None:
        return ""  # the pane is gone: delivery will say so
    state, rows = got
    if state.in_mode:
        if clients:
            return "pane is in copy mode"
        tmux.cancel_mode(pane)  # nobody is looking at the scrollback
        got = tmux.screen(pane)
        if got is None:
            return ""
        state, rows = got
    if busy:
        hit = next((r for r in rows if re.search(busy, r)), None)
        if hit is not None:
            return f"agent is generating: {hit.strip()[-40:]!r}"
    if empty_input:
        line = rows[min(state.cursor_y, len(rows) - 1)]
        if not re.search(empty_input, line):
            return f"input line holds text someone left: {line.strip()[-40:]!r}"
    return ""


def _wait_idle(
    tmux: TownTmux, session: str, pane: str, idle_s: float, deadline: float, empty_input: str = "",
    abort: threading.Event | None = None, busy: str = "",
) -> bool:
    step = max(0.02, min(0.1, idle_s / 4))
    while True:
        if not _busy_reason(tmux, session, pane, idle_s, empty_input, busy):
            return True
        if time.monotonic() >= deadline or (abort is not None and abort.is_set()):
            return False
        time.sleep(step)


def _rows_up_to_cursor(state, rows: list[str], above: int) -> str:
    cy = min(state.cursor_y, len(rows) - 1)
    return "\n".join(rows[max(0, cy - above) : cy + 1])


def _region(tmux: TownTmux, pane: str, above: int) -> tuple[str, str, tuple[int, int]] | None:
    """(the ``above`` rows before the cursor and its row, the cursor's row,
    the cursor's absolute position), in one tmux call."""
    got = tmux.screen(pane)
    if got is None or got[0].dead:
        return None
    state, rows = got
    where = (state.history_size + state.cursor_y, state.cursor_x)
    return _rows_up_to_cursor(state, rows, above), rows[min(state.cursor_y, len(rows) - 1)], where


def _poll(fn, timeout_s: float, step: float = 0.01):
    deadline = time.monotonic() + timeout_s
    while True:
        value = fn()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)
        step = min(step * 1.5, 0.05)


def _deliver(tmux: TownTmux, pane: str, text: str, **opts) -> tuple[str, int, str]:
    """Type ``text`` and submit it: ``(status, enter_presses, reason)``; never raises for tmux trouble."""
    try:
        return _type_and_submit(tmux, pane, text, **opts)
    except GastownError as exc:  # the server or pane vanished mid-way
        return "failed", 0, f"tmux failed during delivery: {exc.message}"


def _type_and_submit(
    tmux: TownTmux, pane: str, text: str, *, echo_s: float, confirm_s: float, retries: int
) -> tuple[str, int, str]:
    norm, tail = _matcher(text)
    got = tmux.screen(pane)
    if got is None or got[0].dead:
        return "failed", 0, "agent pane is gone"
    # Rows the typed text may cover (wrapping; a TUI box is a bit narrower
    # than the pane), plus the row it starts on.
    rows = 2 + len(text) // max(1, got[0].width - 4)
    before_count = norm(_rows_up_to_cursor(*got, rows)).count(tail)
    tmux.send_literal(pane, text)

    typed: list = []

    def echoed() -> bool:
        now = _region(tmux, pane, rows)
        if now is not None and norm(now[0]).count(tail) > before_count:
            typed[:] = [now[1], now[2]]
            return True
        return False

    if not _poll(echoed, echo_s):
        # The keys went to the pane but never showed: take them back so they
        # cannot be glued onto the next line typed there.
        tmux.send_backspaces(pane, len(text))
        return "failed", 0, "typed text never showed on the pane's input line (agent not reading input?); erased it"
    typed_line, typed_at = typed
    typed_count = norm(typed_line).count(tail)

    def submitted() -> bool:
        now = _region(tmux, pane, 0)
        if now is None:
            return True  # the pane closed on Enter: it consumed the line
        line = now[1]
        if norm(line) != norm(typed_line) and norm(line).count(tail) < max(1, typed_count):
            return True
        # A line-mode agent printing (say, its answer to the previous nudge)
        # while our text was echoed pushes that text up, leaving the cursor
        # on an empty row: then only the cursor advancing shows the Enter.
        return typed_count == 0 and not norm(typed_line) and not norm(line) and now[2] != typed_at

    presses = 0
    for _ in range(retries + 1):
        tmux.send_enter(pane)
        presses += 1
        if _poll(submitted, confirm_s):
            return "delivered", presses, ""
    # Take our text back so the next nudge (or the human) starts on a clean line.
    tmux.send_backspaces(pane, len(text))
    return "failed", presses, f"text stayed on the input line after {presses} Enter presses; erased it"


def nudge(
    tmux: TownTmux,
    session: str,
    message: str,
    *,
    idle_s: float = 1.0,
    timeout_s: float = 30.0,
    state_dir: Path,
    echo_s: float = 3.0,
    confirm_s: float = 1.5,
    retries: int = 2,
    sender: str = "",
    queue_if_missing: bool = False,
    empty_input: str | None = None,
    abort: threading.Event | None = None,
) -> NudgeResult:
    """Deliver ``message`` to ``session``'s agent pane; see the module docstring.

    ``empty_input`` None: use the pattern recorded on the session at start
    (``TownTmux.start(empty_input=preset.empty_input)``); "" disables the check.
    ``abort``: set by another thread (the caller went away) to stop waiting
    for the lock or for idle clients; the nudge is then queued (reason "aborted").
    """
    text = clean_message(message)
    started = time.monotonic()
    d = _dir(state_dir)
    nudge_id = uuid.uuid4().hex[:12]
    busy = ""  # the busy-screen pattern recorded on the session (read under the lock)

    def finish(status: str, *, seq: int = 0, attempts: int = 0, reason: str = "") -> NudgeResult:
        result = NudgeResult(
            status=status, session=session, message=text, id=nudge_id, seq=seq, attempts=attempts,
            reason=reason, elapsed_ms=round((time.monotonic() - started) * 1000, 1), at=clock.now(),
            sender=sender,
        )  # fmt: skip
        _log(state_dir, result)
        return result

    def queue(reason: str) -> NudgeResult:
        fresh = _enqueue(d, QueuedNudge(
            id=nudge_id, session=session, message=text, queued_at=clock.now(), sender=sender,
            empty_input=empty_input or "", busy=busy,
        ))  # fmt: skip
        return finish("queued", reason=reason if fresh else f"{reason}; the same text was already queued (kept once)")

    if not tmux.has(session):
        if queue_if_missing:
            return queue("session not running; queued until it is")
        raise NotFound(f"no agent session {session!r} (is it running? see gt status)")
    deadline = started + timeout_s
    with _flock(d / f"{_safe(session)}.lock", deadline=deadline, abort=abort) as got:
        if abort is not None and abort.is_set():
            return queue("aborted")
        if not got:
            return queue(f"another nudge held {session} for {timeout_s:g}s")
        pane, recorded, busy = tmux.input_patterns(session)
        if empty_input is None:
            empty_input = recorded
        elif empty_input == "":
            busy = ""  # the caller turned the input checks off
        if pane is None:
            return queue("agent pane not running; queued until it is respawned")
        opts = dict(echo_s=echo_s, confirm_s=confirm_s, retries=retries)
        # Delivering older queued nudges takes seconds, in which a human may
        # start a line: idleness is checked again right before every typing,
        # ours included, and we wait again (within the same deadline) if needed.
        while True:
            if not _wait_idle(tmux, session, pane, idle_s, deadline, empty_input, abort, busy):
                if abort is not None and abort.is_set():
                    return queue("aborted")
                reason = _busy_reason(tmux, session, pane, idle_s, empty_input, busy) or "attached clients busy"
                return queue(f"{reason} (waited {timeout_s:g}s)")
            if _drain(tmux, state_dir, d, session, pane, idle_s, opts, empty_input, busy) and not _busy_reason(
                tmux, session, pane, idle_s, empty_input, busy
            ):
                break
        seq = _next_seq(d, session)
        status, presses, reason = _deliver(tmux, pane, text, **opts)
        return finish(status, seq=seq, attempts=presses, reason=reason)


def _drain(
    tmux: TownTmux, state_dir: Path, d: Path, session: str, pane: str, idle_s: float, opts: dict, empty_input: str = "",
    busy: str = "",
) -> bool:
    """Deliver this session's queue, oldest first (caller holds the session lock).

    True when the queue is empty afterwards.  Stops early (False) when a client
    becomes busy; idleness is re-checked before each item.  Nudges queued while
    it runs (another sender that gave up on the lock) are delivered too: the
    queue is re-read until empty.  A queued nudge that fails is logged as
    failed and leaves the queue (it was typed and erased; retrying it blindly
    could duplicate it).
    """
    path = _queue_path(d, session)
    attempted: set[str] = set()
    while True:
        item = next((i for i in _read_queue(path) if i.id not in attempted), None)
        if item is None:
            break
        if _busy_reason(tmux, session, pane, idle_s, empty_input or item.empty_input, busy or item.busy):
            return False
        attempted.add(item.id)
        started = time.monotonic()
        seq = _next_seq(d, session)
        status, presses, reason = _deliver(tmux, pane, item.message, **opts)
        _pop_queue(d, session, item.id)
        _log(
            state_dir,
            NudgeResult(
                status=status, session=session, message=item.message, id=item.id, seq=seq,
                attempts=presses, reason=reason or "delivered from queue",
                elapsed_ms=round((time.monotonic() - started) * 1000, 1), at=clock.now(), sender=item.sender,
            ),
        )  # fmt: skip
    return not _read_queue(path)


def flush_queue(
    tmux: TownTmux,
    state_dir: Path,
    session: str | None = None,
    *,
    idle_s: float = 1.0,
    echo_s: float = 3.0,
    confirm_s: float = 1.5,
    retries: int = 2,
    empty_input: str | None = None,
    exclude: frozenset[str] = frozenset(),
) -> list[NudgeResult]:
    """Deliver queued nudges whose sessions are running and idle now; never waits.

    Returns the outcomes of the queued nudges it attempted (also logged).
    Sessions whose lock is held (a nudge is in progress; it drains the queue
    itself) or whose clients are busy are skipped until the next call, and so
    are the ``exclude``d ones (the daemon passes sessions it has just started:
    their agent is not reading input yet, and a nudge typed then would fail).
    """
    d = Path(state_dir) / "nudge"
    if not d.is_dir():
        return []
    sessions = [session] if session else sorted({i.session for i in pending_nudges(state_dir)} - exclude)
    opts = dict(echo_s=echo_s, confirm_s=confirm_s, retries=retries)
    attempted: list[NudgeResult] = []
    for name in sessions:
        items = pending_nudges(state_dir, name)
        if not items or not tmux.has(name):
            continue
        with _flock(d / f"{_safe(name)}.lock", deadline=time.monotonic()) as got:
            if not got:
                continue
            pane, recorded, busy = tmux.input_patterns(name)
            empty = (items[0].empty_input or recorded) if empty_input is None else empty_input
            busy = (items[0].busy or busy) if empty_input is None else ""
            if pane is None or _busy_reason(tmux, name, pane, idle_s, empty, busy):
                continue
            _drain(tmux, state_dir, d, name, pane, idle_s, opts, empty, busy)
        ids = {i.id for i in items}
        attempted.extend(r for r in read_log(state_dir) if r.id in ids and r.status != "queued")
    return attempted
