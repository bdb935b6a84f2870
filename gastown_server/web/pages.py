"""The dashboard's pages: each renders its ``<main>`` from the domain functions the RPC server uses.

A page function takes the :class:`~gastown_server.web.server.Dashboard`, the
query (a mapping) and the path's parts, and returns a :class:`Page`.  The
same function serves the first load and every live re-render (the live hub
calls it again after a change), so a page without JavaScript and a live one
show the same thing.  No SQL here: queries live in the domain packages.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from ..errors import InvalidInput, NotFound
from . import charts
from .html import agent_link, ago, badge, bead_link, convoy_link, esc, section, short_time, table, when

FEED_LIMIT = 100


@dataclass
class Page:
    title: str
    html: str
    #: (session, agent, transcript path, offset) for a page that streams a transcript.
    transcript: tuple | None = None


def _query_int(q: Mapping, name: str, default: int, lo: int, hi: int) -> int:
    raw = q.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number from {lo} to {hi}, not {raw!r}") from None
    if not lo <= value <= hi:
        raise InvalidInput(f"{name} must be from {lo} to {hi}, not {value}")
    return value


# -- the town ------------------------------------------------------------------------


def _patrol_health(states: dict, now: float) -> list[list[str]]:
    rows = []
    for key, st in states.items():
        last = st.last_cycle_at or st.heartbeat_at
        # A patrol sleeps at most its backoff; three times that (and at least a minute) is stale.
        limit = max(60.0, 3 * (st.last_delay_s or 0))
        health = "never ran" if not last else ("ok" if now - last <= limit else "stale")
        rows.append([esc(key), badge(health, {"ok": "ok", "stale": "bad"}.get(health, "warn")), esc(ago(last, now)),
                     esc(f"{st.last_delay_s:g}s"), esc(st.idle_cycles), esc(len(st.nudges))])  # fmt: skip
    return rows


def _agent_state(a) -> str:
    if not a.running:
        return badge(a.agent_state or "stopped", "stopped")
    if not a.alive:
        return badge("dead pane", "bad")
    return badge(a.agent_state or "running", "ok" if a.agent_state in ("", "working", "running", "idle") else "warn")


def _sandbox(a) -> str:
    from ..sandbox.policy import summary

    word = summary(getattr(a, "sandbox", None))
    return '<span class="muted">-</span>' if word == "-" else esc(word)


async def town(d, q: Mapping) -> Page:
    from ..patrol.state import all_states
    from ..town.status import status_from
    from ..work import convoys, metrics

    rpc = d.rpc
    t = d.town()
    sessions = await rpc.sessions_async(t)
    st = status_from(t, sessions, tmux_running=rpc._snapshot_running)
    led = d.ledger
    stats = led.stats()
    open_convoys = convoys.list_convoys(led, status="open")
    costs = d.costs()
    now = time.time()
    dm = st.daemon
    daemon = (
        f'{badge("running", "ok") if dm.get("running") else badge("not running", "bad")} '
        f'pid {esc(dm.get("pid") or "-")} · last beat {esc(ago(dm.get("last_beat"), now))} · {esc(dm.get("beats", 0))} beats'
        f' · tmux {badge("up", "ok") if st.tmux.running else badge("down", "bad")} '
        f"{esc(st.tmux.session_count)} sessions on {esc(st.tmux.socket)}"
    )
    cards = "".join(
        f'<div class="card"><div class="n">{esc(n)}</div><div class="l">{esc(label)}</div></div>'
        for n, label in (
            (len(st.agents), "agents"),
            (sum(1 for a in st.agents if a.running), "running"),
            (len(open_convoys), "open convoys"),
            (stats["ready"], "ready"),
            (stats["blocked"], "blocked"),
            (stats["total"], "beads"),
        )
    )
    by_rig: dict[str, list] = {}
    for a in st.agents:
        by_rig.setdefault(a.rig, []).append(a)
    rigs = table(
        ["rig", "prefix", "agents", "running", "repository"],
        [[esc(r.name), esc(r.prefix), esc(len(by_rig.get(r.name, []))),
          esc(sum(1 for a in by_rig.get(r.name, []) if a.running)), f'<code>{esc(r.repo)}</code>']
         for r in st.rigs],  # fmt: skip
        empty="no rigs yet (gt rig add)",
    )
    agent_rows = []
    for a in st.agents:
        hook = " ".join(bead_link(h) for h in a.hook) or '<span class="muted">-</span>'
        nudges = f' <span class="badge warn" title="queued nudges">{a.nudges_pending} queued</span>' if a.nudges_pending else ""
        agent_rows.append([
            agent_link(a.address), esc(a.role), esc(a.rig or "town"), _agent_state(a) + nudges, hook,
            when(a.last_activity), _sandbox(a), esc(costs.agent_cost(a.address)),
        ])  # fmt: skip
    agents = table(["agent", "role", "rig", "state", "hook", "last activity", "sandbox", "cost"], agent_rows,
                   empty="no agents", cls="agents")  # fmt: skip
    patrols = table(["patrol", "health", "last cycle", "backoff", "idle cycles", "nudged"], _patrol_health(all_states(t.root), now),
                    empty="no patrol has run yet")  # fmt: skip
    tp = metrics.throughput(led, hours=24)
    chart = charts.bars([h[11:13] + "h" for h in tp.hours], {"beads closed": tp.closed, "MRs merged": tp.merged},
                        title="throughput per hour, last 24 h", every=3)  # fmt: skip
    failures = ""
    if st.nudge_failures:
        failures = section("Nudge failures", table(["session", "when", "reason"], [
            [esc(f.get("session", "")), when(f.get("at", "")), esc(f.get("reason", ""))] for f in st.nudge_failures
        ]))  # fmt: skip
    actions = ""
    if d.allow_actions:
        actions = section("Actions", d.action_form("sling", {}, "Sling", fields=(("bead", "bead id"), ("target", "rig or agent")))
                          + d.action_form("escalate", {}, "Escalate", fields=(("description", "what is wrong"),
                                                                            ("severity", "low|medium|high|critical"))))  # fmt: skip
    html = (
        f'<h1>{esc(st.town.name)} <small class="muted">{esc(st.town.root)}</small></h1>'
        f'<div class="cards">{cards}</div>'
        f'<p class="daemon">Daemon {daemon}</p>'
        + section("Agents", agents)
        + section("Throughput", chart, extra=' <small class="muted">beads closed and merge requests merged, per hour (UTC)</small>')
        + '<div class="two">'
        + section("Rigs", rigs)
        + section("Patrol health", patrols)
        + "</div>"
        + failures
        + actions
    )
    return Page("Town", html)


# -- convoys -------------------------------------------------------------------------


def _tracked_rows(tree) -> list[list[str]]:
    return [
        [bead_link(b.id), esc(b.title), badge("blocked", "warn") if b.is_blocked and b.status == "open" else badge(b.status),
         esc(b.rig), agent_link(b.assignee), esc(f"P{b.priority}")]
        for b in tree.tracked
    ]  # fmt: skip


def _convoy_block(tree) -> str:
    c = tree.convoy
    state = badge("landed", "ok") if c.status == "closed" else (badge("finished", "ok") if tree.landed else badge("in flight", "info"))
    missing = f'<p class="warn">missing: {esc(", ".join(tree.missing))}</p>' if tree.missing else ""
    return (
        f'<details class="convoy" open><summary>{convoy_link(c.id)} <b>{esc(c.title)}</b> {state} '
        f'{charts.progress(tree.progress.closed, tree.progress.total)}</summary>'
        + table(["bead", "title", "status", "rig", "assignee", "prio"], _tracked_rows(tree), empty="tracks nothing")
        + missing
        + "</details>"
    )


async def convoy_list(d, q: Mapping) -> Page:
    from ..work import convoys

    led = d.ledger
    recent_n = _query_int(q, "recent", 10, 1, 500)
    open_ = convoys.list_convoys(led, status="open")
    trees = [convoys.tree(led, c.id) for c in open_]
    closed = convoys.list_convoys(led, status="closed")
    closed.sort(key=lambda c: (c.updated_at, c.id), reverse=True)
    recent = table(
        ["convoy", "title", "landed", "beads"],
        [[convoy_link(c.id), esc(c.title), when(c.updated_at), charts.progress(c.progress.closed, c.progress.total)]
         for c in closed[:recent_n]],  # fmt: skip
        empty="no convoy has landed yet",
    )
    body = "".join(_convoy_block(t) for t in trees) or '<p class="empty">no open convoys</p>'
    html = f"<h1>Convoys</h1>" + section(f"Open ({len(trees)})", body) + section("Recent", recent)
    return Page("Convoys", html)


async def convoy(d, q: Mapping, convoy_id: str) -> Page:
    from ..work import convoys, metrics

    led = d.ledger
    try:
        tree = convoys.tree(led, convoy_id)
    except NotFound:
        raise d.not_found_convoy(convoy_id) from None
    burn = metrics.burndown(led, convoy_id)
    points = [(p.at[5:16].replace("T", " "), p.open, p.total) for p in burn]
    chart = charts.steps(points, title=f"burndown of {convoy_id}", times=[_epoch(p.at) for p in burn])
    html = (
        f'<h1>Convoy {esc(convoy_id)}</h1>'
        + _convoy_block(tree)
        + section("Burndown", chart, extra=' <small class="muted">open tracked beads over time (UTC)</small>')
        + section("Convoy bead", f'<p>{bead_link(convoy_id, "fields, comments and history")}</p>')
    )
    return Page(f"Convoy {convoy_id}", html)


def _epoch(at: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


# -- a bead --------------------------------------------------------------------------

_FIELDS = ("status", "issue_type", "priority", "assignee", "owner", "created_by", "created_at", "updated_at",
           "closed_at", "close_reason", "parent", "external_ref", "agent_state", "defer_until", "due_at")  # fmt: skip
_TEXTS = ("description", "design", "acceptance_criteria", "notes")


def _payload(p: dict) -> str:
    parts = []
    for k, v in p.items():
        if v in ("", None, [], {}):
            continue
        if isinstance(v, (dict, list)):
            import msgspec

            v = msgspec.json.encode(v).decode()
        text = str(v)
        parts.append(f"<b>{esc(k)}</b>={esc(text if len(text) <= 120 else text[:117] + '...')}")
    return " ".join(parts)


async def bead(d, q: Mapping, bead_id: str) -> Page:
    led = d.ledger
    try:
        b = led.get(bead_id, full=True)
    except NotFound:
        raise d.not_found_bead(bead_id) from None
    fields = "".join(
        f"<tr><th>{esc(f)}</th><td>{_field(f, getattr(b, f))}</td></tr>" for f in _FIELDS if getattr(b, f) not in ("", None)
    )
    if b.labels:
        fields += f"<tr><th>labels</th><td>{' '.join(badge(lbl, 'label') for lbl in b.labels)}</td></tr>"
    texts = "".join(section(f.replace("_", " ").capitalize(), f"<pre>{esc(getattr(b, f))}</pre>") for f in _TEXTS if getattr(b, f))
    deps = table(["depends on", "type", "title", "status"], [
        [bead_link(x.depends_on_id), esc(x.type), *_title_status(led, x.depends_on_id)] for x in b.dependencies
    ], empty="none")  # fmt: skip
    dependents = table(["dependent", "type", "title", "status"], [
        [bead_link(x.issue_id), esc(x.type), *_title_status(led, x.issue_id)] for x in led.dependents(bead_id)
    ], empty="none")  # fmt: skip
    comments = "".join(
        f'<div class="comment"><div class="meta">{agent_link(c.author)} · {when(c.created_at)}</div><pre>{esc(c.text)}</pre></div>'
        for c in b.comments
    ) or '<p class="empty">no comments</p>'
    history = table(["#", "when", "actor", "event", "details"], [
        [esc(e.id), when(e.at), agent_link(e.actor), badge(e.kind, "kind"), _payload(e.payload)] for e in led.events_for(bead_id)
    ], empty="no events recorded", cls="events")  # fmt: skip
    html = (
        f'<h1>{esc(b.id)} <span class="title">{esc(b.title)}</span></h1>'
        f'<table class="fields">{fields}</table>'
        + texts
        + '<div class="two">' + section("Depends on", deps) + section("Dependents", dependents) + "</div>"
        + section(f"Comments ({len(b.comments)})", comments)
        + section("History", history)
    )
    return Page(f"{b.id}", html)


def _field(name: str, value) -> str:
    if name in ("parent",):
        return bead_link(value)
    if name in ("assignee", "owner", "created_by"):
        return agent_link(value)
    if name.endswith("_at"):
        return f"{esc(value)} <span class=\"muted\">({when(value)})</span>"
    if name == "status":
        return badge(value)
    return esc(value)


def _title_status(led, bead_id: str) -> list[str]:
    try:
        other = led.get(bead_id)
    except NotFound:
        return ['<span class="muted">(missing)</span>', ""]
    return [esc(other.title), badge(other.status)]


# -- the merge queue -----------------------------------------------------------------


_SHA = re.compile(r"\b([0-9a-f]{12})[0-9a-f]{28}\b")


def _short_shas(text: str) -> str:
    return _SHA.sub(r"\1", text)


def _journal(mr) -> str:
    return "<ol class=\"journal\">" + "".join(
        f"<li>{short_time(j.at)} <b>{esc(j.event)}</b> {esc(_short_shas(j.detail))} <span class=\"muted\">{esc(j.actor)}</span></li>"
        for j in mr.meta.journal[-8:]
    ) + "</ol>"  # fmt: skip


def _mr_row(mr, extra: str = "") -> list[str]:
    return [bead_link(mr.id), esc(mr.meta.rig), f"<code>{esc(mr.meta.branch)}</code>", bead_link(mr.meta.issue),
            agent_link(mr.meta.polecat), when(mr.updated_at), _journal(mr) + extra]  # fmt: skip


async def merge_queue(d, q: Mapping) -> Page:
    from ..work import gates
    from ..work import merge_requests as mrs

    led = d.ledger
    rig = q.get("rig") or None
    if rig is not None:
        d.require_rig(rig)
    merged_n = _query_int(q, "merged", 20, 1, 1000)
    every = mrs.queue(led, rig, include_closed=True)
    running = [m for m in every if m.status == mrs.CLAIMED]
    pending = [m for m in every if m.status in (mrs.OPEN, mrs.REWORK)]
    failed = [m for m in every if m.status == mrs.GATE_FAILED]
    merged = sorted((m for m in every if m.merged), key=lambda m: m.updated_at, reverse=True)[:merged_n]
    other = sorted((m for m in every if m.status == mrs.CLOSED and not m.merged), key=lambda m: m.updated_at, reverse=True)[:10]
    heads = ["MR", "rig", "branch", "issue", "polecat", "updated", "journal"]
    gate_cmds = {}
    for m in running:
        if m.meta.rig not in gate_cmds:
            gate_cmds[m.meta.rig] = ", ".join(g.run for g in gates.load(led, m.meta.rig).gates) or "(no gate)"
    running_rows = [_mr_row(m, f'<p>gate: <code>{esc(gate_cmds[m.meta.rig])}</code> (attempt {m.meta.attempts})</p>')
                    for m in running]  # fmt: skip
    failed_rows = []
    for m in failed:
        out = mrs.failure_output(led, m.id)
        retry = d.action_form("merge-retry", {"mr": m.id}, "Retry") if d.allow_actions else ""
        failed_rows.append(_mr_row(m, f'<details open><summary>gate output</summary><pre class="output">{esc(out or "(no report)")}</pre></details>{retry}'))
    pending_rows = [_mr_row(m, badge("rework requested", "warn") if m.status == mrs.REWORK else "") for m in pending]
    html = (
        "<h1>Merge queue</h1>"
        + section(f"Running gate ({len(running)})", table(heads, running_rows, empty="the Refinery is idle"))
        + section(f"Pending ({len(pending)})", table(heads, pending_rows, empty="nothing queued"))
        + section(f"Failed ({len(failed)})", table(heads, failed_rows, empty="no failed merges"))
        + section(f"Merged (newest {len(merged)})", table(heads, [_mr_row(m, f'<p>{esc(_short_shas(m.close_reason))}</p>') for m in merged],
                                                          empty="nothing merged yet"))  # fmt: skip
        + (section("Abandoned", table(heads, [_mr_row(m) for m in other])) if other else "")
    )
    return Page("Merge queue", html)


# -- mail ----------------------------------------------------------------------------


def _mail_row(m) -> list[str]:
    subject = f'<a href="/mail/thread/{quote(m.id, safe="")}">{esc(m.subject)}</a>'
    flags = ("" if m.read else badge("unread", "info")) + (badge(f"queue:{m.queue}", "label") if m.queue else "")
    return [subject + " " + flags, agent_link(m.sender), agent_link(m.to), when(m.created_at), esc(f"P{m.priority}")]


async def mail_page(d, q: Mapping) -> Page:
    from ..work import mail, mailing

    led = d.ledger
    address = (q.get("address") or "overseer").strip()
    limit = _query_int(q, "limit", 100, 1, 1000)
    boxes = mail.directory(led)
    view = mailing.inbox_view(led, d.rpc.town_root, address, limit=limit)
    links = " ".join(
        f'<a class="box{" here" if r.address == view.address else ""}" href="/mail?address={quote(r.address, safe="")}">{esc(r.address)}</a>'
        for r in boxes
    )
    warn = f'<p class="warn">{esc(view.warning)}</p>' if view.warning else ""
    compose = d.action_form("mail", {"to": view.address}, "Send", fields=(("subject", "subject"), ("body", "message"))) \
        if d.allow_actions else ""  # fmt: skip
    html = (
        "<h1>Mail</h1>"
        f'<p class="boxes">{links}</p>'
        + section(f"Inbox of {view.address} ({len(view.messages)} open, {view.unread} unread)",
                  warn + table(["subject", "from", "to", "sent", "prio"], [_mail_row(m) for m in view.messages],
                               empty="inbox empty"))  # fmt: skip
        + compose
    )
    return Page(f"Mail: {view.address}", html)


async def mail_thread(d, q: Mapping, message_id: str) -> Page:
    from ..work import mail

    try:
        msgs = mail.thread(d.ledger, message_id)
    except NotFound:
        raise d.not_found_bead(message_id, what="message") from None
    items = "".join(
        f'<article class="msg{" here" if m.id == message_id else ""}"><div class="meta"><b>{esc(m.subject)}</b> · '
        f"{agent_link(m.sender)} → {agent_link(m.to)} · {when(m.created_at)} · {bead_link(m.id)}</div>"
        f"<pre>{esc(m.body)}</pre></article>"
        for m in msgs
    )
    return Page(f"Thread {message_id}", f"<h1>Thread of {esc(message_id)}</h1>{items}")


# -- the feed ------------------------------------------------------------------------

_KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


async def feed(d, q: Mapping) -> Page:
    led = d.ledger
    kind = (q.get("kind") or "").strip()
    rig = (q.get("rig") or "").strip()
    noise = q.get("noise") in ("1", "on", "true")
    limit = _query_int(q, "limit", FEED_LIMIT, 1, 2000)
    if kind and not _KIND_RE.match(kind):
        raise InvalidInput(f"kind must be an event kind like closed or mail_sent, not {kind!r}")
    from ..work import activity

    events = activity.news(led, limit=limit, kind=kind, rig=d.require_rig(rig) if rig else None, noise=noise)
    rigs = d.town().rigs()
    options = "".join(f'<option value="{esc(r.name)}"{" selected" if r.name == rig else ""}>{esc(r.name)}</option>' for r in rigs)
    form = (
        '<form class="filters" method="get" action="/feed">'
        f'<label>kind <input name="kind" value="{esc(kind)}" placeholder="any" size="14"></label> '
        f'<label>rig <select name="rig"><option value="">all</option>{options}</select></label> '
        f'<label><input type="checkbox" name="noise" value="1"{" checked" if noise else ""}> patrol noise</label> '
        '<button>filter</button></form>'
    )
    rows = [[esc(e.id), short_time(e.at), agent_link(e.actor), badge(e.kind, "kind"), bead_link(e.bead_id), _payload(e.payload)]
            for e in events]  # fmt: skip
    hidden = "" if noise else ' <small class="muted">(patrol noise hidden: wisps and their pour/burn/squash events)</small>'
    html = "<h1>Feed</h1>" + form + section(f"Newest {len(rows)} events", table(
        ["#", "time", "actor", "kind", "bead", "details"], rows, empty="no events match", cls="events"), extra=hidden)
    return Page("Feed", html)


# -- an agent ------------------------------------------------------------------------


async def agent(d, q: Mapping, address: str) -> Page:
    from ..runtime import transcripts as tr
    from ..town import lifecycle
    from ..town.status import agent_rows
    from ..work import hooks

    t = d.town()
    try:
        ident = t.resolve(address)
    except (NotFound, InvalidInput):
        raise d.not_found_agent(address) from None
    # Any well-formed polecat name resolves; only agents the town has (a bead, or always on) have a page.
    if ident.address not in {i.address for i in t.agents()} | {i.address for i in t.always_on()}:
        raise d.not_found_agent(address)
    lines = _query_int(q, "lines", 200, 1, 5000)
    sessions = await d.rpc.sessions_async(t)
    row = next((a for a in agent_rows(t, sessions) if a.address == ident.address), None)
    path = tr.transcript_path(t.root, ident.session)
    state = _agent_state(row) if row else badge("no agent bead", "warn")
    hooked = hooks.hooked_work(d.ledger, ident.address)
    hook = table(["bead", "title", "status"], [[bead_link(b.id), esc(b.title), badge(b.status)] for b in hooked],
                 empty="nothing on the hook")  # fmt: skip
    past = table(["started", "session id", "runtime", "mode"], [
        [when(s.at), esc(s.session_id) + (" " + badge("current", "ok") if s is not None and s.current else ""), esc(s.runtime), esc(s.mode)]
        for s in lifecycle.sessions_of(t, ident)[:10]
    ], empty="no sessions recorded")  # fmt: skip
    actions = ""
    if d.allow_actions:
        actions = d.action_form("nudge", {"agent": ident.address}, "Nudge", fields=(("message", "message"),))
    text = tr.tail(path, lines)
    size = tr.size(path)
    info = (
        f'<p>{esc(ident.role)} · rig {esc(ident.rig or "town")} · session <code>{esc(ident.session)}</code> · {state}'
        f' · last activity {when(row.last_activity) if row else "-"} · sandbox {_sandbox(row) if row else "-"}'
        f' · cost {esc(d.costs().agent_cost(ident.address))}</p>'
    )
    html = (
        f"<h1>{esc(ident.address)}</h1>{info}"
        + '<div class="two">' + section("Hook", hook) + section("Sessions", past) + "</div>"
        + actions
        + section("Transcript", f'<pre id="transcript" class="transcript" data-offset="{size}">{esc(text)}</pre>',
                  extra=' <small class="muted">read-only; follows the live pane</small>')  # fmt: skip
    )
    return Page(ident.address, html, transcript=(ident.session, ident.address, path, size))


# -- costs ---------------------------------------------------------------------------


async def costs(d, q: Mapping) -> Page:
    from ..costs.report import format_usd

    data = d.costs()
    if not data.available:
        html = (
            "<h1>Costs</h1>"
            '<p class="empty">no cost data: no session of this town has reported token usage yet (the script '
            "runtime reports none; Claude Code and Codex sessions do, see docs/costs.md).</p>"
        )
        return Page("Costs", html)
    per_rig = charts.bars(data.days, data.per_rig_per_day, title="cost per rig per day", unit="$",
                          every=max(1, len(data.days) // 10))  # fmt: skip
    rows = [[agent_link(a), esc(r), esc(format_usd(c))] for a, r, c in data.per_agent]
    notes = "".join(f'<p class="warn">{esc(w)}</p>' for w in data.warnings)
    if data.unpriced:
        notes += f'<p class="warn">models without a price (counted $0): {esc(", ".join(data.unpriced))}</p>'
    html = (
        f"<h1>Costs <small class=\"muted\">total {esc(format_usd(data.total_usd))}</small></h1>"
        + notes
        + section("Per rig and day", per_rig, extra=' <small class="muted">USD, UTC days</small>')
        + section("Per agent", table(["agent", "rig", "cost"], rows, empty="no agent has a cost yet"))
    )
    return Page("Costs", html)


# -- routing -------------------------------------------------------------------------

ROUTES: list[tuple[re.Pattern, object]] = [
    (re.compile(r"^/$"), town),
    (re.compile(r"^/convoys$"), convoy_list),
    (re.compile(r"^/convoy/(?P<convoy_id>[^/]+)$"), convoy),
    (re.compile(r"^/bead/(?P<bead_id>[^/]+)$"), bead),
    (re.compile(r"^/mq$"), merge_queue),
    (re.compile(r"^/mail$"), mail_page),
    (re.compile(r"^/mail/thread/(?P<message_id>[^/]+)$"), mail_thread),
    (re.compile(r"^/feed$"), feed),
    (re.compile(r"^/agent/(?P<address>.+)$"), agent),
    (re.compile(r"^/costs$"), costs),
]


def match(path: str):
    """(page function, path parameters) for a path, or None."""
    for pattern, fn in ROUTES:
        m = pattern.match(path)
        if m:
            return fn, m.groupdict()
    return None
