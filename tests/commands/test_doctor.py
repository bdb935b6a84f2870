"""gt doctor: a real town with a rig, broken on purpose in every way doctor checks; the real CLI."""

import json
import os
import stat
import subprocess
import time

from town_helpers import GT, js, make_repo, one_error_line


def _findings(proc):
    return {(f["check"], f["severity"]): f for f in js(proc)["findings"]}


def test_doctor_finds_each_problem_says_how_to_fix_and_fixes_the_safe_ones(tmp_path, town_root, gt):
    gt("rig", "add", "app", str(make_repo(tmp_path / "src")))
    healthy = gt("doctor", "--json")
    report = js(healthy)
    assert report["ok"] is True and report["errors"] == 0
    assert {f["check"] for f in report["findings"] if f["severity"] == "ok"} >= {
        "config", "ledger", "ledger-writable", "permissions", "blocked-cache", "tmux", "runtimes", "messaging", "rigs"}
    assert _findings(healthy)[("daemon", "warning")]["fix"].startswith("gt daemon start")

    repo = town_root / "app" / "repo"
    # A worktree whose directory was deleted, a stale git index.lock, a stray polecat dir.
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "-q", "-b", "gone", str(tmp_path / "gone")], check=True)
    subprocess.run(["rm", "-rf", str(tmp_path / "gone")], check=True)
    lock = repo / ".git" / "index.lock"
    lock.write_text("")
    os.utime(lock, (time.time() - 600, time.time() - 600))
    (town_root / "app" / "polecats" / "stray").mkdir(parents=True)
    # A daemon pid file naming a dead process.
    dead = subprocess.Popen(["true"])
    dead.wait()
    (town_root / ".gastown" / "daemon.pid").write_text(str(dead.pid))
    # A world-writable ledger, a broken messaging.json, a runtime not on PATH, a wrong blocked cache.
    os.chmod(town_root / ".gastown" / "ledger.db", 0o666)
    (town_root / "settings" / "messaging.json").write_text('{"lists": {"ops": 7}}')
    gt("config", "agent", "set", "ghost", "/nonexistent/ghost-agent")
    gt("config", "agent", "default", "ghost", "--role", "polecat")
    bead = js(subprocess.run([GT[0], "-m", "gastown_server.cli.bd", "create", "x", "--json"],
                       cwd=town_root, capture_output=True, text=True))["id"]
    import sqlite3
    with sqlite3.connect(town_root / ".gastown" / "ledger.db") as db:
        db.execute("UPDATE issues SET is_blocked = 1 WHERE id = ?", (bead,))

    sick = gt("doctor", "--json", check=False)
    assert sick.returncode == 1
    report = js(sick)
    assert report["ok"] is False and report["errors"] == 3, report  # messaging, runtimes, blocked cache
    f = _findings(sick)
    assert "ops" in f[("messaging", "error")]["message"] and "messaging.json" in f[("messaging", "error")]["fix"]
    assert "ghost" in f[("runtimes", "error")]["message"] and "polecat" in f[("runtimes", "error")]["message"]
    assert bead in f[("blocked-cache", "error")]["message"] and f[("blocked-cache", "error")]["fixable"]
    # Opening the ledger (bd create above, doctor itself) makes .gastown/ 0700 and the ledger 0600
    # again (beads.store.secure_state), so the world-writable ledger is fixed, not reported.
    assert ("permissions", "warning") not in f
    assert stat.S_IMODE((town_root / ".gastown" / "ledger.db").stat().st_mode) == 0o600
    worktree_msgs = [x["message"] for x in report["findings"] if x["check"] == "worktrees"]
    assert any("gone" in m for m in worktree_msgs) and any("stray" in m for m in worktree_msgs)
    stale = [x for x in report["findings"] if x["check"] == "stale-locks"]
    assert {os.path.basename(x["path"]) for x in stale} == {"index.lock", "daemon.pid"}
    text = gt("doctor", check=False)
    assert text.returncode == 1 and "✗ runtimes:" in text.stdout and "    fix: " in text.stdout

    fixed = gt("doctor", "--fix", "--json", check=False)
    done = {x["check"] for x in js(fixed)["findings"] if x["fixed"]}
    assert done == {"blocked-cache", "stale-locks", "worktrees"}
    assert not lock.exists() and not (town_root / ".gastown" / "daemon.pid").exists()
    assert "gone" not in subprocess.run(["git", "-C", str(repo), "worktree", "list"], capture_output=True, text=True).stdout
    with sqlite3.connect(town_root / ".gastown" / "ledger.db") as db:
        assert db.execute("SELECT is_blocked FROM issues WHERE id = ?", (bead,)).fetchone() == (0,)

    # What doctor cannot fix by itself, done by hand as its fix lines say: exit 0 again.
    (town_root / "settings" / "messaging.json").unlink()
    gt("config", "agent", "default", "script", "--role", "polecat")
    os.chmod(town_root / ".gastown" / "ledger.db", 0o644)
    assert js(gt("doctor", "--json", "--check", "messaging", "--check", "runtimes"))["ok"] is True
    one_error_line(gt("doctor", "--check", "nope", check=False), "unknown doctor check", "nope")

    # A ledger that is not a database: one finding, exit 1, no traceback.
    (town_root / ".gastown" / "ledger.db").write_bytes(b"garbage" * 200)
    for side in ("ledger.db-wal", "ledger.db-shm"):
        (town_root / ".gastown" / side).unlink(missing_ok=True)
    broken = gt("doctor", "--json", check=False)
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert "not readable" in _findings(broken)[("ledger", "error")]["message"]


def test_doctor_outside_a_town(tmp_path, socket_name):
    proc = subprocess.run([*GT, "doctor"], cwd=tmp_path, capture_output=True, text=True)
    one_error_line(proc, "not in a town")
    assert json.loads(subprocess.run([*GT, "version", "--json"], capture_output=True, text=True).stdout)["version"]
