"""``gt dashboard``: an aiohttp web server over the town, the same state the RPC server keeps.

The server holds one :class:`~gastown_server.rpc.app.App` (the RPC
server's town state: the read ledger connection, the cached tmux
snapshot, the feed watcher and transcript streams) and renders pages from
the domain functions (:mod:`gastown_server.web.pages`).  Live updates are
server-sent events (:mod:`gastown_server.web.live`).

Safety (:mod:`gastown_server.web.auth`): a loopback bind without
``--allow-actions`` needs no token but refuses foreign ``Host`` headers
(DNS rebinding); any other bind, and any bind with actions, needs the
town's dashboard token on every request (header, or the cookie a
``?token=`` visit sets).  Write actions are POSTs that also need the CSRF
value embedded in the page's forms.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from aiohttp import web

from ..errors import Conflict, GastownError, InvalidInput, NotFound, NoTown
from . import auth, live, pages
from .html import agent_link, bead_link, esc, layout, message_page

log = logging.getLogger("gastown.web")
STATIC = Path(__file__).resolve().parent / "static"
KEY = web.AppKey("dashboard", object)
FEED_POLL_S = 0.02


class PageError(Exception):
    """An error page: HTTP status, title, one sentence, and what is there instead (HTML)."""

    def __init__(self, status: int, title: str, text: str, more: str = "") -> None:
        super().__init__(text)
        self.status, self.title, self.text, self.more = status, title, text, more


class Dashboard:
    def __init__(self, town_root: Path, *, host: str, port: int, token: str | None, allow_actions: bool) -> None:
        self.root = town_root
        self.host, self.port = host, port
        self.token = token
        #: Single-use login nonces for --open (auth.issue_login), with their expiry (monotonic seconds).
        self.logins: dict[str, float] = {}
        self.allow_actions = allow_actions
        self.csrf = auth.csrf_value(token) if token else ""
        self.rpc = None  # the App, made on the server's loop
        self.hub = live.Hub(self)
        self.renders = 0

    # -- town state ------------------------------------------------------------------

    def start(self) -> None:
        from ..rpc.app import App

        self.rpc = App(self.root)
        # 50 wakeups/s instead of the RPC server's 200 while a tab is open: well inside the 100 ms
        # change-to-browser budget, and a quarter of the idle cost.
        self.rpc.feed.poll_s = FEED_POLL_S
        self.town()  # a ledger-only directory is refused now, not on the first page

    @property
    def ledger(self):
        return self.rpc.ledger

    def town(self):
        return self.rpc.town_for(self.rpc.ledger)

    def town_name(self) -> str:
        return self.rpc.town_name() if self.rpc else self.root.name

    def costs(self):
        from .costs import load

        return load(self)

    def require_rig(self, name: str):
        rigs = self.town().rigs()
        for r in rigs:
            if r.name == name:
                return r
        known = ", ".join(r.name for r in rigs) or "none"
        raise InvalidInput(f"no rig {name!r} (rigs: {known})")

    # -- rendering -------------------------------------------------------------------

    async def render_main(self, view: str) -> str:
        """A view's ``<main>`` (``view`` is a path with its query string), as the live hub sends it."""
        from urllib.parse import parse_qsl, urlsplit

        parts = urlsplit(view)
        found = pages.match(parts.path or "/")
        if found is None:
            raise NotFound(f"no page {parts.path}")
        fn, params = found
        query = dict(parse_qsl(parts.query))
        try:
            page = await fn(self, query, **params)
        except PageError as exc:
            return f'<h1>{esc(exc.title)}</h1><p class="error">{esc(exc.text)}</p>{exc.more}'
        self.renders += 1
        return page.html

    def action_form(self, action: str, hidden: dict, label: str, *, fields=()) -> str:
        """A POST form for a write action, carrying the CSRF value (only drawn with --allow-actions)."""
        inputs = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in hidden.items())
        inputs += f'<input type="hidden" name="csrf" value="{esc(self.csrf)}">'
        for name, placeholder in fields:
            tag = "textarea" if name in ("body", "message", "description") else "input"
            inputs += (f'<textarea name="{name}" placeholder="{esc(placeholder)}" rows="2"></textarea>' if tag == "textarea"
                       else f'<input name="{name}" placeholder="{esc(placeholder)}">')  # fmt: skip
        return f'<form class="action" method="post" action="/action/{esc(action)}">{inputs}<button>{esc(label)}</button></form>'

    # -- what is there, for 404 pages ------------------------------------------------

    def not_found_bead(self, bead_id: str, *, what: str = "bead") -> PageError:
        led = self.ledger
        prefix = bead_id.split("-", 1)[0] if "-" in bead_id else ""
        near = led.list(prefix=prefix, include_closed=True, limit=12, order="updated_at DESC") if prefix else []
        if not near:
            near = led.list(include_closed=True, limit=12, order="updated_at DESC")
        stats = led.stats()
        more = (
            f"<p>The ledger holds {stats['total']} beads. Recently changed"
            f"{' with prefix ' + esc(prefix) if prefix and near and near[0].id.startswith(prefix + '-') else ''}:</p><ul>"
            + "".join(f"<li>{bead_link(b.id)} {esc(b.title)}</li>" for b in near)
            + '</ul><p>See also <a href="/convoys">convoys</a> and <a href="/feed">the feed</a>.</p>'
        )
        return PageError(404, f"No {what} {bead_id}", f"There is no {what} {bead_id!r} in this town's ledger.", more)

    def not_found_convoy(self, convoy_id: str) -> PageError:
        from ..work import convoys

        items = convoys.list_convoys(self.ledger, status="all")[-20:]
        more = "<p>Convoys:</p><ul>" + "".join(
            f'<li><a href="/convoy/{quote(c.id, safe="")}">{esc(c.id)}</a> {esc(c.title)} ({esc(c.status)})</li>' for c in items
        ) + "</ul>" if items else "<p>This town has no convoys yet.</p>"  # fmt: skip
        return PageError(404, f"No convoy {convoy_id}", f"There is no convoy {convoy_id!r} in this town.", more)

    def not_found_agent(self, address: str) -> PageError:
        from ..town.status import agent_rows

        rows = agent_rows(self.town(), {})
        more = "<p>Agents of this town:</p><ul>" + "".join(
            f"<li>{agent_link(a.address)} ({esc(a.role)})</li>" for a in rows
        ) + "</ul>" if rows else "<p>This town has no agents yet.</p>"  # fmt: skip
        return PageError(404, f"No agent {address}", f"There is no agent {address!r} in this town.", more)


# -- request handling ----------------------------------------------------------------


def _error_page(dash: Dashboard, status: int, title: str, text: str, more: str = "") -> web.Response:
    return web.Response(status=status, text=message_page(town=dash.town_name(), title=title, text=text, more=more),
                        content_type="text/html")  # fmt: skip


#: Only our own script, styles and data: an agent's text that slipped past escaping still runs nothing.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")  # fmt: skip


def _hardened(resp: web.StreamResponse) -> web.StreamResponse:
    if not resp.prepared:  # (an event stream has sent its headers already)
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
    return resp


@web.middleware
async def guard(request: web.Request, handler):
    dash: Dashboard = request.app[KEY]
    refused = auth.check(request, dash)
    if refused is not None:
        return _hardened(refused)
    try:
        return _hardened(await handler(request))
    except web.HTTPException:
        raise
    except PageError as exc:
        return _hardened(_error_page(dash, exc.status, exc.title, exc.text, exc.more))
    except NotFound as exc:
        return _hardened(_error_page(dash, 404, "Not found", exc.message))
    except (InvalidInput, NoTown) as exc:
        return _hardened(_error_page(dash, 400, "Bad request", exc.message))
    except Conflict as exc:
        return _hardened(_error_page(dash, 409, "Refused", exc.message))
    except GastownError as exc:
        return _hardened(_error_page(dash, 500, "Error", exc.message))
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception:  # noqa: BLE001 - a bug: logged, and the server keeps serving
        log.exception("%s %s failed", request.method, request.path_qs)
        return _hardened(_error_page(dash, 500, "Internal error", "this page failed to render; the server log has the details"))


async def page(request: web.Request) -> web.Response:
    dash: Dashboard = request.app[KEY]
    found = pages.match(request.path)
    if found is None:
        raise PageError(404, "No such page", f"There is no page {request.path}.",
                        '<p>Pages: <a href="/">town</a>, <a href="/convoys">convoys</a>, <a href="/mq">merge queue</a>, '
                        '<a href="/mail">mail</a>, <a href="/feed">feed</a>, <a href="/costs">costs</a>.</p>')  # fmt: skip
    fn, params = found
    t0 = time.perf_counter()
    result = await fn(dash, request.query, **params)
    dash.renders += 1
    body = layout(title=result.title, town=dash.town_name(), path=request.path, main=result.html,
                  actions=dash.allow_actions)  # fmt: skip
    cursor = dash.rpc.feed.current_cursor()
    body = body.replace('<body data-view=', f'<body data-cursor="{cursor}" data-view=', 1)
    resp = web.Response(text=body, content_type="text/html")
    resp.headers["Server-Timing"] = f"render;dur={(time.perf_counter() - t0) * 1000:.1f}"
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def events(request: web.Request) -> web.StreamResponse:
    """``/live?view=<path?query>&cursor=N``: server-sent events for one tab."""
    dash: Dashboard = request.app[KEY]
    view = request.query.get("view") or "/"
    if not view.startswith("/") or pages.match(view.split("?", 1)[0]) is None:
        raise InvalidInput(f"view must be a dashboard page path like /convoys, not {view!r}")
    try:
        cursor = int(request.query.get("cursor", "0") or 0)
    except ValueError:
        raise InvalidInput("cursor must be a whole number") from None
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                       "X-Accel-Buffering": "no"})  # fmt: skip
    await resp.prepare(request)
    client = live.Client(view)
    dash.hub.add(client)
    try:
        found = pages.match(view.split("?", 1)[0])
        if found and found[0] is pages.agent:
            from urllib.parse import parse_qsl

            p = await pages.agent(dash, dict(parse_qsl(view.partition("?")[2])), **found[1])
            if p.transcript:
                session, agent, path, _ = p.transcript
                offset = request.query.get("offset")
                dash.hub.follow_transcript(client, session, agent, path, int(offset) if offset and offset.isdigit() else None)
        await resp.write(b"retry: 1000\nevent: hello\ndata: {}\n\n")
        if cursor and dash.rpc.feed.current_cursor() > cursor:  # changed between the page load and now
            dash.hub._dirty = True
            dash.hub._schedule()
        while True:
            try:
                chunk = await asyncio.wait_for(client.queue.get(), timeout=live.KEEPALIVE_S)
            except asyncio.TimeoutError:
                chunk = b": keepalive\n\n"
            await resp.write(chunk)
    except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
        pass
    finally:
        dash.hub.remove(client)
    return resp


async def action(request: web.Request) -> web.Response:
    from .actions import run_action

    dash: Dashboard = request.app[KEY]
    name = request.match_info["name"]
    if not dash.allow_actions:
        return _error_page(dash, 403, "Actions are off",
                           "this dashboard is read-only: start it with gt dashboard --allow-actions to sling, nudge, "
                           "mail, escalate or retry merges")  # fmt: skip
    form = await request.post()
    if not auth.csrf_ok(dash, request, form.get("csrf")):
        return _error_page(dash, 403, "Refused", "the form's CSRF check failed: reload the page and submit again")
    result = await run_action(dash, name, form)
    back = request.headers.get("Referer") or "/"
    more = f'<p><a href="{esc(back)}">back</a></p>'
    return web.Response(text=message_page(town=dash.town_name(), title="Done", text=result, more=more).replace(
        'class="error"', 'class="ok"'), content_type="text/html")  # fmt: skip


def make_app(dash: Dashboard) -> web.Application:
    app = web.Application(middlewares=[guard], client_max_size=256 * 1024)
    app[KEY] = dash
    app.router.add_get("/live", events)
    app.router.add_static("/static/", STATIC, show_index=False)
    app.router.add_post("/action/{name}", action)
    app.router.add_get("/{tail:.*}", page)

    async def on_startup(_app):
        dash.start()

    async def on_shutdown(_app):
        dash.hub.close()

    async def on_cleanup(_app):
        if dash.rpc is not None:
            dash.rpc.shutdown()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app


def url(dash: Dashboard, *, with_token: bool = False, login: str | None = None) -> str:
    host = f"[{dash.host}]" if ":" in dash.host else dash.host
    base = f"http://{host}:{dash.port}/"
    if login:
        return base + "?" + urlencode({"login": login})
    return base + ("?" + urlencode({"token": dash.token}) if with_token and dash.token else "")


async def serve(dash: Dashboard, *, ready=None) -> None:
    """Run until cancelled; ``ready(port)`` once listening (the port is real even for ``--port 0``)."""
    runner = web.AppRunner(make_app(dash), access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, dash.host, dash.port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno == errno.EADDRINUSE:
            raise GastownError(f"port {dash.port} on {dash.host} is in use: pick another with --port N") from None
        raise GastownError(f"cannot listen on {dash.host}:{dash.port}: {exc.strerror or exc}") from None
    sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
    if sockets and dash.port == 0:
        dash.port = sockets[0].getsockname()[1]
    if ready is not None:
        ready(dash.port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
