"""Every invocation issue 12 names (from Gas Town's role templates and formulas, and Beads'), written as
the prompts write it, is accepted by our command line: no "unknown command", no unrecognized flag, no
missing argument.  Parsed by the real parsers in-process (fast); the effects of running them in a real
town are in test_gt_verbs.py, test_gt_town_verbs.py, test_doctor.py, tests/beads/test_bd_verbs.py,
tests/work/test_mq_verbs.py, tests/town/test_mail_check_inject.py, tests/costs/test_claude_costs.py and
tests/formulas/test_cli.py."""

import contextlib
import importlib
import io
import shlex

import pytest

from gastown_server.cli import bd, framework, gt

GT_CALLS = """
mol status
mol status --json
mol current
mol progress
mol step done
mol squash
mol burn
mol attach gt-abc
hook
hook show
hook attach gt-abc
hook detach
hook clear
mail check
mail check --inject
mail peek
mail mark-read hq-1
mail mark-unread hq-1
mail delete hq-1
mail search patrol
mail inbox
mail read hq-1
whoami
role
checkpoint
checkpoint write --notes x
cycle
cycle next
polecat status gastown/nux
escalate ack hq-1
escalate close hq-1
escalate list
escalate show hq-1
mq submit
mq status gt-1
mq list
mq retry gt-1
mq reject gt-1 --reason 'tests fail'
costs record
prime --hook
prime
version
doctor
doctor --fix
config get daemon.heartbeat_s
config set daemon.heartbeat_s 12
feed
show gt-abc
cat gt-abc
close gt-abc
ready
unsling
trail
done
done --status MERGED --pre-verified --cleanup-status clean
done --status ESCALATED
done --status DEFERRED
handoff -y -s subject -m body
escalate "Disk full" -s HIGH -m body
peek gastown/witness --lines 50
polecat list gastown
mq list gastown
mail send mayor/ --type task -s subject -m body
mail hook hq-1
boot triage --degraded
boot spawn
boot status
polecat git-state gastown/nux
polecat check-recovery gastown/nux
polecat remove gastown/nux
session status gastown/witness
session stop gastown/witness
worktree list
worktree remove gastown/nux
feed --since 10m --plain
rig park gastown
rig unpark gastown
rig stop gastown
rig start gastown
rig boot gastown
rig shutdown gastown
dog done
mol attach-from-mail hq-1
mol step await-signal
formula run mol-polecat-work --issue=gt-1
formula run mol-polecat-work --var issue=gt-1
"""
BD_CALLS = """
update bd-1 --add-label x
update bd-1 --remove-label x
update bd-1 --set-labels a,b
new "A title"
prime
gate create
gate list
gate show bd-1
gate check
gate resolve bd-1
gate add-waiter bd-1 mayor/
swarm create bd-1
swarm list
swarm status bd-1
children bd-1
epic status
defer bd-1
undefer bd-1
note bd-1 "a note"
assign bd-1 mayor
priority bd-1 1
tag bd-1 urgent
link bd-1 bd-2
supersede bd-1 --with bd-2
duplicate bd-1 --of bd-2
set-state bd-1 mode=degraded
kv set k v
kv get k
count
version
cook mol-x
cook mol-x --mode=runtime
cook mol-x --var a=b
cook mol-x --search-path /tmp
"""


def _refusal(prog: str, table: dict, line: str) -> str | None:
    """Why ``prog line`` would be refused before its handler runs, or None."""
    argv = shlex.split(line)
    word = framework._first_word(argv)
    err = io.StringIO()
    try:
        if word not in table:
            return f"unknown command {word!r}"
        parser = framework._build_parser(prog, word, importlib.import_module(table[word].module).COMMANDS, argv)
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "_extra_ok", False):
            return f"unrecognized arguments: {' '.join(extra)}"
    except (framework.UsageError, SystemExit) as exc:
        return f"{exc} {err.getvalue().strip()}".strip()
    return None


@pytest.mark.parametrize("prog,table,calls", [("gt", gt.TABLE, GT_CALLS), ("bd", bd.TABLE, BD_CALLS)], ids=["gt", "bd"])
def test_every_invocation_the_prompts_use_is_accepted(prog, table, calls):
    refused = [f"{prog} {line}: {why}" for line in calls.strip().splitlines() if (why := _refusal(prog, table, line))]
    assert refused == []


@pytest.mark.parametrize("line, why", [
    ("mol nosuch", "invalid choice"), ("frobnicate", "unknown command"), ("done --no-such-flag", "unrecognized"),
    ("mq reject gt-1", "--reason"),
])
def test_the_check_catches_what_would_be_refused(line, why):
    assert why in (_refusal("gt", gt.TABLE, line) or "")
