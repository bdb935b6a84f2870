"""Molecules in the ledger: pour, wisp, walk, skip, progress, squash, burn.

A molecule is a root bead (type ``molecule``, the formula and variables in
its ``metadata``) with one child bead per step (``<root>.<n>``), ``blocks``
dependencies from ``needs`` and ``parent-child`` to the root.  A wisp is
the same with ``ephemeral`` set: never exported, burned or squashed when
done.  All state lives in the ledger, so any session can pick a molecule
up where another stopped: :func:`current` is computed from bead statuses.
"""

from __future__ import annotations

import os
import subprocess
from collections import deque
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from ..beads import bulk, clock, ids
from ..beads.models import Bead
from ..beads.store import Ledger
from ..errors import Conflict, InvalidInput, NotFound
from .containers import close_step

if TYPE_CHECKING:  # cooking (tomllib, the loader) is not needed to walk a molecule
    from .cook import Protomolecule

_OPEN = bulk.OPEN_PREDICATE
_WORKABLE = "status IN ('open', 'in_progress', 'hooked')"


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def meta_of(bead: Bead) -> dict:
    if not bead.metadata:
        return {}
    try:
        value = msgspec.json.decode(bead.metadata)
    except msgspec.DecodeError:
        return {}
    return value if isinstance(value, dict) else {}


# -- pouring -----------------------------------------------------------------------


def _rows(proto: Protomolecule):
    for s in proto.steps():
        meta: dict[str, Any] = {"step": s.key}
        if s.run:
            meta["run"] = s.run
        if s.gate:
            meta["gate"] = s.gate
        if s.context:
            meta.update(s.context)
        if s.always:
            meta["always"] = True
        if s.parallel:
            meta["parallel"] = True
        gate = s.gate or {}
        yield bulk.ChildRow(
            s.local,
            s.title,
            s.description,
            s.acceptance,
            s.priority,
            s.issue_type,
            s.assignee,
            _json(meta),
            s.needs,
            gate.get("type", "") if gate.get("type") != "conditional" else "",
            gate.get("id", ""),
            gate.get("timeout", ""),
            s.container,
            s.labels,
        )


def pour(
    ledger: Ledger,
    proto: Protomolecule,
    *,
    actor: str,
    wisp: bool = False,
    assignee: str = "",
    prefix: str | None = None,
) -> Bead:
    """Instantiate ``proto``: one transaction, one event; returns the root."""
    f = proto.formula
    if proto.mode != "runtime":
        raise InvalidInput(f"{f.source}: a compile-mode protomolecule cannot be poured (cook it in runtime mode)")
    meta = {
        "formula": f.formula,
        "version": f.version,
        "type": f.type,
        "vars": proto.vars,
        "source": f.source,
        "layer": f.layer,
        "steps": proto.count,
    }
    if f.squash is not None:
        meta["squash"] = msgspec.to_builtins(f.squash)
    kind = "wisp_poured" if wisp else "molecule_poured"
    with ledger.mutation(kind, actor, payload={"formula": f.formula, "steps": proto.count, "ephemeral": wisp}) as rec:
        bulk.ensure_indexes(ledger)
        root = ledger.create(
            proto.title,
            actor=actor,
            description=proto.description,
            issue_type="molecule",
            assignee=assignee,
            prefix=prefix,
            ephemeral=wisp,
            mol_type=proto.mol_type,
            wisp_type=("patrol" if proto.mol_type == "patrol" else "molecule") if wisp else "",
            metadata=_json(meta),
        )
        bulk.insert_tree(ledger, root.id, _rows(proto), actor=actor, now=root.created_at, ephemeral=wisp)
        rec.bead_id = root.id
    return root


# -- finding and reading -------------------------------------------------------------


def root_of(ledger: Ledger, ref: str) -> Bead:
    """The molecule root for a root id or any step id inside it."""
    bead = ledger.get(ref)
    seen = 0
    while not (bead.issue_type == "molecule" and "formula" in meta_of(bead)):
        parent = bead.parent or ids.parent_of_child_id(bead.id)
        if not parent or seen > 64:
            raise InvalidInput(f"{ref} is not a molecule or a step of one")
        bead = ledger.get(parent)
        seen += 1
    return bead


def molecules_of(ledger: Ledger, assignee: str) -> list[Bead]:
    """Unfinished molecules assigned to ``assignee``."""
    return [b for b in ledger.list(issue_type="molecule", assignee=assignee) if "formula" in meta_of(b)]


def _children_ids(ledger: Ledger, parent_id: str) -> list[str]:
    return [
        r[0]
        for r in ledger.conn.execute(
            f"SELECT id FROM issues WHERE parent = ? AND is_blocked = 0 AND {_OPEN} AND {_WORKABLE} ORDER BY rowid",
            (parent_id,),
        )
    ]


def _has_open_children(ledger: Ledger, bead_id: str) -> bool:
    return (
        ledger.conn.execute(f"SELECT 1 FROM issues WHERE parent = ? AND {_OPEN} LIMIT 1", (bead_id,)).fetchone()
        is not None
    )


def current_ids(ledger: Ledger, root_id: str, limit: int | None = None) -> list[str]:
    """Steps to do now: open, unblocked, and with no open sub-steps."""
    out: list[str] = []
    queue = deque([root_id])
    while queue and (limit is None or len(out) < limit):
        for bead_id in _children_ids(ledger, queue.popleft()):
            if _has_open_children(ledger, bead_id):
                queue.append(bead_id)
            else:
                out.append(bead_id)
                if limit is not None and len(out) >= limit:
                    break
    return out


def current(ledger: Ledger, root_id: str, limit: int | None = None) -> list[Bead]:
    found = ledger.get_many(current_ids(ledger, root_id, limit))
    return list(found.values())


class Progress(NamedTuple):
    total: int
    closed: int
    open: int
    in_progress: int
    blocked: int
    ready: int
    complete: bool
    started_at: str
    last_closed_at: str

    def as_dict(self) -> dict:
        d = self._asdict()
        d["percent"] = round(100.0 * self.closed / self.total, 2) if self.total else 100.0
        return d


def progress(ledger: Ledger, root_id: str) -> Progress:
    lo, hi = bulk.descendants_range(root_id)
    total = closed = opened = in_prog = blocked = 0
    for status, is_blocked, n in ledger.conn.execute(
        "SELECT status, is_blocked, COUNT(*) FROM issues WHERE id >= ? AND id < ? AND status != 'tombstone' "
        "GROUP BY status, is_blocked",
        (lo, hi),
    ):
        total += n
        if status == "closed":
            closed += n
        elif status == "in_progress":
            in_prog += n
        else:
            opened += n
        if is_blocked and status != "closed":
            blocked += n
    started, last = ledger.conn.execute(
        "SELECT MIN(created_at), MAX(closed_at) FROM issues WHERE id >= ? AND id < ?", (lo, hi)
    ).fetchone()
    ready = len(current_ids(ledger, root_id, limit=1000))
    return Progress(total, closed, opened, in_prog, blocked, ready, total == closed, started or "", last or "")


def steps(ledger: Ledger, root_id: str, limit: int | None = None) -> list[Bead]:
    """The molecule's step beads in pour order (sub-steps after their parent)."""
    lo, hi = bulk.descendants_range(root_id)
    sql = "SELECT id FROM issues WHERE id >= ? AND id < ? AND status != 'tombstone' ORDER BY rowid"
    params: list = [lo, hi]
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    wanted = [r[0] for r in ledger.conn.execute(sql, params)]
    found = ledger.get_many(wanted)
    return [found[i] for i in wanted if i in found]


# -- walking -------------------------------------------------------------------------


def skip(ledger: Ledger, step_id: str, *, actor: str, reason: str = "skipped") -> list[str]:
    """Close a step and every step of its molecule that (transitively) needs it.

    Steps marked ``always`` are not skipped: they run once their other
    needs are done (skipped steps count as done).
    """
    root = root_of(ledger, step_id)
    lo, hi = bulk.descendants_range(root.id)
    closed: list[str] = []
    with ledger.mutation("molecule_step_skipped", actor, step_id, {"reason": reason}) as rec:
        queue, seen = deque([step_id]), {step_id}
        while queue:
            bead_id = queue.popleft()
            for (dep,) in ledger.conn.execute(
                "SELECT issue_id FROM dependencies WHERE depends_on_id = ? AND type IN ('blocks', 'parent-child')",
                (bead_id,),
            ).fetchall():
                if lo <= dep < hi and dep not in seen:
                    seen.add(dep)
                    if not meta_of(ledger.get(dep)).get("always"):
                        queue.append(dep)
            if ledger.get(bead_id).status not in ("closed", "tombstone"):
                ledger.close(bead_id, actor=actor, reason=reason if bead_id == step_id else f"skipped: needs {step_id}")
                closed.append(bead_id)
        rec.payload["closed"] = len(closed)
    return closed


class StepOutcome(NamedTuple):
    step_id: str
    action: str  # closed | gate-passed | gate-failed | ran | failed | waiting
    detail: str = ""


def decide_gate(ledger: Ledger, step: Bead, root: Bead, *, cwd: str | None = None) -> bool | None:
    """A conditional gate's verdict, or None when a person/agent must decide."""
    gate = meta_of(step).get("gate") or {}
    if gate.get("type", "conditional") != "conditional":
        return None
    if gate.get("run"):
        return _run(gate["run"], step, root, cwd).returncode == 0
    if gate.get("condition"):
        from .vars import evaluate

        return evaluate(gate["condition"], meta_of(root).get("vars", {}), root.id, f"{step.id}.gate.condition")
    return True


def _run(command: str, step: Bead, root: Bead, cwd: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ, GT_MOLECULE=root.id, GT_STEP=step.id, GT_STEP_KEY=meta_of(step).get("step", ""))
    for name, value in (meta_of(root).get("vars") or {}).items():
        if isinstance(value, (str, int, float, bool)):
            env[f"GT_VAR_{name.upper().replace('-', '_').replace('.', '_')}"] = str(value)
    return subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True)


def advance(
    ledger: Ledger,
    root_id: str,
    *,
    actor: str,
    execute: bool = True,
    close_prose: bool = False,
    cwd: str | None = None,
    max_steps: int | None = None,
) -> list[StepOutcome]:
    """Walk mechanically: decide gates, run steps' commands, close what's done.

    Stops when the molecule is complete, a command fails, or only steps
    that need an agent (prose, human gates) remain.  ``close_prose``
    closes prose steps too (tests and benchmarks).
    """
    root = ledger.get(root_id)
    outcomes: list[StepOutcome] = []
    while max_steps is None or len(outcomes) < max_steps:
        moved = False
        waiting = []
        for step in current(ledger, root_id):
            meta = meta_of(step)
            if meta.get("parallel"):  # current only once every child is closed: it is complete
                if _close_once(ledger, step.id, actor, "parallel: all children closed"):
                    outcomes.append(StepOutcome(step.id, "closed", "parallel"))
                moved = True
            elif "gate" in meta:
                verdict = decide_gate(ledger, step, root, cwd=cwd)
                if verdict is None:
                    waiting.append(StepOutcome(step.id, "waiting", f"gate {meta['gate'].get('type')}"))
                    continue
                if verdict:
                    if _close_once(ledger, step.id, actor, "gate passed"):
                        outcomes.append(StepOutcome(step.id, "gate-passed"))
                else:
                    skip(ledger, step.id, actor=actor, reason="gate failed")
                    outcomes.append(StepOutcome(step.id, "gate-failed"))
                moved = True
            elif meta.get("run") and execute:
                proc = _run(meta["run"], step, root, cwd)
                if proc.returncode != 0:
                    tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
                    ledger.add_comment(step.id, f"`{meta['run']}` failed (exit {proc.returncode}): " + (" / ".join(tail) or "no output"), actor=actor)
                    outcomes.append(StepOutcome(step.id, "failed", f"exit {proc.returncode}"))
                    return outcomes
                if _close_once(ledger, step.id, actor, f"ran: {meta['run']}"):
                    outcomes.append(StepOutcome(step.id, "ran", meta["run"]))
                moved = True
            elif close_prose:
                if _close_once(ledger, step.id, actor, "done"):
                    outcomes.append(StepOutcome(step.id, "closed"))
                moved = True
            else:
                waiting.append(StepOutcome(step.id, "waiting", "needs an agent"))
            if max_steps is not None and len(outcomes) >= max_steps:
                break
        if not moved:
            outcomes.extend(waiting)
            break
    return outcomes


def _close_once(ledger: Ledger, step_id: str, actor: str, reason: str) -> bool:
    """Close a step; False when another walker closed it first (not an error)."""
    try:
        close_step(ledger, step_id, actor=actor, reason=reason)
        return True
    except Conflict:
        return False


def finish(ledger: Ledger, root_id: str, *, actor: str) -> Bead | None:
    """When every step is closed: close the root, squash if the formula says so.

    Returns the digest bead when squashed.
    """
    root = ledger.get(root_id)
    if current_ids(ledger, root_id, limit=1) or not progress(ledger, root_id).complete:
        return None
    squash_cfg = meta_of(root).get("squash") or {}
    if squash_cfg.get("trigger", "") == "on_complete":
        return squash(ledger, root_id, actor=actor)
    if root.status != "closed":
        ledger.close(root_id, actor=actor, reason="all steps closed")
    return None


# -- squash and burn -----------------------------------------------------------------


def _duration(start: str, end: str) -> float:
    if not start or not end:
        return 0.0
    return max(0.0, (clock.parse(end) - clock.parse(start)).total_seconds())


def _fmt_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def squash(ledger: Ledger, root_id: str, *, actor: str, summary: str = "") -> Bead:
    """Reduce a molecule to a one-line digest bead (closed, with metrics).

    A wisp is then burned; a poured molecule keeps its steps (they are in
    git) and its root is closed, related to the digest.
    """
    root = root_of(ledger, root_id)
    meta = meta_of(root)
    p = progress(ledger, root.id)
    seconds = _duration(root.created_at, p.last_closed_at)
    name = meta.get("formula", "molecule")
    cfg = meta.get("squash") or {}
    metrics = {
        "formula": name,
        "molecule": root.id,
        "steps": p.total,
        "closed": p.closed,
        "open": p.total - p.closed,
        "duration_s": round(seconds, 3),
        "started_at": root.created_at,
        "finished_at": p.last_closed_at,
        "vars": meta.get("vars", {}),
    }
    skipped = ledger.conn.execute(
        "SELECT COUNT(*) FROM issues WHERE id >= ? AND id < ? AND close_reason LIKE 'skipped%' "
        "OR (id >= ? AND id < ? AND close_reason = 'gate failed')",
        (*bulk.descendants_range(root.id), *bulk.descendants_range(root.id)),
    ).fetchone()[0]
    metrics["skipped"] = skipped
    title = f"{name}: {p.closed}/{p.total} steps closed in {_fmt_duration(seconds)}"
    if skipped:
        title += f" ({skipped} skipped)"
    issue_type = cfg.get("template_type") or "event"
    from ..beads.models import ISSUE_TYPES

    labels = ["digest", f"formula:{name}"]
    if issue_type not in ISSUE_TYPES:
        labels.append(f"digest:{issue_type}")
        issue_type = "event"
    include = cfg.get("include_metrics", True)
    with ledger.mutation("molecule_squashed", actor, root.id, {"formula": name, "steps": p.total}) as rec:
        digest = ledger.create(
            title,
            actor=actor,
            description=summary or (root.description.splitlines()[0] if root.description else ""),
            issue_type=issue_type,
            status="closed",
            close_reason=f"squashed {root.id}",
            prefix=ids.prefix_of(root.id) or None,
            labels=labels,
            metadata=_json(metrics if include else {"formula": name, "molecule": root.id}),
        )
        rec.payload["digest"] = digest.id
        if root.ephemeral:
            bulk.purge_tree(ledger, root.id)
        else:
            if root.status != "closed":
                ledger.close(root.id, actor=actor, reason=f"squashed into {digest.id}")
            ledger.add_dependency(root.id, digest.id, actor=actor, dep_type="related")
    return digest


def burn(ledger: Ledger, root_id: str, *, actor: str, force: bool = False) -> int:
    """Delete a wisp (root and steps).  A poured molecule only with ``force``
    (its beads become tombstones so that the deletion reaches git)."""
    root = root_of(ledger, root_id)
    if root.ephemeral:
        with ledger.mutation("molecule_burned", actor, root.id, {"ephemeral": True}) as rec:
            count = bulk.purge_tree(ledger, root.id)
            rec.payload["count"] = count
        return count
    if not force:
        raise Conflict(f"{root.id} is a poured molecule, not a wisp: use --force to delete it")
    with ledger.mutation("molecule_burned", actor, root.id, {"ephemeral": False}) as rec:
        victims = [b.id for b in steps(ledger, root.id)] + [root.id]
        for bead_id in victims:
            if ledger.get(bead_id).status != "tombstone":
                ledger.delete(bead_id, actor=actor, reason="molecule burned")
        rec.payload["count"] = len(victims)
    return len(victims)


def require_molecule(ledger: Ledger, ref: str | None, actor: str) -> Bead:
    """``ref``'s molecule, or the actor's only unfinished one."""
    if ref:
        return root_of(ledger, ref)
    mine = molecules_of(ledger, actor)
    if len(mine) == 1:
        return mine[0]
    if not mine:
        raise NotFound(f"no molecule given and none assigned to {actor}")
    raise InvalidInput(f"{actor} has {len(mine)} molecules: name one ({', '.join(b.id for b in mine[:5])})")


__all__ = [
    "advance",
    "burn",
    "close_step",
    "current",
    "current_ids",
    "finish",
    "pour",
    "progress",
    "require_molecule",
    "root_of",
    "skip",
    "squash",
    "steps",
]
