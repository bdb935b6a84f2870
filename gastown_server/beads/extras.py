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
  ``mo``: ``metadata`` was a JSON object (Go ``json.RawMessage``), not a string.
"""

from __future__ import annotations

import msgspec

from . import goshape

_RAW_DICT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ENCODE = msgspec.json.encode
_COUNTS = ("dependency_count", "dependent_count", "comment_count")


class Extra(msgspec.Struct, omit_defaults=True):
    x: list[tuple[str | None, str, msgspec.Raw]] = msgspec.field(default_factory=list)
    t: dict[str, str] = msgspec.field(default_factory=dict)
    ty: bool = False
    nc: bool = False
    np: bool = False
    mo: bool = False


_DECODER = msgspec.json.Decoder(Extra)


class Kept:
    """Collected while one line is parsed."""

    __slots__ = ("keys", "times", "typed", "no_counts", "parent_absent", "metadata_object")

    def __init__(self) -> None:
        self.keys: list[tuple[str | None, str, msgspec.Raw]] = []
        self.times: dict[str, str] = {}
        self.typed = self.no_counts = self.parent_absent = self.metadata_object = False

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

    def encode(self, bead) -> str:
        """The ``issues.extra`` text for ``bead`` (its collections final): '' when nothing is kept."""
        no_parent = self.parent_absent and any(d.type == "parent-child" for d in bead.dependencies)
        if not (self.keys or self.times or self.typed or self.no_counts or no_parent or self.metadata_object):
            return ""
        extra = Extra(x=self.keys, t=self.times, ty=self.typed, nc=self.no_counts, np=no_parent, mo=self.metadata_object)
        return _ENCODE(extra).decode()


def keys_of(extra: str) -> dict[str, bytes]:
    """The kept keys of one ``issues.extra`` value (for tests and ``bd show``-like views)."""
    return {key: bytes(raw) for _, key, raw in _DECODER.decode(extra).x} if extra else {}


def _position(keys: list[str], anchor: str | None, key: str) -> int:
    """Where ``key`` goes: after its anchor if written, else where Go's struct order puts it."""
    if anchor is not None and anchor in keys:
        return keys.index(anchor) + 1
    rank = goshape.KEY_ORDER.get(key)
    if rank is None and anchor is not None:
        rank = goshape.KEY_ORDER.get(anchor)
        if rank is not None:
            rank += 0.5  # right after where its (now omitted) anchor would be
    if rank is None:
        return len(keys)
    at = 0
    for i, k in enumerate(keys):
        r = -1 if k == "_type" else goshape.KEY_ORDER.get(k)
        if r is not None and r < rank:
            at = i + 1
    return at


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
    items = list(record.items())
    if ex.ty:
        items.insert(0, ("_type", msgspec.Raw(b'"issue"')))
    for anchor, key, raw in ex.x:
        if key in record:
            continue
        keys = [k for k, _ in items]
        items.insert(_position(keys, anchor, key), (key, raw))
    return dict(items)


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
