"""Small HTML builders: escaping, links, tables, relative times, the page layout.

Everything the dashboard prints goes through :func:`esc` (ledger text is
written by agents: never trusted as markup).
"""

from __future__ import annotations

import time
from html import escape
from urllib.parse import quote

NAV = (
    ("/", "Town"),
    ("/convoys", "Convoys"),
    ("/mq", "Merge queue"),
    ("/mail", "Mail"),
    ("/feed", "Feed"),
    ("/costs", "Costs"),
)


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def bead_link(bead_id: str, text: str | None = None) -> str:
    if not bead_id:
        return ""
    return f'<a class="id" href="/bead/{quote(bead_id, safe="")}">{esc(text or bead_id)}</a>'


def convoy_link(convoy_id: str, text: str | None = None) -> str:
    return f'<a href="/convoy/{quote(convoy_id, safe="")}">{esc(text or convoy_id)}</a>'


def agent_link(address: str, text: str | None = None) -> str:
    if not address:
        return ""
    return f'<a href="/agent/{quote(address, safe="/")}">{esc(text or address)}</a>'


def badge(text: str, kind: str = "") -> str:
    cls = kind or text.replace(" ", "-").replace("_", "-")
    return f'<span class="badge {esc(cls)}">{esc(text)}</span>'


def table(headers: list[str], rows: list[list[str]], *, empty: str = "nothing here", cls: str = "") -> str:
    """A table of already-rendered cells (callers escape what they put in)."""
    if not rows:
        return f'<p class="empty">{esc(empty)}</p>'
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def parse_time(stamp: str) -> float | None:
    """Epoch seconds of an RFC 3339 UTC stamp (``...Z``), None for ''/garbage."""
    if not stamp:
        return None
    try:
        from ..beads.clock import parse

        return parse(stamp).timestamp()
    except (ValueError, TypeError):
        return None


def ago(epoch: float | None, now: float | None = None) -> str:
    if not epoch:
        return "never"
    d = (time.time() if now is None else now) - epoch
    if d < 0:
        d = 0
    if d < 60:
        return f"{int(d)}s ago"
    if d < 3600:
        return f"{int(d // 60)}m ago"
    if d < 86400:
        return f"{int(d // 3600)}h {int(d % 3600 // 60)}m ago"
    return f"{int(d // 86400)}d ago"


def when(stamp: str) -> str:
    """A stamp shown as "5m ago", the exact time as its tooltip."""
    t = parse_time(stamp)
    if t is None:
        return '<span class="muted">-</span>'
    return f'<time datetime="{esc(stamp)}" title="{esc(stamp)}">{esc(ago(t))}</time>'


def short_time(stamp: str) -> str:
    """``HH:MM:SS`` of a stamp (UTC), for dense lists."""
    return esc(stamp[11:19]) if len(stamp) >= 19 else esc(stamp)


def section(title: str, body: str, *, sid: str = "", extra: str = "") -> str:
    ident = f' id="{esc(sid)}"' if sid else ""
    return f'<section{ident}><h2>{esc(title)}{extra}</h2>{body}</section>'


ACTIONS_ATTR = ' data-actions="1"'


def layout(*, title: str, town: str, path: str, main: str, live: bool = True, actions: bool = False) -> str:
    """The whole page: navigation, the server-rendered ``<main>``, the live-update script."""
    here = ' class="here"'
    nav = "".join(
        f'<a href="{href}"{here if (path == href or (href != "/" and path.startswith(href))) else ""}>{esc(text)}</a>'
        for href, text in NAV
    )
    script = '<script src="/static/dashboard.js" defer></script>' if live else ""
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · {esc(town)} · gt dashboard</title>"
        '<link rel="stylesheet" href="/static/dashboard.css">'
        f"{script}</head>"
        f'<body data-view="{esc(path)}"{ACTIONS_ATTR if actions else ""}>'
        f'<header><span class="brand">{esc(town)} <small>gas town</small></span><nav>{nav}</nav>'
        '<span id="live" class="live off" title="live updates">● <span>static</span></span></header>'
        f'<main id="main">{main}</main>'
        '<footer>gt dashboard · read-only unless started with --allow-actions · '
        "without JavaScript this page shows the data as of loading it</footer>"
        "</body></html>"
    )


def message_page(*, town: str, title: str, text: str, more: str = "") -> str:
    """A 4xx/5xx page: one clear sentence and, where it helps, what is there instead."""
    main = f'<h1>{esc(title)}</h1><p class="error">{esc(text)}</p>{more}'
    return layout(title=title, town=town, path="", main=main, live=False)
