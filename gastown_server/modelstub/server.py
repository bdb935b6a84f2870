"""The loopback model's HTTP server: stub mode (the policy answers) or forward mode (a key-adding proxy).

Binds 127.0.0.1 only.  Routes come from the API front ends
(:data:`FRONT_ENDS`: each module's ``ROUTES`` maps a path to
``handler(server, request_dict, wants_stream) -> Response``); the Anthropic
one is built in here.

Forward mode: requests are passed to ``upstream`` (default
``https://api.anthropic.com``) with the caller's ``x-api-key`` /
``authorization`` replaced by the key the proxy was started with.  The key
comes from the proxy's own environment (``ANTHROPIC_API_KEY`` or
``ANTHROPIC_AUTH_TOKEN``) and is removed from ``os.environ`` at once, so no
child process can inherit it; agents only ever see the loopback URL and a
placeholder key.

Every request is appended to the log (JSONL, one object a line: ``at``,
``path``, ``api``, ``kind``, ``user`` (what was typed, hook context
removed), ``calls`` (shell commands), ``text``, ``usage``, ``status``).
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec

from . import anthropic, policy

#: Front ends other than Anthropic's, imported when present (``responses``: OpenAI Responses API).
FRONT_ENDS = ("gastown_server.modelstub.responses",)
#: What the agents get instead of the real key (the proxy swaps it).
PLACEHOLDER_KEY = "sk-ant-gastown-loopback-placeholder"
_HOP = {"connection", "keep-alive", "proxy-authorization", "te", "trailers", "transfer-encoding", "upgrade", "host",
        "content-length", "x-api-key", "authorization", "accept-encoding"}  # fmt: skip


class Response(msgspec.Struct):
    status: int = 200
    body: bytes = b""
    #: For SSE: chunks written as they come.
    stream: Iterator[bytes] | None = None
    content_type: str = "application/json"


Handler = Callable[["StubServer", dict, bool], Response]


def json_response(obj, status: int = 200) -> Response:
    return Response(status=status, body=json.dumps(obj).encode())


def error_response(status: int, kind: str, message: str) -> Response:
    return json_response({"type": "error", "error": {"type": kind, "message": message}}, status)


def _messages(server: StubServer, req: dict, stream: bool) -> Response:
    try:
        conv = anthropic.conversation(req)
    except anthropic.BadRequest as exc:
        return error_response(400, "invalid_request_error", str(exc))
    reply = server.decide(conv)
    server.log_reply("anthropic", "/v1/messages", anthropic.last_user_text(conv), reply, who=policy.identity(conv)[0])
    if server.fault == "bad-reply":
        # A reply no Messages-API client accepts (tests the "model reply the CLI rejects" path).
        return Response(body=b'{"type": "message", "content": "not a list"', content_type="application/json")
    if stream:
        return Response(stream=anthropic.sse(req, reply, conv), content_type="text/event-stream")
    return json_response(anthropic.message(req, reply, conv))


def _count_tokens(server: StubServer, req: dict, stream: bool) -> Response:
    try:
        return json_response(anthropic.count_tokens(req))
    except anthropic.BadRequest as exc:
        return error_response(400, "invalid_request_error", str(exc))


BUILTIN_ROUTES: dict[str, Handler] = {"/v1/messages": _messages, "/v1/messages/count_tokens": _count_tokens}


def routes() -> dict[str, Handler]:
    table = dict(BUILTIN_ROUTES)
    for name in FRONT_ENDS:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        table.update(getattr(mod, "ROUTES", {}))
    return table


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    #: SO_REUSEADDR: a restart may reuse a port in TIME_WAIT; a port someone listens on is still refused.
    allow_reuse_address = True

    def __init__(self, port: int = 0, *, log_path: Path | None = None, upstream: str = "", key: str = "",
                 auth_token: str = "", fault: str = "", decide=policy.decide) -> None:  # fmt: skip
        super().__init__(("127.0.0.1", port), _RequestHandler)
        self.log_path = Path(log_path) if log_path else None
        self.upstream = upstream.rstrip("/")
        self.key = key
        self.auth_token = auth_token
        self.fault = fault
        self.decide = decide
        self.routes = routes()
        self._log_lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mode(self) -> str:
        return "forward" if self.upstream else "stub"

    def log(self, entry: dict) -> None:
        if self.log_path is None:
            return
        entry = {"at": round(time.time(), 3), **entry}
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._log_lock, open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(line)

    def log_reply(self, api: str, path: str, user: str, reply: policy.Reply, *, who: str = "") -> None:
        self.log({"path": path, "api": api, "who": who, "kind": reply.kind, "user": user,
                  "calls": [c.command for c in reply.calls], "text": reply.text,
                  "usage": msgspec.to_builtins(reply.usage), "status": 200})  # fmt: skip


class _RequestHandler(BaseHTTPRequestHandler):
    server: StubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - quiet: the JSONL log is the record
        pass

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path in ("/", "/health"):
            self._send(json_response({"ok": True, "mode": self.server.mode, "routes": sorted(self.server.routes)}))
        elif self.server.upstream:
            self._forward(b"")
        else:
            self._send(error_response(404, "not_found_error", f"no such endpoint: GET {path}"))

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.server.upstream:
            return self._forward(body)
        path = urllib.parse.urlsplit(self.path).path
        handler = self.server.routes.get(path)
        if handler is None:
            self.server.log({"path": path, "status": 404})
            return self._send(error_response(404, "not_found_error", f"no such endpoint: POST {path}"))
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return self._send(error_response(400, "invalid_request_error", "the body is not JSON"))
        try:
            resp = handler(self.server, req, bool(isinstance(req, dict) and req.get("stream")))
        except Exception as exc:  # noqa: BLE001 - a policy bug answers 500 and the server lives on
            self.server.log({"path": path, "status": 500, "error": f"{type(exc).__name__}: {exc}"})
            resp = error_response(500, "api_error", f"loopback model failed: {type(exc).__name__}: {exc}")
        self._send(resp)

    def _send(self, resp: Response) -> None:
        self.send_response(resp.status)
        self.send_header("content-type", resp.content_type)
        if resp.stream is None:
            self.send_header("content-length", str(len(resp.body)))
            self.end_headers()
            self.wfile.write(resp.body)
            return
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for chunk in resp.stream:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _forward(self, body: bytes) -> None:
        srv = self.server
        up = urllib.parse.urlsplit(srv.upstream)
        conn_cls = http.client.HTTPSConnection if up.scheme == "https" else http.client.HTTPConnection
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        if srv.auth_token:
            headers["authorization"] = f"Bearer {srv.auth_token}"
        if srv.key:
            headers["x-api-key"] = srv.key
        headers["content-length"] = str(len(body))
        path = (up.path.rstrip("/") + self.path) if up.path else self.path
        try:
            conn = conn_cls(up.hostname, up.port, timeout=600)
            conn.request(self.command, path, body=body, headers=headers)
            resp = conn.getresponse()
        except OSError as exc:
            srv.log({"path": self.path, "mode": "forward", "status": 502, "error": str(exc)})
            return self._send(error_response(502, "api_error", f"upstream {srv.upstream} unreachable: {exc}"))
        srv.log({"path": self.path, "mode": "forward", "status": resp.status})
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in _HOP:
                self.send_header(k, v)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        while True:
            chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
            if not chunk:
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        conn.close()


def take_key_from_env(env: dict | None = None) -> tuple[str, str]:
    """(api key, auth token) from the environment, removed from it (children never inherit them)."""
    env = os.environ if env is None else env
    key = env.pop("ANTHROPIC_API_KEY", "") or ""
    token = env.pop("ANTHROPIC_AUTH_TOKEN", "") or ""
    return key, token
