"""The measured failure, live: work whose gate can never pass sat `hooked` forever, silently.

The demo's town (sample rig, pytest gate, `gt up`, script runtime, patrols on)
with two beads and nobody driving:

* one breaks the rig's tests: its polecat's own test step fails and it sits
  idle at its prompt with the work on its hook;
* one passes in the polecat, but the Refinery's gate fails (only in the
  Refinery's scratch worktree) every time it is resubmitted.

Both must reach the Mayor and the Overseer as escalations with the reason,
each once, with no human action; nothing is merged.
"""

from __future__ import annotations

import subprocess

import pytest
import town_helpers

from gastown_server.beads.store import Ledger
from gastown_server.demo.town import Demo
from gastown_server.runtime.tmux import socket_name
from gastown_server.town import config as town_config
from gastown_server.work import escalation, mail

pytestmark = pytest.mark.slow

BREAKS_TESTS = """Greet with "Yo" (the tests still expect "Hi": this can never pass).

```gt-script
sed -i 's/"Hi, /"Yo, /' textkit/greet.py
```
"""

HARMLESS = """Add a module docstring line to textkit/words.py.

```gt-script
printf '\\n# counted words live here\\n' >> textkit/words.py
```
"""


def test_work_that_cannot_pass_its_gate_is_escalated_to_mayor_and_overseer(tmp_path):
    demo = Demo(tmp_path / "w", verbose=False)
    refinery_fails = (f'case "$PWD" in *gastown-refinery-worktree*) echo "refinery gate: no"; exit 1;; esac; '
                      f"{demo.gate_command()}")  # fmt: skip
    try:
        demo.build(gate=refinery_fails, start=False)
        cfg = town_config.load(demo.town)
        cfg.patrol.idle_after_s, cfg.patrol.stall_grace_s, cfg.patrol.max_gate_failures = 2.0, 2.0, 2
        assert cfg.sandbox.enabled  # the Witness sees its polecats' idleness through the daemon (patrol/panes.py)
        town_config.save(demo.town, cfg)
        demo.run("gt", "up", show=False)
        _convoy, ids = demo.file_work([("Greet with Yo", BREAKS_TESTS), ("Comment words.py", HARMLESS)])
        demo.sling(ids)
        ledger = Ledger(demo.town / ".gastown" / "ledger.db")
        try:
            def both():
                esc = escalation.list_escalations(ledger)
                text = "\n".join(e.title + "\n" + e.description for e in esc)
                return esc if "idle at its prompt" in text and "failed its gate 2 times" in text else None

            try:
                esc = town_helpers.wait_for(both, 90, step=0.5, what="both escalations")
            except AssertionError:
                raise AssertionError([(e.title, e.description) for e in escalation.list_escalations(ledger)]) from None
            assert all(e.holder == "mayor" for e in esc)
            for who in ("mayor", "overseer"):
                subjects = [m.subject for m in mail.inbox(ledger, who) if m.subject.startswith("ESCALATION")]
                for e in esc:
                    assert sum(e.id in s for s in subjects) == 1, (who, subjects)
            idle = next(e for e in esc if "idle at its prompt" in e.description)
            assert ids[0] in idle.description and "Tried: nudged at" in idle.description
            gate = next(e for e in esc if "failed its gate" in e.description)
            assert "refinery gate: no" in gate.description or "tests" in gate.description
            # once each, and nothing reached main
            assert len(escalation.list_escalations(ledger)) == len(esc) == 2
            log = demo.git("log", "--format=%s", "main", cwd=demo.origin)
            assert not any(b in log for b in ids)
        finally:
            ledger.disconnect()
    finally:
        if (demo.town / ".gastown").exists():
            subprocess.run(["gt", "down", "--grace", "1"], cwd=demo.town, env=demo.env, capture_output=True)
            subprocess.run(["tmux", "-L", socket_name(demo.town), "kill-server"], capture_output=True)
