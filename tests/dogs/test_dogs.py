"""gt dog: add / list / start / stop / remove on a real town (throwaway tmux socket)."""

from __future__ import annotations

import json

from town_helpers import wait_for


def _dogs(gt):
    return {d["name"]: d for d in json.loads(gt("dog", "list", "--json").stdout)}


def test_dog_round_trip(gt, town_root, town):
    assert gt("dog", "list").stdout.startswith("no dogs")
    out = gt("dog", "add", "rex").stdout
    assert "deacon/dogs/rex" in out and (town_root / "dogs" / "rex").is_dir()
    rex = _dogs(gt)["rex"]
    assert (rex["address"], rex["session"], rex["state"], rex["hook"], rex["alive"]) == (
        "deacon/dogs/rex", "hq-dog-rex", "idle", [], False)  # fmt: skip
    bead = town.ledger.get("hq-dog-rex")
    assert (bead.issue_type, bead.role_bead) == ("agent", "hq-dog-role")

    gt("dog", "start", "rex")
    wait_for(lambda: _dogs(gt)["rex"]["alive"], what="rex's session")
    status = json.loads(gt("status", "--json").stdout)
    row = next(a for a in status["agents"] if a["address"] == "deacon/dogs/rex")
    assert row["session"] == "hq-dog-rex" and row["alive"] and row["role"] == "dog"

    # Work slung to the dog's address: it is working, and remove refuses.
    work = town.ledger.create("groom the yard", actor="overseer")
    slung = json.loads(gt("sling", work.id, "deacon/dogs/rex", "--json").stdout)
    assert (slung["target"], slung["session_status"]) == ("deacon/dogs/rex", "nudged")
    rex = _dogs(gt)["rex"]
    assert (rex["state"], rex["hook"]) == ("working", [work.id])
    refused = gt("dog", "remove", "rex", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"gt: error: dog 'rex' is working ({work.id} on its hook): wait for it, or pass --force"
    assert "rex" in _dogs(gt)

    assert "Stopped deacon/dogs/rex" in gt("dog", "stop", "rex").stdout
    rex = _dogs(gt)["rex"]
    assert (rex["alive"], rex["agent_state"]) == (False, "stopped")
    assert "was not running" in gt("dog", "stop", "rex").stdout

    gt("dog", "start", "rex")
    wait_for(lambda: _dogs(gt)["rex"]["alive"], what="rex's session again")
    gt("dog", "remove", "rex", "--force")
    assert _dogs(gt) == {}
    assert not (town_root / "dogs" / "rex").exists()
    assert not town.ledger.exists("hq-dog-rex")
    assert not town.tmux.has("hq-dog-rex")
    gone = town.ledger.get(work.id)
    assert gone.status == "closed" and "abandoned" in gone.close_reason
    assert "result:abandoned" in town.ledger.labels(work.id)

    # The name is free again.
    gt("dog", "add", "rex")
    assert _dogs(gt)["rex"]["state"] == "idle"


def test_bad_dog_commands_are_one_line(gt):
    gt("dog", "add", "fido")
    for argv, expected in [
        (("dog", "add", "fido"), "gt: error: dog 'fido' already exists"),
        (("dog", "add", "Bad_Name"), "gt: error: bad dog name 'Bad_Name'"),
        (("dog", "remove", "nobody"), "gt: error: no dog 'nobody' (dogs: fido; gt dog add nobody)"),
        (("dog", "start", "nobody"), "gt: error: no dog 'nobody'"),
        (("dog", "stop", "nobody"), "gt: error: no dog 'nobody'"),
    ]:
        proc = gt(*argv, check=False)
        assert proc.returncode == 1, argv
        assert proc.stderr.startswith(expected), proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_sling_to_an_unknown_dog_is_refused(gt, town):
    work = town.ledger.create("walk", actor="overseer")
    proc = gt("sling", work.id, "deacon/dogs/nobody", check=False)
    assert (proc.returncode, proc.stderr) == (1, "gt: error: no dog 'nobody': gt dog add nobody\n")
    assert town.ledger.get(work.id).status == "open"
