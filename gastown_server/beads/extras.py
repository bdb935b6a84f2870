"""What a JSONL line carries beyond our columns, kept so the export writes it back.

Stored per bead in ``issues.extra`` as compact JSON ('' when nothing, which
is almost every bead, so the export's fast path stays a plain Struct encode):

* ``x``: ``[[anchor, key, value], ...]`` keys no column holds (Beads fields we
  do not model such as ``spec_id``/``estimated_minutes``/``waiters``, keys of
  newer versions), the value verbatim; ``anchor`` is the key it followed in
  the classic line (None for a backup row: placed where Go's struct puts it);
* ``t``: ``{field: text}`` timestamps whose text differs from the UTC form the
  column holds (``-08:00`` offsets): written back as read while the column
  still holds that instant;
* ``ty``: the line began with ``"_type":"issue"``;  ``nc``: it had no counts;
  ``np``: it had no ``parent`` key (the parent-child dependency says it);
  ``mo``: ``metadata`` was a JSON object (Go ``json.RawMessage``), not a string;
* ``d``: ``{depends_on_id: [[anchor, key, value], ...]}`` and ``c``:
  ``{comment key: [...]}``, the same for keys no column holds inside a
  dependency or a comment object (Beads' ``thread_id``, future fields).  A
  comment is known by its time, author and a digest of its text, not by its
  id, which an import may renumber.
"""

from __future__ import annotations

import functools
import hashlib

import msgspec

from . import goshape

_RAW_DICT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ENCODE = msgspec.json.encode
_COUNTS = ("dependency_count", "dependent_count", "comment_count")


_Keys = list[tuple[str | None, str, msgspec.Raw]]


class Extra(msgspec.Struct, omit_defaults=True):
    x: _Keys = msgspec.field(default_factory=list)
    t: dict[str, str] = msgspec.field(default_factory=dict)
    ty: bool = False
    nc: bool = False
    np: bool = False
    mo: bool = False
    d: dict[str, _Keys] = msgspec.field(default_factory=dict)
    c: dict[str, _Keys] = msgspec.field(default_factory=dict)


_RAW_LIST = msgspec.json.Decoder(list[dict[str, msgspec.Raw]])
_STR = msgspec.json.Decoder(str)


def comment_key(created_at: str, author: str, text: str) -> str:
    """How a comment's kept keys find it again (ids are renumbered on import)."""
    digest = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
    return f"{created_at}|{author}|{digest}"


def _text(raw: msgspec.Raw | None) -> str:
    if raw is None:
        return ""
    try:
        value = _STR.decode(raw)
    except msgspec.DecodeError:
        return ""
    return value or ""


def _unknown(obj: dict[str, msgspec.Raw], known: frozenset[str], order: dict[str, int], backup: bool) -> _Keys:
    out: _Keys = []
    prev: str | None = None
    for key, raw in obj.items():
        if key not in known:
            if not backup:
                out.append((prev, key, raw))
            elif not goshape.is_go_empty(key, bytes(raw)):
                out.append((None, key, raw))
        prev = key
    return out


_DECODER = msgspec.json.Decoder(Extra)


class Kept:
    """Collected while one line is parsed."""

    __slots__ = ("keys", "times", "typed", "no_counts", "parent_absent", "metadata_object", "deps", "comments")

    def __init__(self) -> None:
        self.keys: _Keys = []
        self.times: dict[str, str] = {}
        self.typed = self.no_counts = self.parent_absent = self.metadata_object = False
        self.deps: dict[str, _Keys] = {}
        self.comments: dict[str, _Keys] = {}

    def collect_nested(
        self, record: dict[str, msgspec.Raw], dep_keys: frozenset[str], comment_keys: frozenset[str], *, backup: bool
    ) -> None:
        """Keep the keys of the line's dependency and comment objects that no column holds."""
        raw = record.get("dependencies")
        if raw is not None and bytes(raw) != b"null":
            for dep in _RAW_LIST.decode(raw):
                self.add_dep(dep, dep_keys, backup=backup)
        raw = record.get("comments")
        if raw is not None and bytes(raw) != b"null":
            for comment in _RAW_LIST.decode(raw):
                self.add_comment(comment, comment_keys, backup=backup)

    def add_dep(self, dep: dict[str, msgspec.Raw], known: frozenset[str], *, backup: bool) -> None:
        keys = _unknown(dep, known, goshape.DEPENDENCY_ORDER, backup)
        if keys:
            self.deps[_text(dep.get("depends_on_id"))] = keys

    def add_comment(self, comment: dict[str, msgspec.Raw], known: frozenset[str], *, backup: bool) -> None:
        keys = _unknown(comment, known, goshape.COMMENT_ORDER, backup)
        if keys:
            key = comment_key(_text(comment.get("created_at")), _text(comment.get("author")), _text(comment.get("text")))
            self.comments[key] = keys

    def collect(self, record: dict[str, msgspec.Raw], known: frozenset[str], *, backup: bool) -> None:
        """Keep the keys of ``record`` that ``known`` lacks (a backup row: as the classic shape writes them)."""
        prev: str | None = None
        for key, raw in record.items():
            if key not in known:
                if not backup:
                    self.keys.append((prev, key, raw))
                elif key not in goshape.BACKUP_ONLY_COLUMNS and not goshape.is_go_empty(key, bytes(raw)):
                    self.keys.append((None, key, msgspec.Raw(goshape.backup_value(key, bytes(raw)))))
            prev = key

    def wire(self) -> int | bytes:
        """A compact form to hand to another process: the flags as bits when only flags are set (almost always)."""
        if self.keys or self.times or self.deps or self.comments:
            import pickle  # rare, and only in a parallel parse: not at start-up

            return pickle.dumps(self)
        return self.typed | self.no_counts << 1 | self.parent_absent << 2 | self.metadata_object << 3

    @classmethod
    def from_wire(cls, value: int | bytes) -> Kept:
        if isinstance(value, bytes):
            import pickle

            return pickle.loads(value)
        kept = cls()
        kept.typed, kept.no_counts = bool(value & 1), bool(value & 2)
        kept.parent_absent, kept.metadata_object = bool(value & 4), bool(value & 8)
        return kept

    def encode(self, bead) -> str:
        """The ``issues.extra`` text for ``bead`` (its collections final): '' when nothing is kept."""
        no_parent = self.parent_absent and any(d.type == "parent-child" for d in bead.dependencies)
        deps = comments = {}
        if self.deps:  # only for what the bead still has (a bad row was skipped)
            targets = {d.depends_on_id for d in bead.dependencies}
            deps = {t: k for t, k in self.deps.items() if t in targets}
        if self.comments:
            present = {comment_key(c.created_at, c.author, c.text) for c in bead.comments}
            comments = {t: k for t, k in self.comments.items() if t in present}
        if not (self.keys or self.times or deps or comments):  # flags at most: almost every bead
            return _flags_text(self.typed, self.no_counts, no_parent, self.metadata_object)
        extra = Extra(
            x=self.keys, t=self.times, ty=self.typed, nc=self.no_counts, np=no_parent, mo=self.metadata_object,
            d=deps, c=comments,
        )
        return _ENCODE(extra).decode()


@functools.cache
def _flags_text(typed: bool, no_counts: bool, no_parent: bool, metadata_object: bool) -> str:
    """``issues.extra`` of a bead that keeps only flags (16 possible values, made once each)."""
    if not (typed or no_counts or no_parent or metadata_object):
        return ""
    return _ENCODE(Extra(ty=typed, nc=no_counts, np=no_parent, mo=metadata_object)).decode()


def keys_of(extra: str) -> dict[str, bytes]:
    """The kept keys of one ``issues.extra`` value (for tests and ``bd show``-like views)."""
    return {key: bytes(raw) for _, key, raw in _DECODER.decode(extra).x} if extra else {}


def _position(keys: list[str], anchor: str | None, key: str, order: dict[str, int] = goshape.KEY_ORDER) -> int:
    """Where ``key`` goes: after its anchor if written, else where Go's struct order puts it."""
    if anchor is not None and anchor in keys:
        return keys.index(anchor) + 1
    rank = order.get(key)
    if rank is None and anchor is not None:
        rank = order.get(anchor)
        if rank is not None:
            rank += 0.5  # right after where its (now omitted) anchor would be
    if rank is None:
        return len(keys)
    at = 0
    for i, k in enumerate(keys):
        r = -1 if k == "_type" else order.get(k)
        if r is not None and r < rank:
            at = i + 1
    return at


def _put_back(items: list[tuple[str, msgspec.Raw]], kept: _Keys, order: dict[str, int]) -> list[tuple[str, msgspec.Raw]]:
    present = {k for k, _ in items}
    for anchor, key, raw in kept:
        if key in present:
            continue
        items.insert(_position([k for k, _ in items], anchor, key, order), (key, raw))
        present.add(key)
    return items


def _nested(raw: msgspec.Raw, kept: dict[str, _Keys], key_of, order: dict[str, int]) -> msgspec.Raw:
    """A dependencies / comments array with the kept keys of its objects put back."""
    objects = _RAW_LIST.decode(raw)
    for i, obj in enumerate(objects):
        keys = kept.get(key_of(obj))
        if keys:
            objects[i] = dict(_put_back(list(obj.items()), keys, order))
    return msgspec.Raw(_ENCODE(objects))


def _dep_key(obj: dict[str, msgspec.Raw]) -> str:
    return _text(obj.get("depends_on_id"))


def _comment_key(obj: dict[str, msgspec.Raw]) -> str:
    return comment_key(_text(obj.get("created_at")), _text(obj.get("author")), _text(obj.get("text")))


def apply(encoded: bytes, extra: str, columns: dict[str, str], normalize) -> dict[str, msgspec.Raw]:
    """The export record of one bead: its encoded Struct with ``extra`` put back.

    ``columns`` gives the current value of the timestamp columns; a kept
    spelling is used only while ``normalize(spelling)`` is still that value
    (a bead changed since keeps its new time in UTC).
    """
    ex = _DECODER.decode(extra)
    record = _RAW_DICT.decode(encoded)
    if ex.nc:
        for key in _COUNTS:
            record.pop(key, None)
    if ex.np:
        record.pop("parent", None)
    for field, text in ex.t.items():
        if field in record and columns.get(field) == normalize(text):
            record[field] = msgspec.Raw(_ENCODE(text))
    if ex.mo and "metadata" in record:
        value = msgspec.json.decode(bytes(record["metadata"]))
        try:
            msgspec.json.decode(value)
        except (msgspec.DecodeError, TypeError):
            pass  # changed since into text that is not JSON: stays a string
        else:
            record["metadata"] = msgspec.Raw(value.encode())
    if ex.d and "dependencies" in record:
        record["dependencies"] = _nested(record["dependencies"], ex.d, _dep_key, goshape.DEPENDENCY_ORDER)
    if ex.c and "comments" in record:
        record["comments"] = _nested(record["comments"], ex.c, _comment_key, goshape.COMMENT_ORDER)
    items = list(record.items())
    if ex.ty:
        items.insert(0, ("_type", msgspec.Raw(b'"issue"')))
    return dict(_put_back(items, ex.x, goshape.KEY_ORDER))


def _flag_texts() -> dict[str, tuple[bool, bool, bool]]:
    out = {}
    for ty in (False, True):
        for nc in (False, True):
            for np in (False, True):
                if ty or nc or np:
                    out[_ENCODE(Extra(ty=ty, nc=nc, np=np)).decode()] = (ty, nc, np)
    return out


#: ``issues.extra`` values that hold only the shape flags: the common case
#: for a whole file (every line typed, or without counts), handled on the
#: encoded bytes without decoding anything.
FLAGS_ONLY = _flag_texts()


def apply_flags(encoded: bytes, flags: tuple[bool, bool, bool], parent: str) -> bytes:
    """:func:`apply` for a flags-only extra, on the Struct's bytes.

    Safe as byte edits: the counts are the Struct's last keys, ``"parent":``
    unescaped occurs only as its key (ids hold no quote or backslash), and
    ``id`` comes first.
    """
    typed, no_counts, no_parent = flags
    if no_counts:
        encoded = encoded[: encoded.rindex(b',"dependency_count":')] + b"}"
    if no_parent and parent:
        encoded = encoded.replace(b',"parent":' + _ENCODE(parent), b"", 1)
    if typed:
        encoded = b'{"_type":"issue",' + encoded[1:]
    return encoded
