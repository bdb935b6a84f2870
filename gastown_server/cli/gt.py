"""``gt``: the Gas Town command line, for the Overseer and the agents.

Each word maps to the module that implements it; only that module is
imported.  Command names and flags mirror Gas Town's.
"""

from __future__ import annotations

import sys

from .framework import Entry, run

_TOWN = "gastown_server.cli.gt_town"
_AGENTS = "gastown_server.cli.gt_agents"
_WORK = "gastown_server.cli.gt_work"
_FORMULA = "gastown_server.cli.gt_formula"
_RPC = "gastown_server.cli.gt_rpc"
_MAIL = "gastown_server.cli.gt_mail"
_CONVOY = "gastown_server.cli.gt_convoy"
_PATROL = "gastown_server.cli.gt_patrol"
_APPLY = "gastown_server.cli.gt_apply"
_DOGS = "gastown_server.cli.gt_dogs"
_DOCTOR = "gastown_server.cli.gt_doctor"
_MODEL = "gastown_server.cli.gt_model"
_COSTS = "gastown_server.cli.gt_costs"
_DASHBOARD = "gastown_server.cli.gt_dashboard"
_MOL = "gastown_server.cli.gt_mol"
_SELF = "gastown_server.cli.gt_self"
_TAP = "gastown_server.cli.gt_tap"

TABLE: dict[str, Entry] = {
    "install": Entry(_TOWN, "Create a town directory"),
    "rig": Entry(_TOWN, "Rigs (projects): add, list, remove, park, unpark, boot, start, stop, shutdown"),
    "crew": Entry(_TOWN, "Crew members: add, list, start, stop, attach"),
    "config": Entry(_TOWN, "Town configuration: get, set, agent (runtimes), sandbox"),
    "up": Entry(_TOWN, "Start the daemon and the town's agents"),
    "down": Entry(_TOWN, "Stop the town's agents and the daemon"),
    "status": Entry(_TOWN, "Town, rigs, agents, tmux socket and daemon"),
    "daemon": Entry(_TOWN, "The heartbeat daemon: start, stop, status, run"),
    "agents": Entry(_AGENTS, "List every agent and its state"),
    "prime": Entry(_AGENTS, "What an agent reads at start: role, hook, mail"),
    "hook": Entry(_MOL, "The work on a hook: show, attach, detach, clear"),
    "nudge": Entry(_AGENTS, "Type a message into an agent's session, safely"),
    "peek": Entry(_AGENTS, "Show the last lines of an agent's pane"),
    "mayor": Entry(_AGENTS, "The Mayor: attach"),
    "polecat": Entry(_AGENTS, "Polecats: list, status, git-state, check-recovery, start, attach, nuke, remove"),
    "handoff": Entry(_AGENTS, "End this session; a fresh one takes the hook"),
    "seance": Entry(_AGENTS, "List predecessor sessions, or ask one a question"),
    "formula": Entry(_FORMULA, "Formulas: list, show, run, hanoi"),
    "rpc": Entry(_RPC, "Call a gastown-server JSON-RPC method"),
    "sling": Entry(_WORK, "Put work on a hook; a rig target spawns a polecat"),
    "done": Entry(_WORK, "Submit your branch to the merge queue (polecats)"),
    "refinery": Entry(_WORK, "The merge queue's worker: process-next, queue, status, gates"),
    "mq": Entry(_WORK, "Merge requests: submit, list, status, show, retry, reject, abandon"),
    "convoy": Entry(_CONVOY, "Convoys: create, list, status, add, close, land, check"),
    "mail": Entry(_MAIL, "Mail: send, inbox, read, peek, reply, ack, archive, delete, search, hook, mark-read, ..."),
    "broadcast": Entry(_MAIL, "Send one message to every agent (or a rig's, a role's)"),
    "escalate": Entry(_MAIL, "Escalate a problem (Deacon, Mayor, Overseer); list, show, ack, close"),
    "patrol": Entry(_PATROL, "Patrol steps: witness, refinery, backoff, status"),
    "witness": Entry(_PATROL, "A rig's Witness: status (sweep), attach"),
    "deacon": Entry(_PATROL, "Deacon patrol steps: heartbeat, inbox, check-rigs, plugins, cleanup"),
    "boot": Entry(_PATROL, "Boot, the Deacon's watchdog: observe, triage, spawn, status"),
    "apply": Entry(_APPLY, "Implement an issue from its gt-script block (script polecats)"),
    "tap": Entry(_TAP, "Hooks the town's agent settings call: guard"),
    "model-stub": Entry(_MODEL, "The loopback model (stub or key-adding proxy) on 127.0.0.1"),
    "dog": Entry(_DOGS, "Dogs, the Deacon's helpers: add, list, remove, start, stop, done"),
    "secret": Entry("gastown_server.cli.gt_secret", "Rig secrets for the Refinery's git: set, list, remove"),
    "plugin": Entry(_DOGS, "Town plugins: list, show, run (dispatch to a dog), exec, record"),
    "mol": Entry(_MOL, "Your molecule: status, current, progress, step done|await-signal, squash, burn, attach"),
    "unsling": Entry(_MOL, "Take work off a hook (back to open)"),
    "show": Entry(_MOL, "Show beads (bd show)"),
    "cat": Entry(_MOL, "Show beads (alias of show)"),
    "close": Entry(_MOL, "Close beads (bd close)"),
    "ready": Entry(_MOL, "Ready work across the town"),
    "session": Entry(_AGENTS, "An agent's session: status, start, stop, list"),
    "whoami": Entry(_SELF, "Your address, role, rig and session"),
    "role": Entry(_SELF, "Your role: show, home, detect, list, env"),
    "checkpoint": Entry(_SELF, "Crash-recovery note: write, read, clear"),
    "cycle": Entry(_SELF, "Accepted: switch tmux sessions with tmux itself"),
    "feed": Entry(_SELF, "The activity feed (--since 10m, --follow)"),
    "trail": Entry(_SELF, "Recent activity: beads, hooks, commits"),
    "worktree": Entry(_SELF, "The rigs' git worktrees: list, remove"),
    "doctor": Entry(_DOCTOR, "Check the town and say how to fix each finding"),
    "version": Entry(_DOCTOR, "Print the version"),
    "costs": Entry(_COSTS, "What the agents cost, by agent, rig, convoy or day; record (Stop hook)"),
    "dashboard": Entry(_DASHBOARD, "Serve a live web view of the town (read-only unless --allow-actions)"),
}

ABOUT = "gt: run a town of coding agents (Gas Town)."


def main(argv: list[str] | None = None) -> int:
    import os

    if os.environ.get("GT_ROLE"):
        # An agent's gt notices a dead daemon and revives it (rate-limited: one stat between checks).
        from ..patrol.revive import from_agent_cli

        from_agent_cli(sys.argv[1:] if argv is None else list(argv))
    return run("gt", TABLE, ABOUT, argv)


if __name__ == "__main__":
    sys.exit(main())
