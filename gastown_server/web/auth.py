"""Who may look, and who may act.

* The token: 32 random bytes (urlsafe), generated on the first bind that
  needs one and kept in ``<town>/.gastown/dashboard.token`` (mode 0600);
  ``gt dashboard`` prints it once, when it is made.
* Every request of a token-protected dashboard carries it: the
  ``X-Gastown-Token`` header, ``Authorization: Bearer``, or the cookie that
  a first ``?token=`` visit sets (HttpOnly, SameSite=Strict; the visit is
  redirected to the same URL without the token, so it leaves the address bar).
* ``--open`` never puts the token on a command line (other local users
  read those in ``ps``): it opens a single-use login link (``?login=``) that
  expires after a minute and sets the same cookie.
* A loopback dashboard without a token answers only requests whose ``Host``
  is a loopback name: a web page elsewhere cannot rebind a DNS name to
  127.0.0.1 and read the town.
* A write action also needs the CSRF value (an HMAC of the token) that the
  server puts in its own forms, and an ``Origin`` (when the browser sends
  one) naming this server.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

COOKIE = "gt_dashboard_token"
#: How long a login link from ``--open`` stays good (seconds); it is good once.
LOGIN_TTL_S = 60.0
HEADER = "X-Gastown-Token"
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]", "::1")


def token_path(town_root: Path) -> Path:
    return Path(town_root) / ".gastown" / "dashboard.token"


def load_or_create(town_root: Path) -> tuple[str, bool]:
    """(token, created): the stored token, or a new one written 0600 (never readable by others, even briefly)."""
    path = token_path(town_root)
    try:
        text = path.read_text().strip()
        if text:
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
            return text, False
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    os.replace(tmp, path)
    return token, True


def issue_login(dash) -> str:
    """A single-use login nonce for ``?login=`` (it expires after :data:`LOGIN_TTL_S`)."""
    import time

    nonce = secrets.token_urlsafe(24)
    dash.logins[nonce] = time.monotonic() + LOGIN_TTL_S
    return nonce


def _take_login(dash, nonce: str) -> bool:
    import time

    now = time.monotonic()
    for stale in [n for n, until in dash.logins.items() if until < now]:
        del dash.logins[stale]
    return dash.logins.pop(nonce, None) is not None


def _with_cookie(dash, request: web.Request, drop: str) -> web.Response:
    """Redirect to the same URL without ``drop`` (it leaves the address bar), setting the token cookie."""
    rest = [(k, v) for k, v in request.query.items() if k != drop]
    resp = web.Response(status=303, headers={"Location": request.path + ("?" + urlencode(rest) if rest else "")})
    resp.set_cookie(COOKIE, dash.token, httponly=True, samesite="Strict", path="/")
    return resp


def is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def csrf_value(token: str) -> str:
    return hmac.new(token.encode(), b"gt-dashboard-csrf", hashlib.sha256).hexdigest()


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def _page(dash, status: int, title: str, text: str) -> web.Response:
    from .html import message_page

    return web.Response(status=status, text=message_page(town=dash.town_name(), title=title, text=text),
                        content_type="text/html")  # fmt: skip


def check(request: web.Request, dash) -> web.StreamResponse | None:
    """None when the request may go on; otherwise the refusal (401/403) or the token-cookie redirect."""
    if dash.token is None:
        host = (request.host or "").rsplit(":", 1)[0] if not (request.host or "").startswith("[") else \
            (request.host or "").split("]")[0] + "]"  # fmt: skip
        if host not in _LOOPBACK_NAMES:
            return _page(dash, 403, "Refused", f"this dashboard answers only to localhost, not to Host {request.host!r}")
        return None
    given = request.query.get("token")
    if given is not None:
        if not _same(given, dash.token):
            return _page(dash, 401, "Unauthorized", "wrong token: use the URL gt dashboard printed, or the token in "
                         ".gastown/dashboard.token")  # fmt: skip
        return _with_cookie(dash, request, "token")
    login = request.query.get("login")
    if login is not None:
        if not _take_login(dash, login):
            return _page(dash, 401, "Unauthorized", "this login link was used already or has expired: run "
                         "gt dashboard --open again, or open the URL with ?token=")  # fmt: skip
        return _with_cookie(dash, request, "login")
    auth = request.headers.get("Authorization", "")
    sent = request.headers.get(HEADER) or (auth[7:] if auth.startswith("Bearer ") else None) or request.cookies.get(COOKIE)
    if sent is None:
        return _page(dash, 401, "Unauthorized", "this dashboard needs its token: open the URL gt dashboard printed "
                     "(…/?token=…), or send the X-Gastown-Token header")  # fmt: skip
    if not _same(sent, dash.token):
        # Say so: a stale cookie or header (the token file was deleted and remade) is not a missing one.
        return _page(dash, 401, "Unauthorized", "wrong token: use the URL gt dashboard printed, or the token in "
                     ".gastown/dashboard.token")  # fmt: skip
    return None


def csrf_ok(dash, request: web.Request, value) -> bool:
    if not dash.csrf or not isinstance(value, str) or not _same(value, dash.csrf):
        return False
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        from urllib.parse import urlsplit

        if urlsplit(origin).netloc != request.host:
            return False
    return True
