"""A large file is parsed on two cores (a forked child takes the second part): same result as one pass."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import msgspec
import pytest

from gastown_server.beads import beside, jsonl
from gastown_server.errors import InvalidInput

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "beads"


@pytest.fixture
def two_cores():
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: the parse never splits")
    assert beside.available(), "the test process must be single-threaded for the split to run"


def lines_with_every_case(n: int = 400) -> list[dict]:
    at = "2026-11-{:02d}T10:00:00Z"
    rows = [{"id": f"bd-s{i:03x}", "title": f"bead {i}", "updated_at": at.format(10)} for i in range(n)]
    rows[5]["estimated_minutes"] = 30  # a key no column holds: kept verbatim (the pickled wire form)
    rows[6]["updated_at"] = "2026-11-10T02:00:00-08:00"  # a spelling kept
    rows[7]["_type"] = "issue"
    rows.append({"_type": "memory", "key": "x"})  # not a bead: ignored
    rows.append({"id": "bd-s001", "title": "newer copy", "updated_at": at.format(12)})  # later and newer: wins
    rows.append({"id": "bd-s002", "title": "older copy", "updated_at": at.format(2)})  # later but older: loses
    rows.append({"id": "bd-s003", "title": "tie", "updated_at": at.format(10)})  # a tie: the later line wins
    rows.append({"id": "bd-new", "title": "bad dep", "dependencies": [{"depends_on_id": "bd-s001", "type": "no-such-type"}]})
    rows.append({"id": "bd-new", "title": "again", "updated_at": at.format(20)})  # duplicate within the child's part
    rows.append({"id": "bd-s004", "title": "a", "updated_at": at.format(9)})
    rows.append({"id": "bd-s004", "title": "b", "updated_at": at.format(11)})
    return rows


def write(tmp_path: Path, rows: list[dict], name: str = "x.jsonl") -> bytes:
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    (tmp_path / name).write_bytes(data)
    return data


def snapshot(batch: jsonl.Batch) -> dict:
    return {
        "beads": [(k, msgspec.structs.asdict(b)) for k, b in batch.beads.items()],  # order included
        "origin": list(batch.origin.items()),
        "kept": [(k, batch.kept[k].encode(b)) for k, b in batch.beads.items()],
        "ignored": batch.ignored,
        "skipped": batch.skipped,
    }


def parse_both(monkeypatch, data: bytes, source: str = "x.jsonl", shape: str = "classic") -> tuple[jsonl.Batch, jsonl.Batch]:
    """One pass, then split; the split's child must have handed its part back (no silent fallback)."""
    monkeypatch.setattr(jsonl, "SPLIT_PARSE_MIN_BYTES", 1 << 62)
    one = jsonl.parse_classic(data, source, shape=shape)
    monkeypatch.setattr(jsonl, "SPLIT_PARSE_MIN_BYTES", 0)
    handed_back = []
    real = beside.run_beside

    def recording(child, own):
        result = real(child, own)
        handed_back.append(result[1] is not None)
        return result

    monkeypatch.setattr(beside, "run_beside", recording)
    split = jsonl.parse_classic(data, source, shape=shape)
    assert handed_back == [True]
    return one, split


def test_split_parse_equals_one_pass(two_cores, monkeypatch, tmp_path):
    data = write(tmp_path, lines_with_every_case())
    one, split = parse_both(monkeypatch, data)
    assert snapshot(split) == snapshot(one)
    assert split.beads["bd-s001"].title == "newer copy" and split.beads["bd-s002"].title == "bead 2"
    assert split.beads["bd-s003"].title == "tie" and split.origin["bd-new"].endswith(":406")
    assert split.ignored == 1 and len(split.skipped) == 1 and ":405:" in split.skipped[0]
    assert "estimated_minutes" in split.kept["bd-s005"].encode(split.beads["bd-s005"])


@pytest.mark.parametrize("name", ["classic.jsonl", "go/issues.jsonl", "backup/issues.jsonl", "go-backup/issues.jsonl"])
def test_split_parse_equals_one_pass_on_the_fixtures(two_cores, monkeypatch, name):
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"no fixture {name}")
    one, split = parse_both(monkeypatch, path.read_bytes(), name, "backup" if "backup" in name else "classic")
    assert snapshot(split) == snapshot(one)


def test_errors_are_the_first_a_single_pass_finds(two_cores, monkeypatch, tmp_path):
    rows = lines_with_every_case()
    late = [*rows[:350], {"id": "bd-bad", "title": "x", "priority": "high"}, *rows[350:]]
    data = write(tmp_path, late)
    monkeypatch.setattr(jsonl, "SPLIT_PARSE_MIN_BYTES", 0)
    with pytest.raises(InvalidInput, match=r"x\.jsonl:351: priority"):  # found by the child
        jsonl.parse_classic(data, "x.jsonl")
    both = [*rows[:10], {"id": "bd-bad", "title": ""}, *late[10:]]
    with pytest.raises(InvalidInput, match=r"x\.jsonl:11: title"):  # the parent's, not the child's later one
        jsonl.parse_classic(write(tmp_path, both), "x.jsonl")


def test_run_beside_runs_the_child_in_another_process(two_cores):
    start = time.perf_counter()
    own, theirs = beside.run_beside(lambda: (time.sleep(0.3), str(os.getpid()).encode())[1], lambda: (time.sleep(0.3), os.getpid())[1])
    assert own == os.getpid() and theirs is not None and int(theirs) != os.getpid()
    assert time.perf_counter() - start < 0.55  # side by side, not one after the other


def test_run_beside_reports_a_failed_child_and_stops_it_when_ours_fails(two_cores):
    def boom() -> bytes:
        raise RuntimeError("child bug")

    assert beside.run_beside(boom, lambda: 7) == (7, None)
    with pytest.raises(ValueError):
        beside.run_beside(lambda: (time.sleep(30), b"")[1], lambda: int("x"))
