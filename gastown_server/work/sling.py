"""``gt sling``: put work on a worker's hook (SPEC: sling, hooks, polecats, convoys).

``sling(town, what, target)``:

- ``what`` is a bead id, or a formula name (poured into a molecule whose
  root is what gets slung; ``vars`` are the formula's variables).
- ``target`` a rig name: a polecat is spawned from the rig's name pool
  (:mod:`gastown_server.town.polecats`) with its own worktree on branch
  ``polecat/<name>/<bead>``; the bead is hooked on it; a bead that is not
  already a molecule gets a fresh ``mol-polecat-work`` molecule (``issue`` =
  the bead, ``vars`` added) recorded in the bead's ``metadata.molecule``;
  then its session starts through ``lifecycle.start_agent``.
- ``target`` an agent address (``mayor``, ``<rig>/crew/<n>``,
  ``<rig>/polecats/<n>``, ...): the bead is hooked for it and, when its
  session is live, it is nudged to check its hook.
- no target: the actor's own hook.

Work that no convoy tracks gets a convoy titled after it.  Everything in
the ledger for one sling (molecule, agent bead, hook, metadata, convoy, the
``slung`` event) commits in one transaction, and the polecat's worktree is
made inside it (a git failure rolls the ledger back; a failed commit removes
the worktree), all before the session starts.  If the session then fails to
start, the hook stays (GUPP: the agent bead says ``running``, so the daemon
revives it) and the error says so.

Bad input (unknown or closed bead, unknown formula, unknown rig or agent,
malformed address, work already on someone's hook) raises one clear
:class:`~gastown_server.errors.GastownError` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from ..errors import Conflict, GastownError, InvalidInput, NotFound, Unavailable
from . import convoys, hooks

WORK_FORMULA = "mol-polecat-work"
SLUNG = "slung"
#: Ledger records, not work: they cannot go on a hook.
UNSLINGABLE = frozenset({"message", "agent", "role", "rig", "convoy", "merge-request", "gate", "event"})


class SlingResult(msgspec.Struct, omit_defaults=False):
    #: The bead now on the hook (a formula's molecule root when a formula was slung).
    bead: str
    title: str
    #: The convoy tracking it, and whether this sling created it.
    convoy: str
    convoy_created: bool
    #: The address whose hook holds the work (``agent`` repeats it for the editor clients).
    target: str
    agent: str
    rig: str = ""
    #: The spawned (or targeted) polecat's name, else "".
    polecat: str = ""
    session: str = ""
    worktree: str = ""
    branch: str = ""
    #: The molecule the worker walks (``mol-polecat-work`` for a polecat, or the slung formula's).
    molecule: str = ""
    #: The formula poured when ``what`` named one.
    formula: str = ""
    #: ``started``, ``running`` or ``respawned`` (from start_agent), ``nudged``, ``queued``
    #: (a nudge waiting for idle clients), ``not-started`` (``start=False``) or ``idle``
    #: (an agent whose session is not running: it finds the work when it primes).
    session_status: str = ""


class _Target(msgspec.Struct):
    address: str
    rig: Any = None  # town.core.Rig when a polecat is spawned or targeted
    ident: Any = None  # town.identity.Identity of an existing agent
    spawn: bool = False


# -- resolving input (no writes) ---------------------------------------------------------


def resolve_target(town, target: str | None, *, actor: str) -> _Target:
    """What ``target`` names: a rig (spawn a polecat), an agent, or (None) the actor."""
    from ..town.identity import RIG_NAME_RE, TOWN_ROLES, parse_address

    text = (target or "").strip()
    if not text:
        addr = (actor or "").strip().rstrip("/")
        if not addr or addr == "overseer":
            raise InvalidInput("the overseer has no hook: name a target (a rig, or an agent like mayor or <rig>/crew/<name>)")
        text = addr
    bare = text.rstrip("/")
    if "/" not in bare and bare not in TOWN_ROLES:
        if not RIG_NAME_RE.match(bare):
            raise InvalidInput(f"bad target {text!r}: a rig name or an agent address (mayor, <rig>/crew/<name>, ...)")
        rig = next((r for r in town.rigs() if r.name == bare), None)
        if rig is None:
            known = ", ".join(r.name for r in town.rigs()) or "none yet"
            raise NotFound(f"no rig or agent {bare!r} in town {town.name} (rigs: {known}; agents: mayor, deacon, <rig>/...)")
        return _Target(address="", rig=rig, spawn=True)
    parse_address(text)  # InvalidInput: malformed, before any lookup
    ident = town.identity(text)  # NotFound: unknown rig
    if ident.role == "boot":
        raise InvalidInput("boot cannot take work: it only checks on the Deacon")
    if ident.role in ("polecat", "crew"):
        known = town.ledger.exists(ident.bead_id) or Path(ident.cwd).exists()
        if not known:
            hint = f"sling to the rig ({ident.rig}) to spawn a polecat" if ident.role == "polecat" else f"gt crew add {ident.name} --rig {ident.rig}"
            raise NotFound(f"no {ident.role} {ident.name!r} in rig {ident.rig}: {hint}")
    if ident.role == "dog" and not town.ledger.exists(ident.bead_id):
        raise NotFound(f"no dog {ident.name!r}: gt dog add {ident.name}")
    rig = town.rig(ident.rig) if ident.role == "polecat" else None
    if ident.role == "polecat":
        check_polecat_free(town.ledger, ident)
    return _Target(address=ident.address, rig=rig, ident=ident)


def check_polecat_free(ledger, ident) -> None:
    """A polecat does one piece of work on one branch: a second bead would be done on the
    first one's branch and its merge request could name neither."""
    from ..town.polecats import BUSY_STATUSES

    busy = ledger.list(assignee=ident.address, status=list(BUSY_STATUSES), limit=1)
    if busy:
        raise Conflict(
            f"{ident.address} already has work ({busy[0].id} is {busy[0].status}): a polecat does one bead at a "
            f"time; sling to the rig ({ident.rig}) to spawn another polecat"
        )


def check_slingable(ledger, bead_id: str):
    """The bead, if it can go on a hook; else one clear error."""
    bead = ledger.get(bead_id)  # NotFound
    if bead.status in ("closed", "tombstone"):
        word = "deleted" if bead.status == "tombstone" else "closed"
        raise Conflict(f"{bead_id} is {word}: nothing to sling (bd reopen {bead_id} first if there is more to do)")
    if bead.issue_type in UNSLINGABLE:
        raise InvalidInput(f"{bead_id} is a {bead.issue_type}, not work: sling an issue or a formula")
    if bead.status == hooks.HOOKED:
        raise Conflict(f"{bead_id} is already on {bead.assignee or 'someone'}'s hook: it was slung before")
    if bead.status == "in_progress" and "/polecats/" in (bead.assignee or ""):
        raise Conflict(f"{bead_id} is in progress on {bead.assignee} (waiting for its merge): it was slung before")
    return bead


def is_formula(town, name: str, target: str | None = None) -> bool:
    """``name`` is on the formula search path (town, and the rig ``target`` is in, if any)."""
    from ..formulas import search

    rig = (target or "").strip().split("/")[0] or None
    if rig is not None and not any(r.name == rig for r in town.rigs()):
        rig = None
    return name in search.catalog(town.root, rig)


def _cook(town, name: str, given: Mapping[str, Any], rig: str | None):
    from ..formulas.service import cook_named

    return cook_named(name, given, town=town.root, rig=rig)


def _work_vars(issue: str, base: str, given: Mapping[str, Any] | None) -> dict[str, Any]:
    values: dict[str, Any] = {"issue": issue}
    if base:
        values["base_branch"] = base
    values.update(given or {})
    values["issue"] = issue
    return values


def _meta(bead) -> dict:
    try:
        data = msgspec.json.decode(bead.metadata) if bead.metadata else {}
    except msgspec.DecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def record_molecule(ledger, issue: str, molecule_id: str, *, actor: str) -> None:
    """``metadata.molecule`` of ``issue`` := ``molecule_id`` (earlier ones kept under ``molecules``)."""
    meta = _meta(ledger.get(issue))
    old = meta.get("molecule")
    if isinstance(old, str) and old and old != molecule_id:
        history = meta.get("molecules") if isinstance(meta.get("molecules"), list) else []
        meta["molecules"] = [*history, old]
    meta["molecule"] = molecule_id
    ledger.update(issue, actor=actor, metadata=msgspec.json.encode(meta).decode())


# -- sling --------------------------------------------------------------------------------


def sling(
    town,
    what: str,
    target: str | None = None,
    *,
    vars: Mapping[str, Any] | None = None,
    actor: str,
    start: bool = True,
) -> SlingResult:
    """Sling ``what`` to ``target``; see the module doc."""
    from ..formulas import molecule
    from ..town import polecats, roles
    from ..town.rigs import polecat_branch

    what = (what or "").strip()
    if not what:
        raise InvalidInput("give a bead id or a formula name to sling")
    actor = (actor or "overseer").strip().rstrip("/")
    ledger = town.ledger
    tgt = resolve_target(town, target, actor=actor)
    rig_name = tgt.rig.name if tgt.rig is not None else None
    if rig_name is not None:
        from ..town.rig_state import is_parked

        if is_parked(ledger, rig_name):
            raise Conflict(f"rig {rig_name} is parked (nothing would run the work): gt rig unpark {rig_name} first")

    # What: a bead, else a formula.  Everything is checked and cooked before anything is written.
    bead = proto = work_proto = None
    if ledger.exists(what):
        bead = check_slingable(ledger, what)
    elif is_formula(town, what, rig_name):
        proto = _cook(town, what, vars or {}, rig_name)
    else:
        raise NotFound(f"no bead or formula {what!r} (see bd list, bd formula list)")
    polecat_work = tgt.rig is not None and bead is not None and bead.issue_type != "molecule"
    base = (tgt.rig.default_branch or "main") if tgt.rig is not None else ""
    if polecat_work:
        work_proto = _cook(town, WORK_FORMULA, _work_vars(bead.id, base, vars), rig_name)
    elif bead is not None and vars:
        raise InvalidInput("--var is for a formula, or for the polecat's work molecule when slinging to a rig")

    def record(ident, make_worktree) -> SlingResult:
        """The one transaction; ``make_worktree(bead_id)`` runs inside it (git, before commit)."""
        address = ident.address if ident is not None else tgt.address
        with ledger.atomic():
            if proto is not None:
                root = molecule.pour(ledger, proto, actor=actor, assignee=address)
                work, formula, mol = ledger.get(root.id), proto.formula.formula, root.id
            else:
                work, formula, mol = ledger.get(bead.id), "", ""
                check_slingable(ledger, work.id)  # again, inside the transaction: two racing slings
                meta_mol = _meta(work).get("molecule")
                if work.issue_type == "molecule" or ledger.children(work.id):
                    mol = work.id
                elif isinstance(meta_mol, str) and meta_mol and ledger.exists(meta_mol) and ledger.get(meta_mol).status != "closed":
                    mol = meta_mol
            if ident is not None and ident.role == "polecat" and not tgt.spawn:
                check_polecat_free(ledger, ident)  # again, inside the transaction
            if ident is not None and ident.role in ("polecat", "crew"):
                roles.ensure_agent_bead(ledger, ident, actor=actor)
                if ident.role == "polecat":  # GUPP: the daemon revives a polecat whose bead says running
                    ledger.update(ident.bead_id, actor=actor, agent_state="running")
            hooks.hook(ledger, work.id, address, actor=actor)
            if work_proto is not None:
                root = molecule.pour(ledger, work_proto, actor=actor, assignee=address)
                record_molecule(ledger, work.id, root.id, actor=actor)
                mol = root.id
            tracking = convoys.convoys_tracking(ledger, [work.id]).get(work.id, [])
            created = not tracking
            convoy = convoys.create(ledger, work.title, [work.id], actor=actor).id if created else tracking[0]
            branch = worktree = ""
            if make_worktree is not None:
                worktree, branch = make_worktree(work.id)
            payload = {"target": address, "convoy": convoy, "molecule": mol, "formula": formula,
                       "polecat": ident.name if ident is not None and ident.role == "polecat" else "",
                       "branch": branch, "worktree": worktree}  # fmt: skip
            with ledger.mutation(SLUNG, actor, work.id, payload):
                pass
        return SlingResult(
            bead=work.id, title=work.title, convoy=convoy, convoy_created=created, target=address, agent=address,
            rig=(tgt.rig.name if tgt.rig is not None else (ident.rig if ident is not None else "")),
            polecat=payload["polecat"], session=ident.session if ident is not None else "", worktree=worktree,
            branch=branch, molecule=mol, formula=formula,
        )  # fmt: skip

    if tgt.spawn:
        from ..town import rigs

        rig = tgt.rig
        with polecats.allocate(town, rig) as ident:
            made: list[str] = []

            def make_worktree(bead_id: str) -> tuple[str, str]:
                branch = polecat_branch(ident.name, bead_id)
                existed = branch in rigs.polecat_branches(rig)
                path = rigs.ensure_polecat_worktree(town, rig, ident.name, bead_id)
                made.append("" if existed else branch)
                return str(path), branch

            try:
                result = record(ident, make_worktree)
            except BaseException:
                if made:
                    rigs.remove_polecat_worktree(town, rig, ident.name, branch=made[0])
                raise
        return _start(town, result, ident, start=start, actor=actor)
    ident = tgt.ident
    result = record(ident, None)
    if ident is None:
        return result
    return _wake(town, result, ident, actor=actor, start=start)


def _start(town, result: SlingResult, ident, *, start: bool, actor: str) -> SlingResult:
    from ..town.lifecycle import start_agent

    if not start:
        result.session_status = "not-started"
        return result
    try:
        res = start_agent(town, ident, actor=actor)
    except (GastownError, OSError) as exc:
        reason = getattr(exc, "message", None) or str(exc)
        raise Unavailable(
            f"{result.bead} is on {ident.address}'s hook (convoy {result.convoy}, worktree {result.worktree}) "
            f"but its session did not start: {reason}; the hook stays: the daemon revives it, "
            f"or run gt polecat start {ident.name} --rig {ident.rig}"
        ) from None
    result.session_status = res.status
    return result


def _wake(town, result: SlingResult, ident, *, actor: str, start: bool) -> SlingResult:
    """An agent target: nudge it to check its hook when its session is live.

    A polecat without a live session is started (its worktree made for this
    bead): a polecat exists to run its hook; other agents find the work when
    they next prime.
    """
    result.session_status = "idle"
    if not start or ident.role == "boot":
        return result
    tmux = town.tmux
    if not tmux.running() or not any(s.name == ident.session and s.alive for s in tmux.sessions()):
        if ident.role == "polecat":
            return _start(town, result, ident, start=start, actor=actor)
        return result
    from ..runtime import nudge

    message = f"hook {result.bead}: slung to you by {actor}. Run it (GUPP): gt hook, then work it."
    try:
        res = nudge.nudge(tmux, ident.session, message, state_dir=town.state_dir, idle_s=town.config.nudge.idle_s,
                          timeout_s=min(town.config.nudge.timeout_s, 10.0), sender=actor)  # fmt: skip
    except (GastownError, OSError):
        return result  # the work is on the hook; the agent finds it when it primes
    result.session_status = "nudged" if res.status == "delivered" else res.status
    return result


# -- rework (used by the script runtime; an LLM polecat does the same by hand) ------------


def fresh_work_molecule(ledger, issue: str, *, actor: str, town_root: str | Path | None = None) -> str:
    """Pour a new ``mol-polecat-work`` for ``issue`` (its recorded one is finished) and record it.

    Used when the Refinery hooks an issue back on its polecat (REWORK_REQUEST,
    MERGE_FAILED): the steps are walked again and end in a fresh ``gt done``.
    The previous molecule's variables are kept.
    """
    from ..formulas import molecule
    from ..formulas.service import cook_named

    bead = ledger.get(issue)
    old = _meta(bead).get("molecule")
    given: dict[str, Any] = {}
    if isinstance(old, str) and old and ledger.exists(old):
        given = dict(molecule.meta_of(ledger.get(old)).get("vars") or {})
    rig = actor.split("/")[0] if actor.count("/") == 2 else None
    proto = cook_named(WORK_FORMULA, _work_vars(issue, "", given), town=Path(town_root) if town_root else None, rig=rig)
    with ledger.atomic():
        root = molecule.pour(ledger, proto, actor=actor, assignee=actor)
        record_molecule(ledger, issue, root.id, actor=actor)
        ledger.add_comment(issue, f"rework: new work molecule {root.id} (was {old or 'none'})", actor=actor)
    return root.id
