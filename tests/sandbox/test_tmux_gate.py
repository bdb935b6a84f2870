"""The tmux escape is closed: a sandboxed Mayor (a real session, script runtime, real bwrap and
tmux) cannot make the town's tmux server run a command outside, while its ``gt nudge``,
``gt peek`` and ``gt status`` still work through its tmux gate.

The probe is the Mayor's own hooked bead: the script agent runs it in its sandboxed session.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap

import pytest
from town_helpers import make_repo, transcript, wait_for

from gastown_server.sandbox import tmux_gate
from gastown_server.town import rigs
from gastown_server.town.lifecycle import start_agent, stop_agent
from gastown_server.work import hooks

pytestmark = pytest.mark.slow


def _gate_request(req: dict) -> str:
    """Python one-liner the agent runs: send ``req`` to its gate, print the reply."""
    code = (  # the gate starts just after the session: a raw client waits for its socket too
        "import json,socket,os,time\nfor _ in range(300):\n try:\n"
        "  s=socket.socket(socket.AF_UNIX);s.connect(os.environ['GT_TMUX_GATE']);break\n"
        " except OSError: time.sleep(0.1)\n"
        f"s.sendall(json.dumps({req!r}).encode()+b'\\n');print(s.makefile().readline().strip())"
    )
    return f"python -c {shlex.quote(code)}"


def test_sandboxed_mayor_cannot_escape_through_tmux_but_nudges_and_peeks(town, tmp_path):
    rigs.add(town, "alpha", str(make_repo(tmp_path / "src")), prefix="al")
    assert start_agent(town, "alpha/polecats/nux").status == "started"
    wait_for(lambda: "ready for input" in transcript(town.root, "al-nux"), timeout=60, what="the polecat up")
    # A human's window in the polecat's session: a shell outside every sandbox.
    human = subprocess.run(["tmux", "-L", town.socket, "new-window", "-d", "-t", "=al-nux:", "-P", "-F", "#{pane_id}", "sh"],
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    escaped = tmp_path / "escaped"  # outside the town: no sandbox sees it; the tmux server would
    sock = f"/tmp/tmux-{os.getuid()}/{town.socket}"
    touch = f"touch {escaped}"
    probes = [
        f"tmux -S {sock} run-shell '{touch}'",
        f"tmux -L {town.socket} run-shell '{touch}'",
        f"tmux -L {town.socket} new-window '{touch}'",
        _gate_request({"op": "run", "args": ["run-shell", touch]}),
        _gate_request({"op": "run", "args": ["new-window", "-d", "-t", "=al-nux:", "--", "sh", "-c", touch]}),
        _gate_request({"op": "run", "args": ["display-message", "-p", "-t", "%0", f"#({touch})"]}),
        _gate_request({"op": "run", "args": ["list-sessions", "-F", f"#({touch})"]}),
        _gate_request({"op": "run", "args": ["has-session", "-t", "al-nux;", "run-shell", touch]}),
        _gate_request({"op": "run", "args": ["send-keys", "-t", human, "-l", "--", touch, ";", "send-keys", "-t", human, "Enter"]}),
        _gate_request({"op": "run", "args": ["set-hook", "-g", "session-created", f"run-shell '{touch}'"]}),
        _gate_request({"op": "start", "name": "hq-x", "command": ["/bin/sh", "-c", touch], "cwd": "/",
                       "env": {"GT_ROLE": "mayor", "LD_PRELOAD": "/nonexistent.so"}}),
    ]
    lines = "\n".join(f"echo '== probe {i}'; {p} 2>&1" for i, p in enumerate(probes))
    command = textwrap.dedent(f"""\
        ( {lines}
          echo '== nudge'; gt nudge alpha/polecats/nux "hello from the sandboxed mayor" 2>&1
          echo '== peek'; gt peek alpha/polecats/nux -n 5 2>&1
          echo '== status'; gt status 2>&1 | grep -E 'al-nux|alpha/polecats/nux'
          echo '== start'; gt polecat start furiosa --rig alpha 2>&1
          echo '== stop'; T0=$(date +%s%N); gt session stop alpha/polecats/nux --grace 20 2>&1; echo "took $(( ($(date +%s%N) - T0) / 1000000 )) ms"
          echo '== end'
        ) > gate-probe.out 2>&1""")
    bead = town.ledger.create("probe the tmux gate", actor="overseer", metadata=json.dumps({"run": command}))
    hooks.hook(town.ledger, bead.id, "mayor", actor="overseer")
    assert start_agent(town, "mayor").status == "started"
    out_file = town.root / "mayor" / "gate-probe.out"
    out = wait_for(lambda: out_file.exists() and "== end" in out_file.read_text() and out_file.read_text(),
                   timeout=90, what="the mayor's probe report")  # fmt: skip
    assert not escaped.exists(), out
    sections = {s.split("\n", 1)[0]: s for s in out.split("== ")[1:]}
    # No tmux socket in the sandbox: the tmux client finds no server.
    for i in range(3):
        assert "no server running" in sections[f"probe {i}"] or "error connecting" in sections[f"probe {i}"], out
    # The gate's refusals are one line each, naming what was refused.
    for i in range(3, len(probes)):
        assert '"rc": 1' in sections[f"probe {i}"] and "refused by the tmux gate" in sections[f"probe {i}"], out
    assert "tmux run-shell is not allowed from a sandbox" in sections["probe 3"]
    assert "'#(' is not allowed" in sections["probe 5"] and "'#(' is not allowed" in sections["probe 6"]
    assert "ends in an unescaped ';'" in sections["probe 7"]
    assert f"{human} is not an agent's pane" in sections["probe 8"]
    assert "tmux set-hook is not allowed" in sections["probe 9"]
    assert "may not" in sections["probe 10"] or "is not" in sections["probe 10"], out
    # What the Mayor is for still works.
    assert "delivered to alpha/polecats/nux" in sections["nudge"], out
    wait_for(lambda: "got: hello from the sandboxed mayor" in transcript(town.root, "al-nux"), timeout=30,
             what="the nudge typed into the polecat")  # fmt: skip
    assert "ready for input" in sections["peek"] or "al-nux" in sections["peek"] or "nux" in sections["peek"], out
    assert "al-nux" in sections["status"] or "alpha/polecats/nux" in sections["status"], out
    info = json.loads((town.root / ".gastown" / "sandbox" / "hq-mayor.json").read_text())
    assert info["tmux"] is True and info["enabled"] is True
    # A session started from inside: the gate built its sandbox (a polecat's: no tmux, its worktree).
    wait_for(lambda: "ready for input" in transcript(town.root, "al-furiosa"), timeout=60, what="furiosa started by the mayor")
    box = json.loads((town.root / ".gastown" / "sandbox" / "al-furiosa.json").read_text())
    assert box["enabled"] is True and box["tmux"] is False
    assert str(town.root / "alpha" / "polecats" / "furiosa") in box["rw"]
    stop_agent(town, "alpha/polecats/furiosa", grace_s=2)
    # The stop from inside reached the polecat's agent as a SIGTERM (signalled by the gate, outside,
    # where the pane's pid means that process): it ended well before the 20 s grace and its kill-pane.
    assert "stopped alpha/polecats/nux" in sections["stop"], out
    took = int(sections["stop"].split("took ")[1].split()[0])
    assert took < 10000, out
    assert town.tmux.gastown_pane("al-nux") is None  # the agent's pane is gone (the human's window stays)
    stop_agent(town, "mayor", grace_s=2)


def test_gate_check_refuses_what_runs_commands():
    panes = {"%3"}
    ok = [
        ["list-panes", "-a", "-F", "#{session_name}\t#{pane_id}"],
        ["send-keys", "-t", "%3", "-l", "--", "text with #(not a format) in it"],
        ["send-keys", "-t", "%3", "Enter"],
        ["send-keys", "-t", "%3", "-N", "4", "BSpace"],
        ["capture-pane", "-p", "-J", "-t", "%3", "-S", "-50"],
        ["set-option", "-t", "=al-nux:", "@gt_busy", "Working"],
        ["show-options", "-v", "-q", "-t", "=al-nux:", "@gt_transcript"],
    ]
    for cmd in ok:
        tmux_gate.check(cmd, panes)
    bad = [
        ["run-shell", "true"], ["if-shell", "true", "x"], ["pipe-pane", "-t", "%3", "cat"],
        ["send-keys", "-t", "%4", "-l", "x"],  # not a gastown pane (a human's)
        ["send-keys", "-t", "%3", "C-c"], ["capture-pane", "-t", "%3"],
        ["set-option", "-g", "default-command", "sh"], ["set-option", "-t", "=x:", "status-left", "#(id)"],
        ["new-window", "-d", "--", "sh"], ["kill-server"], ["source-file", "/tmp/x"],
        ["display-message", "-p", "-t", "%3", "#(id)"],
        # which pane is an agent's, and where its output goes: set only outside
        ["set-option", "-t", "=al-nux:", "@gt_pane", "%4"], ["set-option", "-t", "=al-nux:", "@gt_transcript", "/x"],
    ]
    for cmd in bad:
        with pytest.raises(tmux_gate.GateError):
            tmux_gate.check(cmd, panes)
    with pytest.raises(tmux_gate.GateError):
        tmux_gate.split(["has-session", "-t", "x;", "run-shell", "id"])


def test_gate_starts_only_what_its_session_may(town, tmp_path):
    from gastown_server.town import config as town_config

    rigs.add(town, "alpha", str(make_repo(tmp_path / "a")), prefix="al")
    rigs.add(town, "beta", str(make_repo(tmp_path / "b")), prefix="be")
    gate = tmux_gate.Gate(town=str(town.root), session="al-witness", tmux_socket=town.socket, tmux="tmux")

    def start(address, name, command=None):
        ident = town.identity(address)
        req = {"op": "start", "name": name, "command": command or [sys.executable, "-m", "x"],
               "cwd": str(tmp_path), "env": {"GT_ROLE": ident.address}}  # fmt: skip
        with pytest.raises(tmux_gate.GateError) as err:
            gate.lifecycle(req)
        return str(err.value)

    assert "may start only its rig's" in start("beta/polecats/nux", "be-nux")  # another rig's polecat
    assert "may start only its rig's" in start("mayor", "hq-mayor")
    assert "is not 'alpha/polecats/nux''s" in start("alpha/polecats/nux", "be-nux")  # name and address disagree
    assert "not its runtime's" in start("alpha/polecats/nux", "al-nux", ["/bin/sh", "-c", "id"])
    town_config.set_sandbox(town.root, enabled=False)
    assert "sandboxes are off" in start("alpha/polecats/nux", "al-nux")
    assert not town.tmux.has("al-nux") and not town.tmux.has("be-nux")


def test_a_sandbox_cannot_mark_a_humans_pane_as_an_agents_and_type_into_it(town, tmp_path):
    """Real tmux, the real gate: set-option @gt_pane on a human's session, then send-keys into its shell."""
    human = subprocess.run(["tmux", "-L", town.socket, "new-session", "-d", "-s", "human", "-P", "-F", "#{pane_id}", "sh"],
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    gate = tmux_gate.Gate(town=str(town.root), session="hq-mayor", tmux_socket=town.socket, tmux="tmux")
    escaped = tmp_path / "escaped"
    refused = []
    for args in (["set-option", "-t", "=human:", "@gt_pane", human],
                 ["send-keys", "-t", human, "-l", f"touch {escaped}"], ["send-keys", "-t", human, "Enter"]):  # fmt: skip
        try:
            gate.run(args)
        except tmux_gate.GateError as exc:
            refused.append(str(exc))
    import time

    time.sleep(1.0)  # (the human's shell would have run it by now)
    assert not escaped.exists(), refused
    assert refused[0] == "tmux set-option: @gt_pane is set only by gastown outside the sandbox"
    assert len(refused) == 3 and all(f"{human} is not an agent's pane" in r for r in refused[1:]), refused


def test_a_witness_gate_stops_only_its_rigs_sessions_and_never_a_humans_panes(town, tmp_path):
    """Real tmux, the real gate of alpha's Witness: beta's polecat and the Mayor are not its to stop."""
    rigs.add(town, "alpha", str(make_repo(tmp_path / "a")), prefix="al")
    rigs.add(town, "beta", str(make_repo(tmp_path / "b")), prefix="be")
    for name in ("be-nux", "hq-mayor", "al-nux"):
        subprocess.run(["tmux", "-L", town.socket, "new-session", "-d", "-s", name, "sleep 300"], check=True)
    gate = tmux_gate.Gate(town=str(town.root), session="al-witness", tmux_socket=town.socket, tmux="tmux")
    refused = []
    for attempt in (lambda: gate.stop({"op": "stop", "name": "be-nux", "grace_s": 0}),
                    lambda: gate.run(["kill-session", "-t", "=hq-mayor"]),
                    lambda: gate.stop({"op": "stop", "name": "al-nux", "kill_user_panes": True})):  # fmt: skip
        try:
            attempt()
        except tmux_gate.GateError as exc:
            refused.append(str(exc))
    assert town.tmux.has("be-nux") and town.tmux.has("hq-mayor") and town.tmux.has("al-nux"), refused
    assert refused == ["alpha/witness may stop only its rig's sessions, not be-nux",
                       "alpha/witness may stop only its rig's sessions, not hq-mayor",
                       "al-nux: a human's panes are not a sandbox's to kill"]  # fmt: skip
    assert gate.run(["kill-session", "-t", "=al-nux"])["rc"] == 0 and not town.tmux.has("al-nux")


def test_a_witness_gate_reads_and_types_into_no_other_rigs_pane(town, tmp_path):
    """Real tmux, the real gate of alpha's Witness: beta's polecat's pane is beta's (its code on screen)."""
    rigs.add(town, "alpha", str(make_repo(tmp_path / "a")), prefix="al")
    rigs.add(town, "beta", str(make_repo(tmp_path / "b")), prefix="be")
    pane = {}
    for name in ("be-nux", "hq-mayor", "al-nux"):
        pane[name] = subprocess.run(["tmux", "-L", town.socket, "new-session", "-d", "-s", name, "-P", "-F", "#{pane_id}",
                                     "echo secret-of-" + name + "; sleep 300"], capture_output=True, text=True,
                                    check=True).stdout.strip()  # fmt: skip
        subprocess.run(["tmux", "-L", town.socket, "set-option", "-t", f"={name}:", "@gt_pane", pane[name]], check=True)
    gate = tmux_gate.Gate(town=str(town.root), session="al-witness", tmux_socket=town.socket, tmux="tmux")
    with pytest.raises(tmux_gate.GateError) as err:
        gate.run(["capture-pane", "-p", "-t", pane["be-nux"]])
    assert str(err.value) == f"tmux capture-pane: {pane['be-nux']} is not an agent's pane"
    with pytest.raises(tmux_gate.GateError):
        gate.run(["send-keys", "-t", pane["be-nux"], "-l", "x"])
    wait_for(lambda: "secret-of-al-nux" in "\n".join(gate.run(["capture-pane", "-p", "-t", pane["al-nux"]])["stdout"]),
             10, what="its own rig's pane")  # fmt: skip
    assert gate.run(["capture-pane", "-p", "-t", pane["hq-mayor"]])["rc"] == 0  # (it nudges the Mayor)
    mayor_gate = tmux_gate.Gate(town=str(town.root), session="hq-mayor", tmux_socket=town.socket, tmux="tmux")
    assert mayor_gate.run(["capture-pane", "-p", "-t", pane["be-nux"]])["rc"] == 0


def test_the_runtime_check_takes_another_name_of_the_interpreter_only_beside_it(tmp_path):
    """python3 and python3.11 in one bin/ are one program (pip names shebangs as it ran); a link elsewhere is not."""
    from gastown_server.sandbox.tmux_gate import _same_program

    bindir, elsewhere = tmp_path / "bin", tmp_path / "agent"
    bindir.mkdir()
    elsewhere.mkdir()
    real = bindir / "python3.11"
    real.write_text("")
    (bindir / "python3").symlink_to("python3.11")
    (elsewhere / "python3").symlink_to(real)
    (bindir / "other").write_text("")
    assert _same_program(str(bindir / "python3"), str(real))
    assert _same_program(str(real), str(bindir / "python3"))
    assert not _same_program(str(elsewhere / "python3"), str(real))
    assert not _same_program(str(bindir / "other"), str(real))
