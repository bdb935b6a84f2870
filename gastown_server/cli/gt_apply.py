"""``gt apply``: a mechanical polecat implements (or tests) the issue on its hook.

Thin over :mod:`gastown_server.work.script_work`: runs the issue's
``gt-script`` block in this worktree and commits the change (idempotent,
rebases or re-applies after the base moved); ``--test`` runs the rig's gates
here instead.  Declared as the ``implement``/``test`` step commands of
``mol-polecat-work``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .framework import Registry, arg

COMMANDS = Registry()


@COMMANDS.command(
    "apply",
    "Implement an issue from its gt-script block in this worktree (or --test: run the rig's gates here)",
    arg("issue", help="the issue (bead id)"),
    arg("--test", action="store_true", help="run the rig's gates in this worktree instead"),
    arg("--rework", action="store_true",
        help="the issue came back (REWORK_REQUEST, MERGE_FAILED) with its work molecule finished: "
             "pour a fresh mol-polecat-work for it and show its current steps"),
    arg("--base", help="branch the work goes onto (default: $GT_VAR_BASE_BRANCH, else main)"),
    arg("--worktree", help="the polecat's worktree (default: the current directory)"),
    arg("--rig", help="rig name for --test (default: $GT_RIG, else the town's only rig)"),
)
def apply(ctx, args):
    from ..errors import Conflict
    from ..work import script_work

    worktree = Path(args.worktree or os.getcwd()).resolve()
    if args.rework:
        return _rework(ctx, args)
    if args.test:
        from .gt_work import _rig

        rig = _rig(ctx, args.rig, worktree=worktree, actor=ctx.actor)
        results = script_work.run_tests(ctx.ledger, rig.name, worktree)
        if not results:
            ctx.out(f"rig {rig.name} has no gates: nothing to test")
        for r in results:
            ctx.out(f"{'ok' if r.ok else 'FAILED'}: {r.gate.run} ({r.seconds:.2f}s)")
            if not r.ok:
                ctx.out(r.output_tail)
        failed = [r for r in results if not r.ok]
        if failed:
            raise Conflict(f"{len(failed)} gate(s) failed in {worktree}")
        return
    base = args.base or os.environ.get("GT_VAR_BASE_BRANCH") or "main"
    result = script_work.apply(ctx.ledger, args.issue, worktree=worktree, base=base, actor=ctx.actor)
    if ctx.json:
        ctx.emit_json(result)
        return
    if result.detail:
        ctx.out(result.detail)
    if result.action != "no-script":
        ctx.out(f"{args.issue}: {result.action} at {result.head[:12]}")


def _rework(ctx, args):
    """What the script agent does on rework, as a command an LLM agent can run."""
    from ..formulas import molecule
    from ..paths import find_town_root
    from ..work.sling import fresh_work_molecule

    mol = fresh_work_molecule(ctx.ledger, args.issue, actor=ctx.actor, town_root=find_town_root())
    steps = molecule.current(ctx.ledger, mol)
    if ctx.json:
        from .bd_mol import _step_json

        ctx.emit_json({"molecule": mol, "complete": False, "steps": [_step_json(b) for b in steps]})
        return
    ctx.out(f"{args.issue}: new work molecule {mol}; now: {', '.join(b.id for b in steps) or 'nothing'}")
