"""End-to-end work lifecycle in a live town: real tmux (throwaway socket), real git, real ledger, script runtime.

The town is the demo's (gastown_server.demo.town.Demo): sample rig with a bare
origin, its pytest suite as the Refinery's gate, `gt up` with a 1 s heartbeat.
Work is slung with the real `gt sling`; the town's own Witness and Refinery
patrols do the rest.

To make the race between polecats deterministic, some tests hold the
Refinery's gate (only in the Refinery's scratch worktree) until every MR is
queued, so all branches are cut from the same main.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
import town_helpers

from gastown_server.beads.store import Ledger
from gastown_server.demo.town import PREFIX, RIG, Demo
from gastown_server.demo.work import BEADS
from gastown_server.runtime.tmux import socket_name
from gastown_server.work import mail
from gastown_server.work import merge_requests as mrs

pytestmark = pytest.mark.slow


def wait_for(pred, timeout, what):
    return town_helpers.wait_for(pred, timeout, step=0.2, what=what)


class LiveTown:
    def __init__(self, tmp: Path) -> None:
        self.demo = Demo(tmp / "w", verbose=False)
        self.town = self.demo.town
        self.hold = tmp / "hold-refinery-gate"
        self._ledger: Ledger | None = None

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self.town / ".gastown" / "ledger.db")
        return self._ledger

    def held_gate(self) -> str:
        """The rig's test suite, held in the Refinery's worktree while the hold file exists."""
        return (f'case "$PWD" in *gastown-refinery-worktree*) while [ -e {self.hold} ]; do sleep 0.1; done;; esac; '
                f"{self.demo.gate_command()}")  # fmt: skip

    def start(self, *, hold: bool = False) -> None:
        if hold:
            self.hold.write_text("held\n")
        self.demo.build(gate=self.held_gate() if hold else None)

    def release_when_queued(self, n: int, timeout: float = 40) -> None:
        wait_for(lambda: len(mrs.queue(self.ledger, RIG, include_closed=True)) >= n, timeout, f"{n} merge requests")
        self.hold.unlink()

    def gt(self, *argv: str) -> str:
        return self.demo.run("gt", *argv, show=False)

    def convoy_landed(self, convoy: str, timeout: float = 60) -> None:
        try:
            wait_for(lambda: self.ledger.get(convoy).status == "closed", timeout, f"convoy {convoy} to land")
        except AssertionError:
            raise AssertionError(self.diagnose()) from None

    def diagnose(self) -> str:
        parts = ["convoy did not land", self.gt("mq", "list", "--all")]
        for log in sorted((self.town / ".gastown" / "transcripts").glob(f"{PREFIX}-*.log")):
            parts.append(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-25:]))
        return "\n".join(parts)

    def main_subjects(self) -> list[str]:
        return self.demo.git("log", "--format=%s", "main", cwd=self.demo.origin).splitlines()

    def main_file(self, path: str) -> str:
        return self.demo.git("show", f"main:{path}", cwd=self.demo.origin)

    def polecat_of(self, bead: str) -> str:
        return wait_for(lambda: self.ledger.get(bead).assignee, 10, f"{bead} to be assigned")

    def session_of(self, address: str) -> str:
        return f"{PREFIX}-{address.rsplit('/', 1)[1]}"

    def transcript(self, session: str) -> str:
        p = self.town / ".gastown" / "transcripts" / f"{session}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def teardown(self) -> None:
        if self._ledger is not None:
            self._ledger.disconnect()
        if self.hold.exists():
            self.hold.unlink()
        if (self.town / ".gastown").exists():
            subprocess.run(["gt", "down", "--grace", "1"], cwd=self.town, env=self.demo.env, capture_output=True)
            subprocess.run(["tmux", "-L", socket_name(self.town), "kill-server"], capture_output=True)


@pytest.fixture
def live(tmp_path):
    town = LiveTown(tmp_path)
    yield town
    town.teardown()


def _each_once(subjects: list[str], beads: list[str]) -> None:
    for bead in beads:
        assert sum(s.endswith(f"({bead})") for s in subjects) == 1, (bead, subjects)


def test_three_polecats_one_conflict_reworked_and_merged_once(live):
    live.start(hold=True)
    convoy, ids = live.demo.file_work()
    live.demo.sling(ids)
    polecats = {live.polecat_of(b) for b in ids}
    assert len(polecats) == 3  # three polecats, one bead each
    live.release_when_queued(3)
    live.convoy_landed(convoy)

    subjects = live.main_subjects()
    _each_once(subjects, ids)
    assert len(subjects) == 4  # the initial commit + one per bead, nothing twice
    # both greeting changes are there, whichever went first
    assert 'return f"Hello, {name.title()}!"' in live.main_file("textkit/greet.py")
    assert "def word_count" in live.main_file("textkit/words.py")
    # exactly one of the two greeting MRs hit the conflict and was reworked
    merged = {mr.meta.issue: mr for mr in mrs.queue(live.ledger, RIG, include_closed=True)}
    assert {mr.status for mr in merged.values()} == {"closed"}
    reworked = [b for b in ids[1:] if any(j.event == "rework_requested" for j in merged[b].meta.journal)]
    assert len(reworked) == 1, [[j.event for j in merged[b].meta.journal] for b in ids]
    victim = live.ledger.get(reworked[0]).assignee
    assert any(m.subject.startswith("REWORK_REQUEST") for m in mail.inbox(live.ledger, victim))
    assert "script applied again" in live.transcript(live.session_of(victim))


def test_polecat_killed_mid_work_is_restored_and_finishes(live):
    live.start()
    slow = ("Add shout_twice (slow to write)", BEADS[0][1].replace("```gt-script\n", "```gt-script\nsleep 4\n", 1))
    convoy, ids = live.demo.file_work([slow])
    live.demo.sling(ids)
    polecat = live.polecat_of(ids[0])
    session = live.session_of(polecat)
    wait_for(lambda: "gt apply" in live.transcript(session), 20, "the polecat to start implementing")
    pid = int(subprocess.run(["tmux", "-L", socket_name(live.town), "display-message", "-p", "-t", session,
                              "#{pane_pid}"], capture_output=True, text=True, check=True).stdout)  # fmt: skip
    os.kill(pid, signal.SIGKILL)
    # a second session takes over the hook and resumes at the step that was cut off
    try:
        wait_for(lambda: live.transcript(session).count("=== gastown session ") >= 2, 30, "a replacement session")
    except AssertionError:
        raise AssertionError(live.diagnose()) from None
    live.convoy_landed(convoy, timeout=60)

    _each_once(live.main_subjects(), ids)
    assert live.main_file("textkit/words.py").count("def word_count") == 1
    agent_bead = f"{PREFIX}-polecat-{polecat.rsplit('/', 1)[1]}"
    starts = [e for e in live.ledger.events_since(0, limit=100000) if e.kind == "session_started" and e.bead_id == agent_bead]
    assert len(starts) >= 2, [e.payload for e in starts]


def test_daemon_killed_mid_convoy_gt_up_lands_it_without_lost_or_double_merges(live):
    live.start(hold=True)
    convoy, ids = live.demo.file_work()
    live.demo.sling(ids)
    pid_file = live.town / ".gastown" / "daemon.pid"
    old_pid = int(pid_file.read_text())
    os.kill(old_pid, signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{old_pid}").exists() or "zombie" in Path(f"/proc/{old_pid}/status").read_text().lower(),
             5, "the daemon to die")  # fmt: skip
    live.gt("up")
    new_pid = int(pid_file.read_text())
    assert new_pid != old_pid and Path(f"/proc/{new_pid}").exists()
    live.release_when_queued(3)
    live.convoy_landed(convoy)

    subjects = live.main_subjects()
    _each_once(subjects, ids)
    assert len(subjects) == 4
    for mr in mrs.queue(live.ledger, RIG, include_closed=True):
        assert mr.status == "closed" and mr.close_reason.startswith("merged"), (mr.id, mr.status, mr.close_reason)
        assert [j.event for j in mr.meta.journal].count("merged") == 1, mr.meta.journal
        merged_mail = [m for m in mail.inbox(live.ledger, mr.meta.polecat) if m.subject.startswith("MERGED")]
        assert len(merged_mail) == 1, [m.subject for m in merged_mail]


RENAME = """Rename shout to yell.

```gt-script
sed -i 's/def shout/def yell/' textkit/words.py
sed -i 's/shout/yell/g' textkit/__init__.py tests/test_words.py
```
"""

USES_SHOUT = """Test shout on an empty string.

```gt-script
cat > tests/test_shout_empty.py <<'EOF'
from textkit import shout


def test_shout_empty():
    assert shout("") == "!"
EOF
```
"""


def test_gate_failure_reaches_the_polecat_as_merge_failed(live):
    # Each change passes alone; together the suite breaks (a semantic conflict git cannot see).
    live.start(hold=True)
    convoy, ids = live.demo.file_work([("Rename shout to yell", RENAME), ("Test shout on empty text", USES_SHOUT)])
    live.demo.sling(ids)
    live.release_when_queued(2)

    def failed_mail():
        for bead in ids:
            who = live.ledger.get(bead).assignee
            got = [m for m in mail.inbox(live.ledger, who) if m.subject.startswith("MERGE_FAILED")] if who else []
            if got:
                return bead, got[0]
        return None

    bead, msg = wait_for(failed_mail, 60, "MERGE_FAILED in a polecat's inbox")
    assert "Failure-Type: tests" in msg.body
    assert f"Issue: {bead}" in msg.body
    assert "failed" in msg.body.lower() or "error" in msg.body.lower()
    # main got exactly the other change, and nothing of the failed one
    subjects = live.main_subjects()
    other = next(b for b in ids if b != bead)
    _each_once(subjects, [other])
    assert not any(s.endswith(f"({bead})") for s in subjects)
    branch = msg.body.split("Branch: ", 1)[1].split()[0]
    mr = mrs.pending_for_branch(live.ledger, RIG, branch)
    assert mr is not None and mr.meta.issue == bead  # still pending: nothing lost, nothing merged
    assert live.ledger.get(convoy).status != "closed"
