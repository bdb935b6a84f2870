"""Every verb the issue lists from Gas Town's role templates and formulas (and Beads') is a command here
with help text: `gt <verb> --help` / `bd <verb> --help` exits 0 and describes it (in-process: fast)."""

import contextlib
import io

import pytest

from gastown_server.cli import bd, gt

GT_VERBS = [
    "mol status", "mol current", "mol progress", "mol step", "mol squash", "mol burn", "mol attach",
    "mol attach-from-mail", "hook", "hook show", "hook attach", "hook detach", "hook clear",
    "mail peek", "mail mark-read", "mail mark-unread", "mail delete", "mail search", "mail hook", "mail send",
    "whoami", "role", "checkpoint", "cycle", "polecat status", "polecat git-state", "polecat check-recovery",
    "polecat remove", "polecat list", "escalate", "escalate ack", "escalate close", "escalate list", "escalate show",
    "mq submit", "mq status", "mq list", "mq retry", "mq reject", "version", "doctor", "config get", "config set",
    "feed", "show", "cat", "close", "ready", "unsling", "trail", "done", "handoff", "peek", "boot triage",
    "boot spawn", "boot status", "session status", "session stop", "worktree list", "worktree remove",
    "rig park", "rig unpark", "rig stop", "rig start", "rig boot", "rig shutdown", "dog done",
]
BD_VERBS = [
    "update", "new", "prime", "gate create", "gate list", "gate show", "gate check", "gate resolve",
    "gate add-waiter", "swarm create", "swarm list", "swarm status", "children", "epic status",
    "epic close-eligible", "defer", "undefer", "note", "assign", "priority", "tag", "link", "supersede",
    "duplicate", "set-state", "kv set", "kv get", "kv list", "kv delete", "count", "version",
]
FLAGS = {
    "done": ["--status", "--pre-verified", "--cleanup-status"], "handoff": ["-y", "-s", "-m"],
    "escalate": ["-s", "-m"], "peek": ["--lines"], "mail send": ["--type"], "boot triage": ["--degraded"],
    "feed": ["--since", "--plain"], "mol step": ["await-signal", "--backoff-base", "--agent-bead"],
    "update": ["--add-label", "--remove-label", "--set-labels"],
}


def _help(main, verb):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exc:
        main([*verb.split(), "--help"])
    return exc.value.code, out.getvalue()


@pytest.mark.parametrize("main,verbs", [(gt.main, GT_VERBS), (bd.main, BD_VERBS)], ids=["gt", "bd"])
def test_every_listed_verb_has_help_and_its_flags(main, verbs):
    for verb in verbs:
        code, text = _help(main, verb)
        assert code == 0 and "usage:" in text, verb
        body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
        assert body.strip(), f"{verb}: no description"
        for flag in FLAGS.get(verb, []):
            assert flag in text, (verb, flag)
