"""The town's ``.events.jsonl`` (SPEC) and ``gt install --git``'s first commit: real ledger, real git, real processes."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from gastown_server.beads.store import Ledger
from gastown_server.paths import ledger_path
from gastown_server.town.install import install

BD = [sys.executable, "-m", "gastown_server.cli.bd"]
FIELDS = ["ts", "source", "type", "actor", "payload", "visibility"]


def lines(root):
    return [json.loads(line) for line in (root / ".events.jsonl").read_text().splitlines()]


def test_install_starts_the_event_file_and_bd_appends_to_it(tmp_path):
    root = install(tmp_path / "town", name="Central")
    first = lines(root)
    assert [e["type"] for e in first] == ["town_installed"]
    assert list(first[0]) == FIELDS
    assert first[0]["payload"]["name"] == "Central" and first[0]["visibility"] == "feed"
    env = {"GT_TOWN": str(root), "BD_ACTOR": "mayor", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([*BD, "create", "Fix the fuel pump", "--json"], env=env, capture_output=True, text=True, check=True)
    bead = json.loads(out.stdout)["id"]
    subprocess.run([*BD, "close", bead, "--reason", "pumped"], env=env, check=True, capture_output=True)
    events = lines(root)[1:]
    assert [(e["type"], e["actor"], e["payload"]["bead"]) for e in events] == [
        ("created", "mayor", bead),
        ("closed", "mayor", bead),
    ]
    assert all(e["source"] in ("bd", "bd.py") for e in events)


def test_a_rolled_back_change_never_reaches_the_file(tmp_path):
    root = install(tmp_path / "town")
    before = (root / ".events.jsonl").read_bytes()
    with Ledger(ledger_path(root)) as led:
        with pytest.raises(RuntimeError):
            with led.mutation("doomed", "overseer"):
                led.create("never", actor="overseer")
                raise RuntimeError("abort")
        assert not [b for b in led.list() if b.title == "never"]
        with led.atomic():  # two mutations, one commit: both lines in one write
            a = led.create("one", actor="overseer")
            b = led.create("two", actor="overseer")
    assert (root / ".events.jsonl").read_bytes().startswith(before)
    tail = lines(root)[len(before.splitlines()):]
    assert [e["payload"]["bead"] for e in tail] == [a.id, b.id]


def test_concurrent_writers_never_interleave_lines(tmp_path):
    root = install(tmp_path / "town")
    env = {"GT_TOWN": str(root), "BD_ACTOR": "overseer", "PATH": "/usr/bin:/bin"}

    def writer(n):
        for i in range(15):
            subprocess.run([*BD, "create", f"w{n}-{i}", "-l", "load"], env=env, check=True, capture_output=True)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(writer, range(6)))
    created = [e for e in lines(root) if e["type"] == "created"]
    assert sorted(e["payload"]["title"] for e in created) == sorted(f"w{n}-{i}" for n in range(6) for i in range(15))
    with Ledger(ledger_path(root)) as led:
        in_ledger = led.conn.execute("SELECT count(*) FROM events WHERE kind = 'created'").fetchone()[0]
    assert in_ledger == len(created)


def test_a_plain_bd_ledger_writes_no_event_file(tmp_path):
    subprocess.run([*BD, "init", "--prefix", "pl"], cwd=tmp_path, check=True, capture_output=True, env={"PATH": "/usr/bin:/bin"})
    subprocess.run([*BD, "create", "x"], cwd=tmp_path, check=True, capture_output=True, env={"PATH": "/usr/bin:/bin"})
    assert not (tmp_path / ".events.jsonl").exists()


def test_install_git_makes_the_first_commit_with_the_merge_driver(tmp_path):
    root = install(tmp_path / "hq", name="Central", git=True)

    def git(*argv):
        return subprocess.run(["git", "-C", str(root), *argv], capture_output=True, text=True, check=True).stdout

    assert git("log", "--format=%s").splitlines() == ["gastown: new town Central"]
    assert git("status", "--porcelain") == ""  # state and the event file are ignored, the rest committed
    tracked = git("ls-files").splitlines()
    assert ".beads/issues.jsonl" in tracked and ".gitattributes" in tracked and "settings/config.json" in tracked
    assert git("config", "merge.beads.driver").strip() == "bd merge-driver %O %A %B"
    exported = [json.loads(line)["id"] for line in (root / ".beads" / "issues.jsonl").read_text().splitlines()]
    assert "hq-mayor" in exported and "hq-mayor-role" in exported


def test_a_patrol_wisp_leaves_only_its_end_in_the_file(tmp_path):
    from gastown_server.formulas import molecule
    from gastown_server.formulas.service import cook_named

    root = install(tmp_path / "town")
    with Ledger(ledger_path(root)) as led:
        start = len(lines(root))
        proto = cook_named("mol-deacon-patrol", {}, town=root)
        wisp = molecule.pour(led, proto, actor="deacon", wisp=True)
        assert "-wisp-" in wisp.id
        for step in molecule.steps(led, wisp.id):
            led.close(step.id, actor="deacon", reason="done")
        molecule.burn(led, wisp.id, actor="deacon")
    assert [(e["type"], e["payload"]["bead"]) for e in lines(root)[start:]] == [("molecule_burned", wisp.id)]
