"""JSONL interop figures at scale: import, re-import, export, merge driver.

    python benchmarks/jsonl_interop.py [--beads 100000]

Writes a classic-shape file of N beads shaped like a real project (epics
with ~8 children, blocks chains, labels on most beads, a comment on every
fifth, about half closed), then prints wall-clock seconds for:

* parse + validate the file (no ledger)
* ``import`` into an empty ledger (one transaction, blocked cache rebuilt)
* re-``import`` of the same file (nothing changes: no write, no event)
* ``export`` (one snapshot, bulk queries)             target: a few seconds at 100K
* the merge driver on two edited copies of the file
* parse + import of the same beads written the way Beads' Go encoder writes
  them (``"_type":"issue"`` first, status/type/counts always, a Beads column
  we keep verbatim on every 20th bead, ``-08:00`` offsets on every 20th):
  the fidelity paths (kept keys, kept spellings) at scale
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from gastown_server.beads import jsonl, merge
from gastown_server.beads.store import Ledger


def go_shaped(bead: dict, i: int) -> dict:
    """The same bead as Beads' encoder writes it (struct order is not needed to time the import)."""
    out = {"_type": "issue", **bead}
    out.setdefault("status", "open")
    out.setdefault("issue_type", "task")
    out.setdefault("priority", 2)
    if i % 20 == 0:
        out["estimated_minutes"] = 30
        out["updated_at"] = out["updated_at"].replace("Z", "-08:00")
    out["dependency_count"] = len(bead.get("dependencies", []))
    out["dependent_count"] = 0
    out["comment_count"] = len(bead.get("comments", []))
    return out


def make_file(path: Path, n: int, rng: random.Random, *, go: bool = False) -> None:
    words = "login cache refinery merge queue witness polecat convoy mail hook nudge tmux ledger patrol".split()
    lines = []
    made = epic_no = 0
    while made < n:
        epic = f"bm-{epic_no:06x}"
        epic_no += 1
        stamp = f"2026-{1 + epic_no % 12:02d}-{1 + epic_no % 28:02d}T{epic_no % 24:02d}:00:00Z"
        lines.append({"id": epic, "title": f"Epic {epic_no}", "issue_type": "epic", "created_at": stamp, "updated_at": stamp})
        made += 1
        prev = None
        for c in range(1, min(8, n - made) + 1):
            cid = f"{epic}.{c}"
            deps = [{"depends_on_id": epic, "type": "parent-child", "created_at": stamp}]
            if prev and rng.random() < 0.5:
                deps.append({"depends_on_id": prev, "type": "blocks", "created_at": stamp})
            bead = {
                "id": cid,
                "title": f"{rng.choice(words)} {rng.choice(words)} task {made}",
                "description": " ".join(rng.choice(words) for _ in range(20)),
                "status": "closed" if rng.random() < 0.5 else "open",
                "priority": rng.randint(0, 4),
                "created_at": stamp,
                "updated_at": stamp,
                "parent": epic,
                "labels": rng.sample(words, rng.randint(0, 3)),
                "dependencies": deps,
            }
            if made % 5 == 0:
                bead["comments"] = [{"id": made, "author": "bench", "text": "progress", "created_at": stamp}]
            lines.append(bead)
            made += 1
            prev = cid
    if go:
        lines = [go_shaped(x, i) for i, x in enumerate(lines)]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def timed(label: str, fn):
    # CPU seconds too: on a shared 2-core machine the wall clock mostly
    # measures the other processes; this process's CPU time much less so.
    t, c = time.perf_counter(), time.process_time()
    value = fn()
    print(f"  {label:<44} {time.perf_counter() - t:7.2f} s  (cpu {time.process_time() - c:5.2f} s)")
    return value


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--beads", type=int, default=100_000)
    args = ap.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        src = d / "issues.jsonl"
        make_file(src, args.beads, rng)
        size_mb = src.stat().st_size / 1e6
        print(f"JSONL interop, {args.beads} beads ({size_mb:.1f} MB classic file)")
        timed("parse + validate (no ledger)", lambda: jsonl.read_source(src))
        led = Ledger(d / "ledger.db", create=True)
        r = timed("import into an empty ledger", lambda: jsonl.import_path(led, src, actor="bench"))
        assert r.created == args.beads
        r = timed("re-import (no-op)", lambda: jsonl.import_path(led, src, actor="bench"))
        assert r.unchanged == args.beads
        data = timed("export (bytes, one snapshot)", lambda: jsonl.export_bytes(led))
        out = d / "export.jsonl"
        out.write_bytes(data)
        timed("export again (deterministic check)", lambda: jsonl.export_bytes(led) == data)
        # Two diverged copies: ours retitles every 200th bead in the ledger;
        # theirs (edited as text, like another clone) labels the beads in between
        # and re-notes a few of ours, which forces a combined merge for those.
        step = max(1, args.beads // 100)
        ids = [json.loads(x)["id"] for x in data.splitlines()[::step]]
        with led.atomic():
            for i in ids[::2]:
                led.update(i, actor="a", title="edited by ours")
        ours = jsonl.export_bytes(led)
        touched = set(ids[1::2]) | set(ids[::2][:10])
        theirs_lines = []
        for line in data.splitlines():
            if line[7:].split(b'"', 1)[0].decode() in touched:  # lines start {"id":"
                rec = json.loads(line)
                rec["labels"] = sorted(set(rec.get("labels", [])) | {"theirs"})
                rec["notes"] = "edited by theirs"
                rec["updated_at"] = "2027-01-01T00:00:00Z"
                line = json.dumps(rec, separators=(",", ":")).encode()
            theirs_lines.append(line + b"\n")
        theirs = b"".join(theirs_lines)
        merged, report = timed("merge driver (3 x file, ~100 edits)", lambda: merge.merge_bytes(data, ours, theirs))
        print(f"  merged: {report.beads} beads, {report.from_ours} ours, {report.from_theirs} theirs, {report.combined} combined")
        led.disconnect()
        gsrc = d / "go.jsonl"
        make_file(gsrc, args.beads, random.Random(7), go=True)
        print(f"Beads-shaped (Go encoder) file: {gsrc.stat().st_size / 1e6:.1f} MB")
        timed("parse + validate (no ledger)", lambda: jsonl.read_source(gsrc))
        gled = Ledger(d / "go.db", create=True)
        r = timed("import into an empty ledger", lambda: jsonl.import_path(gled, gsrc, actor="bench"))
        assert r.created == args.beads
        timed("export (kept keys and spellings put back)", lambda: jsonl.export_bytes(gled))
        gled.disconnect()


if __name__ == "__main__":
    main()
