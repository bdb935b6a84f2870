"""Gas Town's verbs from role prompts and formulas, as the real `gt` in a real town (real git, real
ledger, real tmux on a throwaway socket): the effects in the ledger and on disk, --json shapes, and
bad input as one line, exit 1."""

import json
import os
import subprocess

import pytest

from gastown_server.beads.store import Ledger
from town_helpers import GT, js, make_repo, one_error_line

TINY = """formula = "tiny"
version = 1
description = "two steps"
[[steps]]
id = "one"
title = "Step one"
[[steps]]
id = "two"
title = "Step two"
needs = ["one"]
"""


def _bd(town_root, *argv, actor="mayor"):
    env = {**os.environ, "BD_ACTOR": actor}
    proc = subprocess.run([GT[0], "-m", "gastown_server.cli.bd", *argv], cwd=town_root, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.slow
def test_molecule_hook_mail_escalation_and_self_verbs(town_root, gt):
    (town_root / "formulas" / "tiny.formula.toml").write_text(TINY)
    me = {"BD_ACTOR": "mayor"}
    issue = js(_bd(town_root, "create", "Fix it", "--json"))["id"]
    mol = js(_bd(town_root, "mol", "pour", "tiny", "--json"))["id"]

    # hook attach / show / mol attach / status / current / step done / progress
    gt("hook", "attach", issue, env=me)
    assert [b["id"] for b in js(gt("hook", "show", "--json", env=me))["hook"]] == [issue]
    assert js(gt("hook", "--json", env=me))["address"] == "mayor"  # the bare form still shows
    assert js(gt("mol", "attach", mol, "--json", env=me))["molecule"] == mol
    st = js(gt("mol", "status", "--json", env=me))["hook"][0]
    assert (st["bead"], st["molecule"], st["formula"], st["total"], st["closed"]) == (issue, mol, "tiny", 2, 0)
    assert [s["id"] for s in js(gt("mol", "current", "--json", env=me))["steps"]] == [f"{mol}.1"]
    done = js(gt("mol", "step", "done", "--json", env=me))
    assert done["step"] == f"{mol}.1" and [s["id"] for s in done["next"]] == [f"{mol}.2"]
    assert js(gt("mol", "progress", "--json", env=me))["closed"] == 1
    last = js(gt("mol", "step", "done", f"{mol}.2", "--json", env=me))
    assert last["complete"] is True and last["next"] == []
    sig = js(gt("mol", "step", "await-signal", "--agent-bead", "hq-mayor", "--timeout", "0.3s", "--json", env=me))
    assert sig["reason"] == "timeout" and sig["timeout_s"] == 0.3
    # a signal: someone else writes the ledger while the agent waits (its own writes do not wake it)
    waiter = subprocess.Popen([*GT, "mol", "step", "await-signal", "--timeout", "60s", "--json"], cwd=town_root,
                              env={**os.environ, "BD_ACTOR": "mayor"}, stdout=subprocess.PIPE, text=True)
    import time
    time.sleep(1.0)
    _bd(town_root, "create", "own write", actor="mayor")
    time.sleep(0.5)
    assert waiter.poll() is None  # still waiting: that was its own write
    deadline = time.monotonic() + 50  # (the waiter may still be starting on a loaded machine: write until it wakes)
    while waiter.poll() is None and time.monotonic() < deadline:
        _bd(town_root, "create", "news", actor="deacon")
        time.sleep(1.0)
    woke = json.loads(waiter.communicate(timeout=30)[0])
    assert woke["reason"] == "signal" and woke["events"] >= 1 and woke["waited_s"] < 60
    assert js(gt("mol", "detach", "--json", env=me))["molecule"] == ""
    assert js(gt("unsling", "--json", env=me))["unhooked"] == [issue]
    assert js(gt("show", issue, "--json"))[0]["status"] == "open"
    assert js(gt("cat", issue, "--json"))[0]["id"] == issue
    assert issue in [b["id"] for b in js(gt("ready", "--json"))]
    gt("hook", "attach", issue, "deacon")
    assert js(gt("hook", "clear", "deacon", "--json"))["unhooked"] == [issue]
    assert js(gt("close", issue, "-r", "done", "--json"))[0]["status"] == "closed"

    # mail: send --type, peek (does not mark read), mark-read/unread, search, hook, delete; attach-from-mail
    mol2 = js(_bd(town_root, "mol", "pour", "tiny", "--json"))["id"]
    sent = js(gt("mail", "send", "deacon", "-s", "Patrol now", "-m", "Molecule: " + mol2, "--type", "task", "--json", env=me))
    deacon = {"BD_ACTOR": "deacon"}
    peeked = js(gt("mail", "peek", "--json", env=deacon))
    assert peeked["id"] == sent["id"] and peeked["read"] is False
    assert js(gt("mail", "mark-read", sent["id"], "--json", env=deacon))[0]["read"] is True
    assert gt("mail", "peek", env=deacon, check=False).returncode == 1  # nothing unread
    assert js(gt("mail", "mark-unread", sent["id"], "--json", env=deacon))[0]["read"] is False
    assert [m["id"] for m in js(gt("mail", "search", "patrol", "--json", env=deacon))] == [sent["id"]]
    assert js(gt("mail", "search", "patrol", "--from", "overseer", "--json", env=deacon)) == []
    with Ledger(town_root / ".gastown" / "ledger.db") as led:
        assert "mail-type:task" in led.labels(sent["id"])
    assert js(gt("mol", "attach-from-mail", sent["id"], "--json", env=deacon))["molecule"] == mol2
    assert js(gt("mol", "status", "--json", env=deacon))["hook"][0]["molecule"] == mol2
    gt("unsling", mol2, env=deacon)
    note = js(gt("mail", "send", "deacon", "-s", "do this", "--json", env=me))
    assert js(gt("mail", "hook", note["id"], "--json", env=deacon))["hooked"] == note["id"]
    assert [b["id"] for b in js(gt("hook", "--json", env=deacon))["hook"]] == [note["id"]]
    gt("unsling", note["id"], env=deacon)
    assert js(gt("mail", "delete", note["id"], "--json", env=deacon))[0]["status"] == "tombstone"
    assert note["id"] not in [m["id"] for m in js(gt("mail", "inbox", "--json", env=deacon))["messages"]]

    # escalate TEXT -s SEVERITY -m BODY; list / show / ack / close
    esc = js(gt("escalate", "Disk full", "-s", "HIGH", "-m", "refinery cannot write", "--json", env=me))
    assert (esc["severity"], esc["holder"]) == ("high", "deacon") and "refinery cannot write" in esc["description"]
    assert [e["id"] for e in js(gt("escalate", "list", "--json"))] == [esc["id"]]
    assert js(gt("escalate", "ack", esc["id"], "--json", env=deacon))["status"] == "in_progress"
    assert js(gt("escalate", "show", esc["id"], "--json"))["title"] == "Disk full"
    closed = js(gt("escalate", "close", esc["id"], "-r", "cleaned", "--json", env=deacon))
    assert closed["status"] == "closed" and len(closed["mail"]) == 1
    assert js(gt("escalate", "list", "--json")) == []

    # whoami / role / checkpoint / cycle / feed / trail / config / version
    who = js(gt("whoami", "--json", env=me))
    assert (who["address"], who["role"], who["session"], who["source"]) == ("mayor", "mayor", "hq-mayor", "$BD_ACTOR")
    assert js(gt("whoami", "--json"))["role"] == "overseer"
    assert js(gt("role", "--json", env=deacon))["instructions"]
    assert gt("role", "home", env=deacon).stdout.strip() == str(town_root / "deacon")
    assert "witness" in js(gt("role", "list", "--json"))
    cp = js(gt("checkpoint", "write", "--notes", "halfway", "--step", "s1", "--json", env=me))
    assert js(gt("checkpoint", "read", "--json", env=me)) == cp and cp["notes"] == "halfway"
    assert js(gt("checkpoint", "clear", "--json", env=me))["cleared"] is True
    cyc = gt("cycle", "next")
    assert cyc.returncode == 0 and "switch-client -n" in cyc.stdout
    kinds = [e["kind"] for e in js(gt("feed", "--since", "10m", "--json"))]
    assert "escalated" in kinds and "escalation_closed" in kinds
    plain = gt("feed", "--since", "10m", "--plain", "-n", "3").stdout.strip().splitlines()
    assert len(plain) == 3 and "escalation_closed" in "".join(plain)
    assert {i["kind"] for i in js(gt("trail", "--json", "-n", "50"))} >= {"bead", "hook"}
    gt("config", "set", "daemon.heartbeat_s", "12")
    assert js(gt("config", "get", "daemon.heartbeat_s", "--json"))["value"] == 12.0
    assert json.loads((town_root / "settings" / "config.json").read_text())["daemon"]["heartbeat_s"] == 12.0
    assert js(gt("version", "--json"))["program"] == "gt"

    # bad input: one line, exit 1
    one_error_line(gt("config", "set", "daemon.heartbeat_s", "soon", check=False), "daemon.heartbeat_s")
    one_error_line(gt("config", "get", "nope", check=False), "no config key")
    one_error_line(gt("mol", "step", "done", f"{mol}.1", check=False, env=me), "already closed")
    one_error_line(gt("mol", "step", "await-signal", "--backoff-base", "soon", check=False, env=me), "--backoff-base")
    one_error_line(gt("escalate", "x", "-s", "apocalyptic", check=False, env=me), "invalid severity")
    one_error_line(gt("feed", "--since", "ten minutes", check=False), "--since")
    one_error_line(gt("mail", "search", " ", check=False, env=me), "empty")
    one_error_line(gt("hook", "detach", check=False, env=me), "hook is empty")
    one_error_line(gt("mol", "attach-from-mail", closed["mail"][0], check=False, env=me), "names no molecule")
