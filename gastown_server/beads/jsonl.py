"""Beads JSONL interchange: import (both shapes, auto-detected) and export.

Two shapes exist in real repositories (SPEC.md, "JSONL interchange"):

1. classic ``.beads/issues.jsonl``: one bead per line with its labels,
   dependencies and comments embedded (newer Beads put ``"_type":"issue"``
   first and add keys we do not know: both are ignored);
2. the table-per-file backup directory (``.beads/backup/``): ``issues.jsonl``
   with every column, plus ``dependencies.jsonl``, ``labels.jsonl``,
   ``comments.jsonl``, ``events.jsonl`` and ``config.jsonl``.

Import parses and validates *everything* first, so a bad line anywhere
imports nothing, then applies the batch in one ledger transaction with one
``imported`` event (none at all when nothing changed, so re-importing the
same file is a true no-op).  A bead already present is replaced only when
the incoming ``updated_at`` is newer; its labels, dependencies and comments
are replaced with it.

Export writes shape 1: sorted by id, keys in the ``Bead`` Struct's order,
empty values omitted, ``\\n`` line ends; byte-identical for an unchanged
ledger so that git diffs stay minimal.  It reads inside one snapshot, so
writers keep running while it works.
"""

from __future__ import annotations

import gc
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timezone
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from ..errors import InvalidInput
from . import beside, clock, extras, goshape, ids, readiness
from .models import (
    BEAD_COLUMNS,
    BEAD_SELECT,
    DEP_TYPES,
    GO_ZERO_TIME,
    PRIORITY_DEFAULT,
    PRIORITY_MAX,
    PRIORITY_MIN,
    Bead,
    Comment,
    Dependency,
    vocabulary,
)

#: Files of the table-per-file backup shape.
BACKUP_TABLES = ("issues.jsonl", "dependencies.jsonl", "labels.jsonl", "comments.jsonl", "events.jsonl", "config.jsonl")

#: Bead columns holding RFC 3339 timestamps (normalised to UTC on import).
TIMESTAMP_COLUMNS = ("created_at", "updated_at", "closed_at", "last_activity", "defer_until", "due_at", "deleted_at")

#: Config keys that describe this ledger itself and never come from a file.
_LOCAL_CONFIG = frozenset({"schema_version"})

_CANONICAL_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z\Z")
_ID_BODY = r"[A-Za-z0-9][A-Za-z0-9._]*-[A-Za-z0-9._-]+"
_ID_SHAPE = re.compile(_ID_BODY + r"\Z")
_BOOL_COLUMNS = ("ephemeral", "pinned")
_CHUNK = 500


# -- input types -------------------------------------------------------------
#
# Files written by other tools use null for empty values (the backup shape
# does), may carry metadata as a JSON object rather than a string, give a
# Go time.Duration as integer nanoseconds, and add keys we do not model.
# A line is first decoded strictly (every key known: the fast path); a line
# with other keys is decoded again as ``{key: raw value}`` so those keys are
# kept verbatim, in place (see extras.py).  Validation of values happens
# afterwards, so that the error can name the field in words.


class _InDep(msgspec.Struct):
    depends_on_id: str
    issue_id: str | None = None
    type: str | None = None
    created_at: str | None = None
    created_by: str | None = None
    metadata: Any = None


class _InComment(msgspec.Struct):
    id: int | str | None = None
    issue_id: str | None = None
    author: str | None = None
    text: str | None = None
    created_at: str | None = None


# The same, refusing keys they do not know: a line passes the strict decode
# only when no nested object carries a key that would be lost.
_InDepStrict = msgspec.defstruct(
    "_InDepStrict", [(f, t, d) for f, t, d in zip(_InDep.__struct_fields__, _InDep.__annotations__.values(), (msgspec.NODEFAULT, *_InDep.__struct_defaults__))],
    forbid_unknown_fields=True,
)
_InCommentStrict = msgspec.defstruct(
    "_InCommentStrict",
    [(f, t, d) for f, t, d in zip(_InComment.__struct_fields__, _InComment.__annotations__.values(), _InComment.__struct_defaults__)],
    forbid_unknown_fields=True,
)
#: Keys of a nested dependency / comment object that our rows hold.
_DEP_KEYS = frozenset(_InDep.__struct_fields__)
_COMMENT_KEYS = frozenset(_InComment.__struct_fields__)


class _InLabel(msgspec.Struct):
    issue_id: str
    label: str


class _InConfig(msgspec.Struct):
    key: str
    value: Any = None


class _RecordType(msgspec.Struct):
    record_type: str | None = msgspec.field(default=None, name="_type")


def _bead_field(name: str) -> tuple:
    # Absent keys decode to the column's empty value, so that a line without
    # nulls (any classic line) needs no per-field fix-up; null stays None.
    if name == "id":
        return (name, str)
    if name == "priority":
        return (name, int | None, PRIORITY_DEFAULT)
    if name in _BOOL_COLUMNS:
        return (name, bool | int | None, False)
    if name == "metadata":
        return (name, msgspec.Raw, msgspec.Raw())
    if name == "timeout":
        return (name, int | str | None, 0)
    return (name, str | None, "")


def _in_fields(dep: type, comment: type) -> list[tuple]:
    return [
        *(_bead_field(n) for n in BEAD_COLUMNS),
        ("labels", list[str] | None, None),
        ("dependencies", list[dep] | None, None),
        ("comments", list[comment] | None, None),
        ("dependency_count", int | None, None),
        ("dependent_count", int | None, None),
        ("comment_count", int | None, None),
        # The backup shape's name for timeout (Beads' issues table column).
        ("timeout_ns", int | str | None, None),
        ("record_type", str | None, msgspec.field(default=None, name="_type")),
    ]


_IN_FIELDS = _in_fields(_InDep, _InComment)
#: Keys a line may have without leaving the fast path.
_KNOWN_KEYS = frozenset([*(f[0] for f in _IN_FIELDS[:-1]), "_type"])
_InBead = msgspec.defstruct("_InBead", _IN_FIELDS)
_InBeadStrict = msgspec.defstruct("_InBeadStrict", _in_fields(_InDepStrict, _InCommentStrict), forbid_unknown_fields=True)


# -- the fast path -------------------------------------------------------------
#
# Almost every line of a real file (any line gastown or Beads wrote) is
# already valid and canonical: UTC timestamps, well-formed ids, no nulls,
# no keys we do not know.  Such a line is decoded by a Struct whose types
# say so (no None, no raw values, closed vocabularies as Literals, checked
# in C), leaving only the id and timestamp shapes to check in Python.  A
# line that fails any of it is parsed again by the general path above,
# which accepts it or names the problem as before: the fast path accepts a
# subset of what the general path accepts and builds the same Bead.
# (msgspec's ``Meta(pattern=...)`` would check the shapes too, but calls
# back into Python's re for each value: 4x slower than the whole decode.)


class _FastDep(msgspec.Struct, forbid_unknown_fields=True):
    depends_on_id: str
    issue_id: str = ""
    type: Literal[DEP_TYPES] = "blocks"  # type: ignore[valid-type]
    created_at: str = ""
    created_by: str = ""
    metadata: str = ""


class _FastComment(msgspec.Struct, forbid_unknown_fields=True):
    id: int = 0
    issue_id: str = ""
    author: str = ""
    text: str = ""
    created_at: str = ""


def _fast_field(name: str) -> tuple:
    if name == "id":
        return (name, Annotated[str, msgspec.Meta(max_length=200)])
    if name == "title":
        return (name, Annotated[str, msgspec.Meta(min_length=1)])
    if name in ("status", "issue_type"):  # "" means the default: general path
        return (name, Annotated[str, msgspec.Meta(min_length=1)], "open" if name == "status" else "task")
    if name == "priority":
        return (name, Annotated[int, msgspec.Meta(ge=PRIORITY_MIN, le=PRIORITY_MAX)], PRIORITY_DEFAULT)
    if name in _BOOL_COLUMNS:
        return (name, bool, False)
    if name == "timeout":  # a duration: general path
        return (name, Literal[0], 0)
    return (name, str, "")


_FastBead = msgspec.defstruct(
    "_FastBead",
    [
        *(_fast_field(n) for n in BEAD_COLUMNS),
        ("labels", list[str], []),
        ("dependencies", list[_FastDep], []),
        ("comments", list[_FastComment], []),
        ("dependency_count", int | None, None),
        ("dependent_count", int | None, None),
        ("comment_count", int | None, None),
        ("record_type", Literal["issue"] | None, msgspec.field(default=None, name="_type")),
    ],
    forbid_unknown_fields=True,
)
_FAST_DECODER = msgspec.json.Decoder(_FastBead)

_BEAD_DECODER = msgspec.json.Decoder(_InBead)
_STRICT_DECODER = msgspec.json.Decoder(_InBeadStrict)
_KEYS_DECODER = msgspec.json.Decoder(dict[str, msgspec.Raw])
_DEP_DECODER = msgspec.json.Decoder(_InDep)
_COMMENT_DECODER = msgspec.json.Decoder(_InComment)
_LABEL_DECODER = msgspec.json.Decoder(_InLabel)
_CONFIG_DECODER = msgspec.json.Decoder(_InConfig)
_TYPE_DECODER = msgspec.json.Decoder(_RecordType)
_ANY_DECODER = msgspec.json.Decoder()
_STR_DECODER = msgspec.json.Decoder(str)


# -- results -----------------------------------------------------------------


class ImportResult(msgspec.Struct):
    """What an import did (or, with ``dry_run``, would do)."""

    source: str
    shape: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_older: int = 0
    #: Records that are not beads (``_type`` other than ``issue``; backup events).
    ignored: int = 0
    config_set: int = 0
    #: Dependencies (and parents) naming a bead neither in the input nor in
    #: the ledger: imported as they are, like Beads does; they block nothing.
    orphans: list[str] = msgspec.field(default_factory=list)
    #: Dependency rows that could not be used, each ``file:line: why``.
    skipped_dependencies: list[str] = msgspec.field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.config_set)


class Batch(msgspec.Struct):
    """A parsed import: beads by id with their collections embedded."""

    source: str
    shape: str
    beads: dict[str, Bead]
    #: Where each bead came from (``file:line``), for errors found later.
    origin: dict[str, str]
    config: dict[str, str] = msgspec.field(default_factory=dict)
    ignored: int = 0
    #: What each bead carries that no column holds (extras.py).
    kept: dict[str, Any] = msgspec.field(default_factory=dict)
    #: Bad dependency rows, skipped: ``file:line: why``.
    skipped: list[str] = msgspec.field(default_factory=list)


# -- timestamps ----------------------------------------------------------------


def normalize_timestamp(value: str, where: str, field: str) -> str:
    """Canonical UTC values pass verbatim (nanoseconds kept); others become UTC ``Z``.

    The column holds this form (queries compare it as text); the original
    spelling, when it differs, is kept in ``issues.extra`` for the export.
    """
    if not value or _CANONICAL_TS.match(value):
        return value
    try:
        dt = clock.parse(value)
    except ValueError:
        raise InvalidInput(f"{where}: {field}: not an RFC 3339 timestamp: {value!r}") from None
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_timestamp(value: str, where: str, field: str) -> str:
    """Validate and keep verbatim (dependency and comment times are never queried)."""
    if value and not _CANONICAL_TS.match(value):
        try:
            clock.parse(value)
        except ValueError:
            raise InvalidInput(f"{where}: {field}: not an RFC 3339 timestamp: {value!r}") from None
    return value


def timestamp_key(value: str | None) -> int:
    """Nanoseconds since the epoch, for ordering timestamps of any precision.

    Strings do not compare correctly across precisions (``...:05Z`` sorts
    after ``...:05.1Z``); unparseable or empty values sort first.
    """
    if not value:
        return -1
    try:
        dt = clock.parse(value)
    except (ValueError, TypeError):
        return -1
    seconds = int(dt.replace(microsecond=0).timestamp())
    _, dot, rest = value.partition(".")
    digits = ""
    if dot:
        for ch in rest:
            if not ch.isdigit():
                break
            digits += ch
    return seconds * 1_000_000_000 + int((digits + "000000000")[:9])


# -- parsing -------------------------------------------------------------------


@contextmanager
def _no_gc() -> Iterator[None]:
    """Parsing and loading make ~10 objects per bead and free none of them:
    the cyclic collector would walk the growing heap again and again (half
    the parse time at 100K beads) and find nothing to collect."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _lines(data: bytes, first: int = 1) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(data.split(b"\n"), first):
        if line.strip():
            yield number, line


_MSGSPEC_PROBLEM = re.compile(r"(?P<what>.*?) - at `\$(?P<path>[^`]*)`\Z")


def _problem(exc: Exception) -> str:
    """msgspec's message as ``field: problem`` (``dependencies[0].type: Expected `str`...``)."""
    text = str(exc)
    if text == "Input data was truncated":
        return "malformed JSON: the line ends in the middle of a value"
    m = _MSGSPEC_PROBLEM.match(text)
    if m:
        path = m["path"].lstrip(".")
        return f"{path or 'line'}: {m['what'][:1].lower()}{m['what'][1:]}"
    return text or type(exc).__name__


def _metadata(value: Any) -> str:
    if value is None or value == {}:
        return ""
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


def _check_id(value: str, where: str, field: str = "id") -> str:
    if not _ID_SHAPE.match(value) or len(value) > 200:
        raise InvalidInput(f"{where}: {field}: malformed bead id {value!r}")
    return value


class _SkipDependency(Exception):
    """A dependency row that is skipped (reported), not a reason to refuse the file."""


def _to_dependency(raw: _InDep, bead_id: str, line: str, index: int | None = None) -> Dependency:
    target, dep_type, created_at = raw.depends_on_id, raw.type or "blocks", raw.created_at or ""
    if (
        raw.issue_id in (None, "", bead_id)
        and dep_type in DEP_TYPES
        and target != bead_id
        and _ID_SHAPE.match(target)
        and len(target) <= 200
        and (not created_at or _CANONICAL_TS.match(created_at))
    ):  # the common case, checked without building the location text
        return Dependency(bead_id, target, dep_type, created_at, raw.created_by or "", _metadata(raw.metadata))
    where = line if index is None else f"{line}: dependencies[{index}]"
    if raw.issue_id not in (None, "", bead_id):
        raise _SkipDependency(f"{where}: dependency issue_id {raw.issue_id!r} does not match bead {bead_id!r}")
    if not target.startswith("external:") and (not _ID_SHAPE.match(target) or len(target) > 200):
        # Beads' cross-project refs are external:<project>:<name>.
        raise _SkipDependency(f"{where}: {bead_id} -> {target!r}: malformed depends_on_id")
    if target == bead_id:
        raise _SkipDependency(f"{where}: {bead_id} cannot depend on itself")
    dep_type = raw.type or "blocks"
    if dep_type not in DEP_TYPES:
        raise _SkipDependency(f"{where}: {bead_id} -> {target}: unknown dependency type {dep_type!r}")
    try:
        created_at = check_timestamp(raw.created_at or "", where, "dependency created_at")
    except InvalidInput as exc:
        raise _SkipDependency(str(exc)) from None
    return Dependency(
        issue_id=bead_id,
        depends_on_id=target,
        type=dep_type,
        created_at=created_at,
        created_by=raw.created_by or "",
        metadata=_metadata(raw.metadata),
    )


def _to_comment(raw: _InComment, bead_id: str, where: str) -> Comment:
    if raw.issue_id not in (None, "", bead_id):
        raise InvalidInput(f"{where}: comment issue_id {raw.issue_id!r} does not match bead {bead_id!r}")
    cid = raw.id
    if isinstance(cid, str):
        cid = int(cid) if cid.isdigit() else 0
    return Comment(
        id=cid or 0,  # 0: "give it a fresh id" on import
        issue_id=bead_id,
        author=raw.author or "",
        text=raw.text or "",
        created_at=check_timestamp(raw.created_at or "", where, "comment created_at"),
    )


_N = len(BEAD_COLUMNS)
_AT = {name: i for i, name in enumerate(BEAD_COLUMNS)}
#: The empty value of each column, for absent (None) input values.
_EMPTY = tuple(
    False if c in _BOOL_COLUMNS else PRIORITY_DEFAULT if c == "priority" else 0 if c == "timeout" else "" for c in BEAD_COLUMNS
)
_I_STATUS, _I_TYPE, _I_PRIORITY, _I_TITLE = _AT["status"], _AT["issue_type"], _AT["priority"], _AT["title"]
_I_META, _I_TIMEOUT, _I_PARENT = _AT["metadata"], _AT["timeout"], _AT["parent"]
_I_BOOLS = tuple(_AT[c] for c in _BOOL_COLUMNS)
_I_TIMES = tuple((_AT[c], c) for c in TIMESTAMP_COLUMNS)
_I_TIME_INDEXES = tuple(i for i, _ in _I_TIMES)
_LABELS_AT = Bead.__struct_fields__.index("labels")
_astuple = msgspec.structs.astuple


def _to_bead(raw: Any, where: str, kept: extras.Kept, skipped: list[str]) -> Bead:
    # Positional, not by name: this runs 100K times on a big import.
    bead_id = _check_id(raw.id, where)
    values = list(_astuple(raw)[:_N])
    if None in values:  # nulls (the backup shape writes them): the empty values
        values = [e if v is None else v for v, e in zip(values, _EMPTY)]
    status = values[_I_STATUS] = values[_I_STATUS] or "open"
    values[_I_TYPE] = values[_I_TYPE] or "task"
    # Beads always writes priority (no omitempty), so only files written by
    # gastown before it did (which left out P2) lack it: absent reads as 2.
    priority = values[_I_PRIORITY]
    if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise InvalidInput(f"{where}: priority: invalid priority {priority} (an integer {PRIORITY_MIN}..{PRIORITY_MAX})")
    if not values[_I_TITLE].strip() and status != "tombstone":
        raise InvalidInput(f"{where}: title: must not be empty")
    for i in _I_BOOLS:
        values[i] = bool(values[i])
    meta = bytes(raw.metadata)
    if not meta or meta == b"null":
        values[_I_META] = ""
    elif meta[:1] == b'"':
        values[_I_META] = _STR_DECODER.decode(meta)
    else:  # a JSON object (Go json.RawMessage): kept as written, and written back so
        values[_I_META] = meta.decode()
        kept.metadata_object = True
    timeout = raw.timeout
    if timeout is not None and timeout != 0:
        field = "timeout"
    else:
        timeout, field = raw.timeout_ns, "timeout_ns"
    if timeout is not None and timeout != 0:
        try:
            values[_I_TIMEOUT] = clock.duration_ns(timeout)
        except ValueError as exc:
            raise InvalidInput(f"{where}: {field}: {exc}") from None
    else:
        values[_I_TIMEOUT] = 0
    for i, name in _I_TIMES:
        original = values[i]
        if original and not _CANONICAL_TS.match(original):
            values[i] = normalize_timestamp(original, where, name)
            kept.times[name] = original
    if values[_I_PARENT]:
        _check_id(values[_I_PARENT], where, "parent")
    bead = Bead(*values[:_LABELS_AT], [], [], [], *values[_LABELS_AT:])
    bead.labels = sorted({label for label in raw.labels or () if label.strip()})
    deps = {}
    for i, d in enumerate(raw.dependencies or ()):
        try:
            dep = _to_dependency(d, bead_id, where, i)
        except _SkipDependency as exc:
            skipped.append(str(exc))
            continue
        deps[dep.depends_on_id] = dep
    bead.dependencies = list(deps.values())
    bead.comments = [_to_comment(c, bead_id, where) for c in raw.comments or ()]
    # Go's omitempty never writes "parent": "", so empty means absent.
    kept.parent_absent = not raw.parent
    return bead


def _fast_bead_line(line: bytes) -> tuple[Bead, extras.Kept] | None:
    """The bead of a line that passes the fast decoder and checks, or None: use the general path."""
    try:
        raw = _FAST_DECODER.decode(line)
    except msgspec.DecodeError:
        return None
    bead_id, parent, canonical, id_shape = raw.id, raw.parent, _CANONICAL_TS.match, _ID_SHAPE.match
    t = _astuple(raw)
    if not (id_shape(bead_id) and t[_I_TITLE].strip() and (not parent or (id_shape(parent) and len(parent) <= 200))):
        return None
    for i in _I_TIME_INDEXES:
        if t[i] and not canonical(t[i]):
            return None
    deps: dict[str, Dependency] = {}
    for d in raw.dependencies:
        target, created_at = d.depends_on_id, d.created_at
        if (
            d.issue_id not in ("", bead_id)
            or target == bead_id
            or not id_shape(target)
            or len(target) > 200
            or (created_at and not canonical(created_at))
        ):
            return None  # reported or refused by the general path
        deps[target] = Dependency(bead_id, target, d.type, created_at, d.created_by, d.metadata)
    comments = []
    for c in raw.comments:
        if c.issue_id not in ("", bead_id) or (c.created_at and not canonical(c.created_at)):
            return None
        comments.append(Comment(c.id, bead_id, c.author, c.text, c.created_at))
    labels = raw.labels
    bead = Bead(
        *t[:_LABELS_AT],
        sorted({label for label in labels if label.strip()}) if labels else [],
        list(deps.values()),
        comments,
        *t[_LABELS_AT:_N],
    )
    kept = extras.Kept()
    kept.typed = raw.record_type == "issue"
    kept.no_counts = raw.dependency_count is None and raw.dependent_count is None and raw.comment_count is None
    kept.parent_absent = not parent
    return bead, kept


def _decode_bead_line(line: bytes, where: str, backup: bool, skipped: list[str]) -> tuple[Bead | None, extras.Kept | None]:
    """A bead and what it keeps beyond columns, or None for a record that is not a bead (``_type`` != issue)."""
    kept = extras.Kept()
    try:
        raw = _BEAD_DECODER.decode(line) if backup else _STRICT_DECODER.decode(line)
        strict = not backup
    except msgspec.DecodeError as exc:
        try:
            raw = _BEAD_DECODER.decode(line)
        except msgspec.DecodeError as exc2:
            try:
                marker = _TYPE_DECODER.decode(line).record_type
            except msgspec.DecodeError:
                marker = None
            if marker not in (None, "issue"):
                return None, None
            raise InvalidInput(f"{where}: {_problem(exc2)}") from None
        if "unknown field" not in str(exc):
            raise InvalidInput(f"{where}: {_problem(exc)}") from None
        strict = False
    if raw.record_type not in (None, "issue"):
        return None, None
    if not strict:  # keys no column holds: keep them verbatim, where they were
        record = _KEYS_DECODER.decode(line)
        kept.collect(record, _KNOWN_KEYS, backup=backup)
        kept.collect_nested(record, _DEP_KEYS, _COMMENT_KEYS, backup=backup)
    if not backup:
        kept.typed = raw.record_type == "issue"
        kept.no_counts = raw.dependency_count is None and raw.dependent_count is None and raw.comment_count is None
    bead = _to_bead(raw, where, kept, skipped)
    return bead, kept


def _keep_newer(batch: Batch, bead: Bead, kept: extras.Kept, where: str) -> None:
    """A file naming a bead twice: the newer ``updated_at`` wins (ties: the later line)."""
    old = batch.beads.get(bead.id)
    if old is None or timestamp_key(bead.updated_at) >= timestamp_key(old.updated_at):
        batch.beads[bead.id] = bead
        batch.origin[bead.id] = where
        batch.kept[bead.id] = kept


#: From this size on (bytes) a file is parsed on two cores (beside.py): the
#: parent takes the first part, a forked child the rest.  The parent's part
#: is the smaller because it also decodes what the child hands back.
SPLIT_PARSE_MIN_BYTES = 4 * 1024 * 1024
_PARENT_SHARE = 0.47


class _Part(msgspec.Struct, array_like=True):
    """What the child parsed, in file order of first appearance, for the parent to merge."""

    beads: list[Bead]
    origin: list[str]
    kept: list[int | bytes]
    ignored: int
    skipped: list[str]
    error: str = ""


_PART_DECODER = msgspec.msgpack.Decoder(_Part)


def parse_classic(data: bytes, source: str, *, shape: str = "classic") -> Batch:
    """Parse shape 1 (one bead per line, collections embedded)."""
    batch = Batch(source=source, shape=shape, beads={}, origin={})
    with _no_gc():
        if len(data) >= SPLIT_PARSE_MIN_BYTES and beside.available():
            _parse_split(batch, data)
        else:
            _parse_lines(batch, data, 1)
    return batch


def _parse_lines(batch: Batch, data: bytes, first_line: int) -> None:
    source, backup = batch.source, batch.shape == "backup"
    beads, origin, kept_by_id = batch.beads, batch.origin, batch.kept
    for number, line in _lines(data, first_line):
        where = f"{source}:{number}"
        fast = None if backup else _fast_bead_line(line)
        bead, kept = fast or _decode_bead_line(line, where, backup, batch.skipped)
        if bead is None:
            batch.ignored += 1
        elif bead.id not in beads:  # the common case, without a call
            beads[bead.id], origin[bead.id], kept_by_id[bead.id] = bead, where, kept
        else:
            _keep_newer(batch, bead, kept, where)


def _parse_split(batch: Batch, data: bytes) -> None:
    """The same result as one pass (same beads, origins, order, first error), on two cores.

    Keeping the newer of two lines for one id is a maximum, so each part can
    settle its own duplicates and the child's beads are then merged in as
    later lines.  Errors: the parent's part comes first in the file, so its
    error (raised here) is the one a single pass would report.
    """
    newline = data.find(b"\n", int(len(data) * _PARENT_SHARE))
    if newline < 0:
        _parse_lines(batch, data, 1)
        return
    cut = newline + 1
    rest_first_line = data.count(b"\n", 0, cut) + 1

    def child() -> bytes:
        part = Batch(source=batch.source, shape=batch.shape, beads={}, origin={})
        try:
            _parse_lines(part, data[cut:], rest_first_line)
        except InvalidInput as exc:
            return msgspec.msgpack.encode(_Part([], [], [], 0, [], error=str(exc)))
        origin, kept = part.origin, part.kept
        return msgspec.msgpack.encode(
            _Part(
                list(part.beads.values()),
                [origin[i] for i in part.beads],
                [kept[i].wire() for i in part.beads],
                part.ignored,
                part.skipped,
            )
        )

    _, raw = beside.run_beside(child, lambda: _parse_lines(batch, data[:cut], 1))
    if raw is None:  # the child failed (not on the input): parse its part here
        _parse_lines(batch, data[cut:], rest_first_line)
        return
    part = _PART_DECODER.decode(raw)
    if part.error:
        raise InvalidInput(part.error)
    beads, origin, kept_by_id = batch.beads, batch.origin, batch.kept
    for bead, where, wire in zip(part.beads, part.origin, part.kept):
        kept = extras.Kept.from_wire(wire)
        if bead.id not in beads:
            beads[bead.id], origin[bead.id], kept_by_id[bead.id] = bead, where, kept
        else:
            _keep_newer(batch, bead, kept, where)
    batch.ignored += part.ignored
    batch.skipped += part.skipped


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None


def _rows(path: Path, decoder: msgspec.json.Decoder) -> Iterator[tuple[str, Any]]:
    if not path.exists():
        return
    for number, line in _lines(_read(path)):
        where = f"{path}:{number}"
        try:
            yield where, decoder.decode(line)
        except msgspec.DecodeError as exc:
            raise InvalidInput(f"{where}: {_problem(exc)}") from None


_DEP_STRICT_DECODER = msgspec.json.Decoder(_InDepStrict)
_COMMENT_STRICT_DECODER = msgspec.json.Decoder(_InCommentStrict)


def _rows_keeping(path: Path, strict: msgspec.json.Decoder, loose: msgspec.json.Decoder) -> Iterator[tuple[str, Any, dict | None]]:
    """Rows of a backup table, each with ``{key: raw}`` when it has keys we hold no column for."""
    if not path.exists():
        return
    for number, line in _lines(_read(path)):
        where = f"{path}:{number}"
        try:
            yield where, strict.decode(line), None
            continue
        except msgspec.DecodeError as exc:
            if "unknown field" not in str(exc):
                raise InvalidInput(f"{where}: {_problem(exc)}") from None
        try:
            yield where, loose.decode(line), _KEYS_DECODER.decode(line)
        except msgspec.DecodeError as exc:
            raise InvalidInput(f"{where}: {_problem(exc)}") from None


def parse_backup(directory: Path) -> Batch:
    """Parse shape 2 (a ``.beads/backup/``-like directory, one file per table)."""
    issues = directory / "issues.jsonl"
    if not issues.is_file():
        raise InvalidInput(f"{directory}: no issues.jsonl: not a Beads backup directory")
    batch = parse_classic(_read(issues), str(issues), shape="backup")
    beads = batch.beads

    deps: dict[str, dict[str, Dependency]] = {}
    for where, raw, keys in _rows_keeping(directory / "dependencies.jsonl", _DEP_STRICT_DECODER, _DEP_DECODER):
        bead = beads.get(raw.issue_id or "")
        if bead is None:  # Beads' import skips these too (import_shared.go), with a report
            batch.skipped.append(f"{where}: {raw.issue_id!r} -> {raw.depends_on_id!r}: no bead {raw.issue_id!r} in issues.jsonl")
            continue
        try:
            dep = _to_dependency(raw, bead.id, where)
        except _SkipDependency as exc:
            batch.skipped.append(str(exc))
            continue
        deps.setdefault(bead.id, {d.depends_on_id: d for d in bead.dependencies})[dep.depends_on_id] = dep
        if keys is not None:
            batch.kept[bead.id].add_dep(keys, _DEP_KEYS, backup=True)
    for bead_id, by_target in deps.items():
        beads[bead_id].dependencies = list(by_target.values())

    def owner(issue_id: str | None, where: str) -> Bead:
        bead = beads.get(issue_id or "")
        if bead is None:
            raise InvalidInput(f"{where}: issue_id: unknown bead {issue_id!r} (not in issues.jsonl)")
        return bead

    labels: dict[str, set[str]] = {}
    for where, raw in _rows(directory / "labels.jsonl", _LABEL_DECODER):
        bead = owner(raw.issue_id, where)
        if raw.label.strip():
            labels.setdefault(bead.id, set(bead.labels)).add(raw.label)
    for bead_id, names in labels.items():
        beads[bead_id].labels = sorted(names)
    for where, raw, keys in _rows_keeping(directory / "comments.jsonl", _COMMENT_STRICT_DECODER, _COMMENT_DECODER):
        bead = owner(raw.issue_id, where)
        comment = _to_comment(raw, bead.id, where)
        if not any(c.id and c.id == comment.id for c in bead.comments):
            bead.comments.append(comment)
            if keys is not None:
                batch.kept[bead.id].add_comment(keys, _COMMENT_KEYS, backup=True)
    # Beads' own event history does not map onto our feed (one event per
    # mutation, ours): it is checked for well-formedness and counted only.
    for _ in _rows(directory / "events.jsonl", _ANY_DECODER):
        batch.ignored += 1
    for where, raw in _rows(directory / "config.jsonl", _CONFIG_DECODER):
        if raw.key and raw.key not in _LOCAL_CONFIG and raw.value is not None:
            batch.config[raw.key] = raw.value if isinstance(raw.value, str) else _metadata(raw.value)
    return batch


def read_source(source: str | os.PathLike[str]) -> Batch:
    """Parse a file (shape 1) or a directory (shape 2, or one holding a shape-1 issues.jsonl).

    ``-`` reads shape 1 from stdin.
    """
    if str(source) == "-":
        import sys

        return parse_classic(sys.stdin.buffer.read(), "<stdin>")
    path = Path(source)
    if path.is_dir():
        if any((path / name).is_file() for name in BACKUP_TABLES[1:]):
            return parse_backup(path)
        if (path / "issues.jsonl").is_file():
            return parse_classic(_read(path / "issues.jsonl"), str(path / "issues.jsonl"))
        raise InvalidInput(f"{path}: no issues.jsonl in this directory")
    if not path.exists():
        raise InvalidInput(f"no such file: {path}")
    return parse_classic(_read(path), str(path))

# -- import ----------------------------------------------------------------------


def _chunks(items: list, size: int = _CHUNK) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _existing(conn: sqlite3.Connection, bead_ids: list[str]) -> dict[str, str]:
    """``id -> updated_at`` for those of ``bead_ids`` already in the ledger."""
    found: dict[str, str] = {}
    for chunk in _chunks(bead_ids):
        marks = ",".join("?" * len(chunk))
        found.update(conn.execute(f"SELECT id, updated_at FROM issues WHERE id IN ({marks})", chunk).fetchall())
    return found


def _orphans(conn: sqlite3.Connection, batch: Batch, writing: list[Bead]) -> list[str]:
    """References to beads neither in the batch nor in the ledger, as ``bead -> target``.

    Beads' import accepts them (cmd/bd/import_shared.go): the target may live
    in another repository's file, be a wisp (never exported) or an
    ``external:`` ref, or have been deleted since.  A dangling reference
    blocks nothing.
    """
    wanted: dict[str, list[str]] = {}
    for bead in writing:
        refs = [d.depends_on_id for d in bead.dependencies]
        if bead.parent and bead.parent not in refs:
            refs.append(bead.parent)
        for target in refs:
            if target not in batch.beads:
                wanted.setdefault(target, []).append(bead.id)
    if not wanted:
        return []
    known = set(_existing(conn, [t for t in wanted if not t.startswith("external:")]))
    return sorted(f"{source} -> {target}" for target, sources in wanted.items() if target not in known for source in sources)


def _check_vocabulary(ledger, batch: Batch, writing: list[Bead]) -> None:
    """Statuses and types: Beads' built-ins plus the ledger's (and the backup's) custom ones."""
    statuses, types = vocabulary(ledger.config_items(), batch.config)
    for bead in writing:
        if bead.status not in statuses:
            raise InvalidInput(f"{batch.origin[bead.id]}: status: invalid status {bead.status!r} (one of: {', '.join(statuses)})")
        if bead.issue_type not in types:
            raise InvalidInput(
                f"{batch.origin[bead.id]}: issue_type: invalid type {bead.issue_type!r} (one of: {', '.join(types)})"
            )


def _with_parent_edge(bead: Bead) -> Bead:
    """Make ``parent`` and the parent-child dependency agree, as the ledger keeps them."""
    parent = bead.parent
    if parent:
        # Any edge to the parent (of any type) stays as it is; none: add one.
        for d in bead.dependencies:
            if d.depends_on_id == parent:
                return bead
        bead.dependencies.append(Dependency(bead.id, parent, "parent-child", bead.created_at, bead.created_by))
        return bead
    for d in bead.dependencies:
        if d.type == "parent-child":
            bead.parent = d.depends_on_id
            break
    return bead


_INSERT_ISSUE = (
    f"INSERT INTO issues({', '.join(BEAD_COLUMNS)}, extra) VALUES ({', '.join('?' * (len(BEAD_COLUMNS) + 1))})"
)
_COLLECTIONS_END = _LABELS_AT + 3  # labels, dependencies, comments
_COUNTS_AT = Bead.__struct_fields__.index("dependency_count")
assert BEAD_COLUMNS == Bead.__struct_fields__[:_LABELS_AT] + Bead.__struct_fields__[_COLLECTIONS_END:_COUNTS_AT]


def _issue_row(bead: Bead, extra: str) -> tuple:
    # The Struct's fields are the columns in table order around the
    # collections; bools bind as integers (bool is an int to sqlite3).
    t = _astuple(bead)
    return (*t[:_LABELS_AT], *t[_COLLECTIONS_END:_COUNTS_AT], extra)


#: Above this many beads, the search index is filled in one statement rather
#: than by the per-row trigger (4x faster at 100K beads).
BULK_INDEX_MIN = 2000

#: FTS5's pending-terms hash (bytes) while a bulk import fills the search
#: index, and its default (what it is put back to: one-row writes want it small).
FTS_BULK_HASH, FTS_DEFAULT_HASH = 16 * 1024 * 1024, 1024 * 1024

#: Tables an import writes; their secondary indexes are rebuilt after a bulk load.
_IMPORT_TABLES = ("issues", "dependencies", "labels", "comments")


def _secondary_indexes(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """(name, table, CREATE statement) of the droppable indexes of the tables an import writes.

    Read from the schema rather than listed, so an index added later is
    handled too; ``sql IS NULL`` leaves out the automatic ones (UNIQUE, keys).
    """
    marks = ",".join("?" * len(_IMPORT_TABLES))
    return conn.execute(
        f"SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks}) "
        "ORDER BY name",
        _IMPORT_TABLES,
    ).fetchall()


@contextmanager
def _bulk_load(conn: sqlite3.Connection, adding: int, then: Callable[[sqlite3.Connection], None]) -> Iterator[None]:
    """Load ``adding`` beads with the search trigger (and, when they dominate, the indexes) off; ``then`` runs after the load.

    Filling the search index in one statement is 4x faster than the per-row
    trigger; building an index once over sorted keys is ~2.5x faster than
    growing it row by row, but rebuilding means reading the whole table, so
    indexes are dropped only when the import at least doubles the ledger.
    DDL is transactional in SQLite: if anything fails, the trigger and the
    indexes come back with the rollback, and other connections never see
    them missing (they read their snapshot; their statements re-prepare).
    """
    trigger = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'issues_fts_insert'"
    ).fetchone()
    if trigger is None or adding < BULK_INDEX_MIN:
        yield
        then(conn)
        return
    (top,) = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM issues").fetchone()
    indexes = _secondary_indexes(conn) if adding >= top else []
    conn.execute("DROP TRIGGER issues_fts_insert")
    for name, _, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    yield
    # ``then`` (the blocked-flag rebuild) looks dependencies up by target, so
    # their indexes come first; it rewrites a flag on many issues rows, which
    # costs least while the issues indexes (most of them include the flag)
    # are not there yet.
    for _, table, sql in indexes:
        if table != "issues":
            conn.execute(sql)
    then(conn)
    for _, table, sql in indexes:
        if table == "issues":
            conn.execute(sql)
    # FTS5 buffers new terms in a hash and writes a segment (to be merged
    # later) each time it fills; 16 MB rather than 1 MB means fewer, larger
    # segments and less merging: ~30% of the index build at 100K beads.
    conn.execute(f"INSERT INTO issues_fts(issues_fts, rank) VALUES ('hashsize', {FTS_BULK_HASH})")
    conn.execute(
        "INSERT INTO issues_fts(rowid, id, title, description) "
        "SELECT rowid, id, title, description FROM issues WHERE rowid > ? AND ephemeral = 0",
        (top,),
    )
    conn.execute(f"INSERT INTO issues_fts(issues_fts, rank) VALUES ('hashsize', {FTS_DEFAULT_HASH})")
    conn.execute(trigger[0])


def _comment_rows(conn: sqlite3.Connection, beads: list[Bead]) -> list[tuple]:
    """Comment rows with their final ids, as inserting them one by one would give.

    Comment ids are global here but per-file in the source: an incoming id
    is kept when it is free, else the comment gets the id AUTOINCREMENT
    would pick (one more than any id ever used), so the ids do not depend on
    how the rows are inserted.
    """
    ordered = [
        c
        for b in beads
        if b.comments  # most beads have none: no sort call for them
        for c in sorted(b.comments, key=lambda c: (timestamp_key(c.created_at), c.id))
    ]
    if not ordered:
        return []
    wanted = sorted({c.id for c in ordered if c.id})
    taken: set[int] = set()
    for chunk in _chunks(wanted):
        marks = ",".join("?" * len(chunk))
        taken.update(r[0] for r in conn.execute(f"SELECT id FROM comments WHERE id IN ({marks})", chunk))
    (top,) = conn.execute(
        "SELECT max(COALESCE((SELECT MAX(id) FROM comments), 0), "
        "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'comments'), 0))"
    ).fetchone()
    rows = []
    for c in ordered:
        cid = c.id
        if cid and cid not in taken:
            top = max(top, cid)
        else:
            top += 1
            cid = top
        taken.add(cid)
        rows.append((cid, c.issue_id, c.author, c.text, c.created_at))
    return rows


def _apply(
    conn: sqlite3.Connection,
    creating: list[Bead],
    replacing: list[Bead],
    kept: dict[str, extras.Kept],
    then: Callable[[sqlite3.Connection], None],
) -> None:
    """Write the beads (``kept``: what each line carried beyond columns); ``then`` runs once they are all in (see _bulk_load)."""
    for chunk in _chunks([b.id for b in replacing]):
        marks = ",".join("?" * len(chunk))
        for table, column in (("dependencies", "issue_id"), ("labels", "issue_id"), ("comments", "issue_id"), ("issues", "id")):
            conn.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", chunk)
    writing = creating + replacing
    comments = _comment_rows(conn, writing)
    with _bulk_load(conn, len(writing), then):
        conn.executemany(_INSERT_ISSUE, [_issue_row(b, kept[b.id].encode(b) if b.id in kept else "") for b in writing])
        conn.executemany(
            "INSERT OR REPLACE INTO dependencies(issue_id, depends_on_id, type, created_at, created_by, metadata) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(d.issue_id, d.depends_on_id, d.type, d.created_at, d.created_by, d.metadata) for b in writing for d in b.dependencies],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO labels(issue_id, label) VALUES (?, ?)",
            [(b.id, label) for b in writing for label in b.labels],
        )
        conn.executemany("INSERT INTO comments(id, issue_id, author, text, created_at) VALUES (?, ?, ?, ?, ?)", comments)
    _bump_counters(conn, writing)


def _bump_counters(conn: sqlite3.Connection, beads: list[Bead]) -> None:
    """Keep ``id_counters`` ahead of imported ids so later creates never collide."""
    prefixes: set[str] = set()
    children: dict[str, int] = {}
    for bead in beads:  # one pass: this runs over every imported bead
        base, dot, tail = bead.id.rpartition(".")
        if not dot:
            prefixes.add(ids.prefix_of(bead.id))
        elif tail.isdigit():  # ids.parent_of_child_id
            n = int(tail)
            children[base] = max(children.get(base, 0), n)
    for prefix in sorted(p for p in prefixes if p):
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM issues WHERE id >= ? AND id < ? AND instr(id, '.') = 0", (prefix + "-", prefix + ".")
        ).fetchone()
        conn.execute(
            "INSERT INTO id_counters(scope, value) VALUES (?, ?) "
            "ON CONFLICT(scope) DO UPDATE SET value = max(value, excluded.value)",
            (f"prefix:{prefix}", count),
        )
    conn.executemany(
        "INSERT INTO id_counters(scope, value) VALUES (?, ?) "
        "ON CONFLICT(scope) DO UPDATE SET value = max(value, excluded.value)",
        ((f"child:{parent}", n) for parent, n in sorted(children.items())),
    )


#: The page cache of the importing connection while it imports (KiB, as
#: ``PRAGMA cache_size`` takes it negative): a 100K-bead load touches ~150 MB
#: of B-tree pages, and SQLite's 2 MB default spills them to the WAL and
#: reads them back while the indexes are built.  Pages are allocated only
#: as used, and the size is put back after.
IMPORT_CACHE_KIB = 256 * 1024


@contextmanager
def _import_session(conn: sqlite3.Connection) -> Iterator[None]:
    (cache,) = conn.execute("PRAGMA cache_size").fetchone()
    conn.execute(f"PRAGMA cache_size = {-IMPORT_CACHE_KIB}")
    try:
        with _no_gc():
            yield
    finally:
        conn.execute(f"PRAGMA cache_size = {int(cache)}")
        conn.execute("PRAGMA shrink_memory")


def import_batch(ledger, batch: Batch, *, actor: str, dry_run: bool = False) -> ImportResult:
    """Apply a parsed batch: one transaction, one ``imported`` event (none if nothing changed)."""
    with _import_session(ledger.conn):
        return _import_batch(ledger, batch, actor=actor, dry_run=dry_run)


def _import_batch(ledger, batch: Batch, *, actor: str, dry_run: bool) -> ImportResult:
    result = ImportResult(
        source=batch.source, shape=batch.shape, ignored=batch.ignored, skipped_dependencies=list(batch.skipped), dry_run=dry_run
    )
    conn = ledger.conn
    with ledger.atomic():
        existing = _existing(conn, list(batch.beads))
        creating, replacing = [], []
        for bead_id in sorted(batch.beads):
            bead = batch.beads[bead_id]
            if bead_id not in existing:
                creating.append(bead)
                continue
            new, old = timestamp_key(bead.updated_at), timestamp_key(existing[bead_id])
            if new > old:
                replacing.append(bead)
            elif new == old:
                result.unchanged += 1
            else:
                result.skipped_older += 1
        result.created, result.updated = len(creating), len(replacing)
        current = ledger.config_items()
        config = {k: v for k, v in sorted(batch.config.items()) if k not in current}
        result.config_set = len(config)
        _check_vocabulary(ledger, batch, creating + replacing)
        result.orphans = _orphans(conn, batch, creating + replacing)
        if dry_run or not result.changed:
            return result
        counts = {k: v for k, v in msgspec.structs.asdict(result).items() if isinstance(v, int) and not isinstance(v, bool)}
        counts.update(orphans=len(result.orphans), skipped_dependencies=len(result.skipped_dependencies))
        with ledger.mutation("imported", actor, payload={"source": batch.source, "shape": batch.shape, **counts}):
            creating = [_with_parent_edge(b) for b in creating]
            replacing = [_with_parent_edge(b) for b in replacing]
            _apply(conn, creating, replacing, batch.kept, then=readiness.rebuild)
            conn.executemany("INSERT INTO config(key, value) VALUES (?, ?)", config.items())
    return result


def import_path(ledger, source: str | os.PathLike[str], *, actor: str, dry_run: bool = False) -> ImportResult:
    """Parse ``source`` (auto-detecting its shape) and import it atomically."""
    # One no-GC span over both steps: between them the collector would walk
    # the whole parsed batch (~1M young objects) and find nothing to free
    # (0.2-0.6 s at 100K beads); freed together afterwards, they need no walk.
    with _no_gc():
        return import_batch(ledger, read_source(source), actor=actor, dry_run=dry_run)


# -- export ------------------------------------------------------------------------


@contextmanager
def read_view(ledger) -> Iterator[sqlite3.Connection]:
    """One consistent snapshot; joins an enclosing transaction if there is one."""
    if ledger.conn.in_transaction:
        yield ledger.conn
        return
    with ledger.snapshot() as conn:
        yield conn


def _export_rows(ledger, prefix: str | None, include_ephemeral: bool) -> tuple[list[Bead], dict[str, str]]:
    """Beads in export order (by id) with collections and counts embedded, and their kept extras."""
    where, params = [], []
    if prefix:
        where.append("id >= ? AND id < ?")
        params += [prefix + "-", prefix + "."]  # '.' sorts right after '-'
    if not include_ephemeral:
        where.append("ephemeral = 0")
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    # Collections are read for the same id set with a semi-join, in one
    # ordered scan each: far cheaper than per-bead queries at 100K beads.
    member = f"IN (SELECT id FROM issues{cond})"
    kept: dict[str, str] = {}
    at = _LABELS_AT
    with read_view(ledger) as conn:
        beads = []
        for row in conn.execute(f"SELECT {BEAD_SELECT}, extra FROM issues{cond} ORDER BY id", params):
            bead = Bead(*row[:at], [], [], [], *row[at:-1])
            bead.ephemeral, bead.pinned = bool(bead.ephemeral), bool(bead.pinned)
            if not bead.created_at:  # time.Time has no omitempty: Go writes its zero
                bead.created_at = GO_ZERO_TIME
            if not bead.updated_at:
                bead.updated_at = GO_ZERO_TIME
            if row[-1]:
                kept[bead.id] = row[-1]
            beads.append(bead)
        by_id = {b.id: b for b in beads}
        for issue_id, label in conn.execute(
            f"SELECT issue_id, label FROM labels WHERE issue_id {member} ORDER BY issue_id, label", params
        ):
            by_id[issue_id].labels.append(label)
        for row in conn.execute(
            "SELECT issue_id, depends_on_id, type, created_at, created_by, metadata FROM dependencies "
            f"WHERE issue_id {member} ORDER BY issue_id, depends_on_id",
            params,
        ):
            dep = Dependency(*row)
            if not dep.created_at:
                dep.created_at = GO_ZERO_TIME
            by_id[row[0]].dependencies.append(dep)
        for row in conn.execute(
            f"SELECT id, issue_id, author, text, created_at FROM comments WHERE issue_id {member} "
            "ORDER BY issue_id, created_at, id",
            params,
        ):
            by_id[row[1]].comments.append(Comment(*row))
        # Dependents that are wisps come and go; counting them would churn the file.
        dependents = (
            "SELECT d.depends_on_id, COUNT(*) FROM dependencies d JOIN issues s ON s.id = d.issue_id "
            f"WHERE d.depends_on_id {member}" + ("" if include_ephemeral else " AND s.ephemeral = 0")
            + " GROUP BY d.depends_on_id"
        )
        for target, n in conn.execute(dependents, params):
            by_id[target].dependent_count = n
    for b in beads:
        b.dependency_count = len(b.dependencies)
        b.comment_count = len(b.comments)
    return beads, kept


def export_beads(ledger, *, prefix: str | None = None, include_ephemeral: bool = False) -> list[Bead]:
    """Beads in export order (by id) with collections and counts embedded, in bulk.

    Structs only: what :func:`export_records` adds back from ``issues.extra``
    (keys we do not model, original timestamp spellings) is not in them.
    """
    return _export_rows(ledger, prefix, include_ephemeral)[0]


def export_records(ledger, *, prefix: str | None = None, include_ephemeral: bool = False) -> list[Any]:
    """What the classic file holds, bead by bead, ready for :func:`encode_classic`.

    A ``Bead`` where nothing was kept for it, else a ``{key: raw}`` record in
    the order Go writes its keys, with the kept keys and spellings back in place.
    """
    beads, kept = _export_rows(ledger, prefix, include_ephemeral)
    if not kept:
        return beads
    out: list[Any] = []
    for bead in beads:
        extra = kept.get(bead.id)
        if extra is None:
            out.append(bead)
            continue
        flags = extras.FLAGS_ONLY.get(extra)
        if flags is not None:
            out.append(msgspec.Raw(extras.apply_flags(_ENCODER.encode(bead), flags, bead.parent)))
            continue
        columns = {name: getattr(bead, name) for name in TIMESTAMP_COLUMNS}
        out.append(extras.apply(_ENCODER.encode(bead), extra, columns, _normalized))
    return out


class _Id(msgspec.Struct):
    id: str


_ID_DECODER = msgspec.json.Decoder(_Id)


def record_id(record: Any) -> str:
    """The id of an :func:`export_records` item."""
    if isinstance(record, Bead):
        return record.id
    if isinstance(record, msgspec.Raw):
        return _ID_DECODER.decode(record).id
    return _STR_DECODER.decode(record["id"])


def _normalized(text: str) -> str:
    return normalize_timestamp(text, "issues.extra", "timestamp")


_ENCODER = msgspec.json.Encoder()


def encode_classic(records: list[Any]) -> bytes:
    """Shape 1 bytes: one compact object per line, ``\\n`` after each, escaped as Go escapes."""
    return goshape.go_escape(_ENCODER.encode_lines(records))


def export_bytes(ledger, *, prefix: str | None = None, include_ephemeral: bool = False) -> bytes:
    return encode_classic(export_records(ledger, prefix=prefix, include_ephemeral=include_ephemeral))


def write_atomic(path: str | os.PathLike[str], data: bytes) -> bool:
    """Replace ``path`` with ``data`` in one rename; False (untouched) when identical."""
    target = Path(path)
    if target.is_dir():
        raise InvalidInput(f"cannot write {target}: it is a directory")
    try:
        if target.read_bytes() == data:
            return False
    except OSError:
        pass
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise InvalidInput(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
