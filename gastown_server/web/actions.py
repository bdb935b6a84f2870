"""Write actions (only with ``--allow-actions``, the token and the CSRF check): thin over the domain.

Each runs on a worker thread with its own Town and ledger connection
(:meth:`~gastown_server.rpc.app.App.in_town_thread`), like the RPC
server's writes; the actor is the Overseer.  Returns one line saying what
happened; bad input raises the domain's error (shown as one line, 4xx).
"""

from __future__ import annotations

from ..errors import InvalidInput

ACTOR = "overseer"


def _need(form, name: str) -> str:
    value = (form.get(name) or "").strip()
    if not value:
        raise InvalidInput(f"{name} is required")
    return value


async def run_action(dash, name: str, form) -> str:
    fn = ACTIONS.get(name)
    if fn is None:
        raise InvalidInput(f"unknown action {name!r} (actions: {', '.join(sorted(ACTIONS))})")
    return await dash.rpc.in_town_thread(lambda town: fn(town, form), waits=name == "nudge")


def _sling(town, form) -> str:
    from ..work import sling

    bead, target = _need(form, "bead"), (form.get("target") or "").strip() or None
    if not town.ledger.exists(bead):
        from ..errors import NotFound

        raise NotFound(f"no bead {bead!r}")
    result = sling.sling(town, bead, target, actor=ACTOR)
    return f"slung {bead} to {getattr(result, 'target', target) or target}"


def _nudge(town, form) -> str:
    from ..runtime import nudge

    ident = town.resolve(_need(form, "agent"))
    cfg = town.config.nudge
    r = nudge.nudge(town.tmux, ident.session, _need(form, "message"), state_dir=town.state_dir, idle_s=cfg.idle_s,
                    timeout_s=min(cfg.timeout_s, 10.0), sender=ACTOR)  # fmt: skip
    return f"nudge to {ident.address}: {r.status}" + (f" ({r.reason})" if getattr(r, "reason", "") else "")


def _mail(town, form) -> str:
    from ..work import mailing

    d = mailing.send(town.ledger, town.root, _need(form, "to"), _need(form, "subject"), form.get("body") or "", actor=ACTOR)
    mailing.notify(town, d)
    return f"sent to {d.to} ({len(d.messages)} message{'s' if len(d.messages) != 1 else ''})"


def _escalate(town, form) -> str:
    from ..work import escalation

    esc = escalation.escalate(town.ledger, _need(form, "description"), actor=ACTOR,
                              severity=(form.get("severity") or "medium").strip())  # fmt: skip
    return f"escalated as {esc.id}"


def _merge_retry(town, form) -> str:
    from ..work import merge_requests as mrs

    mr = mrs.retry(town.ledger, _need(form, "mr"), actor=ACTOR)
    return f"{mr.id} is queued again"


ACTIONS = {"sling": _sling, "nudge": _nudge, "mail": _mail, "escalate": _escalate, "merge-retry": _merge_retry}
