"""Three-way merge of classic ``issues.jsonl`` files by bead id (the git merge driver).

Git calls ``bd merge-driver %O %A %B`` with the common ancestor, our
version and theirs; the merge is written over ``%A``.  Rules, per bead:

* on one side only (added there): kept;
* changed on one side only: that side's version;
* changed on both sides: the newer ``updated_at`` wins the fields, and
  labels, dependencies (by target) and comments (by author, time, text)
  are merged three-way, so neither side's additions are lost and a removal
  on one side of an item the other side left alone sticks;
* absent on one side (deleted) and unchanged on the other: dropped;
  deleted on one side and changed on the other: the changed one is kept.

Beads are compared as JSON objects, not as our ``Bead`` Struct, so keys
written by newer Beads versions survive a merge; a bead taken whole from
one side keeps its line byte for byte, and only beads combined from both
sides are re-encoded (keys in export order).  Non-bead records (``_type``
other than ``issue``) are merged by exact content.  Output is sorted by id,
so merged files diff like exports.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import msgspec

from ..errors import InvalidInput, Unavailable
from . import goshape
from .jsonl import timestamp_key
from .models import Bead

_KEY_ORDER = {name: i for i, name in enumerate(("_type", *Bead.__struct_fields__))}
_DECODER = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()
_SORTED_ENCODER = msgspec.json.Encoder(order="sorted")

Record = dict[str, Any]


class Side(msgspec.Struct):
    """One version of the file: raw lines of beads by id, other records by content."""

    beads: dict[str, bytes]
    others: dict[bytes, bytes]
    source: str = ""


class MergeReport(msgspec.Struct):
    beads: int = 0
    unchanged: int = 0
    from_ours: int = 0
    from_theirs: int = 0
    combined: int = 0
    dropped: int = 0


class _Head(msgspec.Struct):
    """Just enough of a line to file it; the rest is decoded only when sides differ."""

    id: Any = None
    record_type: Any = msgspec.field(default=None, name="_type")


_HEAD_DECODER = msgspec.json.Decoder(_Head)


def parse(data: bytes, source: str) -> Side:
    beads: dict[str, bytes] = {}
    others: dict[bytes, bytes] = {}
    for number, line in enumerate(data.split(b"\n"), 1):
        line = line.strip()
        if not line:
            continue
        where = f"{source}:{number}"
        try:
            head = _HEAD_DECODER.decode(line)
        except msgspec.DecodeError as exc:
            raise InvalidInput(f"{where}: {exc}") from None
        if head.record_type not in (None, "issue"):
            others[_SORTED_ENCODER.encode(_DECODER.decode(line))] = line
            continue
        if not isinstance(head.id, str) or not head.id:
            raise InvalidInput(f"{where}: bead without an id")
        beads[head.id] = line
    return Side(beads, others, source)


def _same(x: bytes | None, y: bytes | None) -> bool:
    """Equal as JSON (whitespace and key order do not count as a change)."""
    if x is None or y is None:
        return x is y
    return x == y or _DECODER.decode(x) == _DECODER.decode(y)


def _label_key(label: Any) -> Any:
    return label if isinstance(label, str) else _SORTED_ENCODER.encode(label)


def _dep_key(dep: Any) -> Any:
    return dep.get("depends_on_id") if isinstance(dep, dict) else _SORTED_ENCODER.encode(dep)


def _comment_key(comment: Any) -> Any:
    # Ids are assigned per ledger, so two clones give different comments the
    # same id; what a comment *is* is who said what when.
    if isinstance(comment, dict):
        return (str(comment.get("author", "")), str(comment.get("created_at", "")), str(comment.get("text", "")))
    return _SORTED_ENCODER.encode(comment)


def _three_way(base: Iterable, ours: Iterable, theirs: Iterable, key: Callable, prefer_ours: bool) -> list:
    o = {key(x): x for x in base or ()}
    a = {key(x): x for x in ours or ()}
    b = {key(x): x for x in theirs or ()}
    out = {}
    for k in [*a, *(k for k in b if k not in a)]:
        in_a, in_b = k in a, k in b
        if in_a and in_b:
            out[k] = a[k] if prefer_ours else b[k]
        elif in_a:
            # Only ours has it: ours added it, or theirs removed it (kept
            # only if ours changed it meanwhile, as for whole beads).
            if k not in o or a[k] != o[k]:
                out[k] = a[k]
        elif k not in o or b[k] != o[k]:
            out[k] = b[k]
    return list(out.values())


def _sorted_comments(comments: list) -> list:
    def order(c: Any) -> tuple:
        if not isinstance(c, dict):
            return (-2, 0, "")
        cid = c.get("id")
        return (timestamp_key(c.get("created_at")), cid if isinstance(cid, int) else 0, str(cid))

    return sorted(comments, key=order)


def _set_list(record: Record, key: str, items: list, count_key: str | None) -> None:
    if items:
        record[key] = items
    else:
        record.pop(key, None)
    if count_key:
        if items:
            record[count_key] = len(items)
        else:
            record.pop(count_key, None)


def ordered(record: Record) -> Record:
    """Keys in export order (``_type``, the Bead fields), unknown keys after."""
    return dict(sorted(record.items(), key=lambda kv: _KEY_ORDER.get(kv[0], len(_KEY_ORDER))))


def combine(base: Record | None, ours: Record, theirs: Record) -> Record:
    """Both sides changed a bead: newer fields win, collections merge three-way."""
    base = base or {}
    prefer_ours = timestamp_key(ours.get("updated_at")) >= timestamp_key(theirs.get("updated_at"))
    result = dict(ours if prefer_ours else theirs)
    labels = _three_way(base.get("labels"), ours.get("labels"), theirs.get("labels"), _label_key, prefer_ours)
    _set_list(result, "labels", sorted(labels, key=lambda x: str(_label_key(x))), None)
    deps = _three_way(
        base.get("dependencies"), ours.get("dependencies"), theirs.get("dependencies"), _dep_key, prefer_ours
    )
    _set_list(result, "dependencies", sorted(deps, key=lambda d: str(_dep_key(d))), "dependency_count")
    comments = _three_way(
        base.get("comments"), ours.get("comments"), theirs.get("comments"), _comment_key, prefer_ours
    )
    _set_list(result, "comments", _sorted_comments(comments), "comment_count")
    return result


def merge_sides(base: Side, ours: Side, theirs: Side) -> tuple[list[bytes], MergeReport]:
    """Merged lines in id order; beads taken whole keep their bytes exactly."""
    report = MergeReport()
    out: list[bytes] = []
    for bead_id in sorted(ours.beads.keys() | theirs.beads.keys() | base.beads.keys()):
        o, a, b = base.beads.get(bead_id), ours.beads.get(bead_id), theirs.beads.get(bead_id)
        if a is None and b is None:
            report.dropped += 1
            continue
        if a is None or b is None:
            present = a if b is None else b
            if o is not None and _same(present, o):
                report.dropped += 1  # deleted on one side, untouched on the other
                continue
            line = present
            if b is None:
                report.from_ours += 1
            else:
                report.from_theirs += 1
        elif _same(a, b):
            line = a
            report.unchanged += 1
        elif _same(b, o):
            line = a
            report.from_ours += 1
        elif _same(a, o):
            line = b
            report.from_theirs += 1
        else:
            decoded = [None if x is None else _decode_record(x, side.source, bead_id) for x, side in ((o, base), (a, ours), (b, theirs))]
            line = goshape.go_escape(_ENCODER.encode(ordered(combine(*decoded))))
            report.combined += 1
        out.append(line)
    report.beads = len(out)
    for key in sorted(ours.others.keys() | theirs.others.keys()):
        in_a, in_b, in_o = key in ours.others, key in theirs.others, key in base.others
        if (in_a and in_b) or not in_o:
            out.append(ours.others.get(key) or theirs.others[key])
    return out, report


def _decode_record(line: bytes, source: str, bead_id: str) -> Record:
    record = _DECODER.decode(line)
    if not isinstance(record, dict):
        raise InvalidInput(f"{source}: bead {bead_id}: expected a JSON object")
    return record


def merge_bytes(
    base: bytes, ours: bytes, theirs: bytes, *, names: tuple[str, str, str] = ("base", "ours", "theirs")
) -> tuple[bytes, MergeReport]:
    sides = [parse(data, name) for data, name in zip((base, ours, theirs), names)]
    lines, report = merge_sides(*sides)
    return b"".join(line + b"\n" for line in lines), report


def merge_files(base: str | Path, ours: str | Path, theirs: str | Path) -> MergeReport:
    """The git driver: merge into ``ours`` (%A).  Nothing is written if any side fails to parse."""
    paths = [Path(p) for p in (base, ours, theirs)]
    contents = []
    for p in paths:
        try:
            contents.append(p.read_bytes() if p.exists() or p == paths[1] else b"")
        except OSError as exc:
            raise InvalidInput(f"cannot read {p}: {exc.strerror or exc}") from None
    data, report = merge_bytes(*contents, names=tuple(str(p) for p in paths))  # type: ignore[arg-type]
    paths[1].write_bytes(data)
    return report


DRIVER_COMMAND = "bd merge-driver %O %A %B"
ATTRIBUTES_LINE = ".beads/issues.jsonl merge=beads"


def install_driver(repo: str | Path, *, shared: bool = True) -> bool:
    """Configure the driver in a git repository (idempotent); True if anything changed.

    Sets ``merge.beads.driver`` in the clone's git config (git never takes
    drivers from the repository itself) and adds the attributes line: to
    ``.gitattributes`` when ``shared`` (uncommitted: committing it is the
    caller's business), else to ``$GIT_COMMON_DIR/info/attributes``, which
    applies to every worktree of this clone and leaves the working tree
    untouched (rig clones: polecat worktrees and the Refinery must see no
    stray file).
    """
    root = Path(repo)

    def git(*argv: str) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(["git", "-C", str(root), *argv], capture_output=True, text=True)
        except OSError as exc:
            raise Unavailable(f"cannot run git: {exc.strerror or exc}") from None

    common = git("rev-parse", "--path-format=absolute", "--git-common-dir")
    if common.returncode != 0:
        raise InvalidInput(f"{root} is not a git repository")
    changed = False
    for key, value in (("merge.beads.driver", DRIVER_COMMAND), ("merge.beads.name", "Beads JSONL merge by bead id")):
        if git("config", "--local", "--get", key).stdout.strip() != value:
            proc = git("config", "--local", key, value)
            if proc.returncode != 0:
                raise Unavailable(f"git config {key} failed in {root}: {proc.stderr.strip()}")
            changed = True
    attributes = root / ".gitattributes" if shared else Path(common.stdout.strip()) / "info" / "attributes"
    text = attributes.read_text() if attributes.exists() else ""
    if ATTRIBUTES_LINE not in text.splitlines():
        attributes.parent.mkdir(parents=True, exist_ok=True)
        attributes.write_text(text + ("" if not text or text.endswith("\n") else "\n") + ATTRIBUTES_LINE + "\n")
        changed = True
    return changed
