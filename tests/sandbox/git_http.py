"""A credential-protected git origin for tests: ``git http-backend`` behind a loopback HTTP server.

Pushes (``git-receive-pack``) need HTTP basic auth with the given user and
password; fetches are anonymous (so ``gt rig add`` can clone it without a
credential).  Every request's outcome is counted in ``server.log``.
"""

from __future__ import annotations

import base64
import http.server
import os
import subprocess
import threading
from pathlib import Path


class _Handler(http.server.BaseHTTPRequestHandler):
    server: "GitHTTPServer"

    def log_message(self, *_args) -> None:  # quiet
        pass

    def _needs_auth(self) -> bool:
        return "git-receive-pack" in self.path

    def _authorized(self) -> bool:
        want = base64.b64encode(f"{self.server.user}:{self.server.password}".encode()).decode()
        return self.headers.get("Authorization", "") == f"Basic {want}"

    def _serve(self) -> None:
        if self._needs_auth() and not self._authorized():
            self.server.log.append(("denied", self.path))
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="gastown-test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path, "QUERY_STRING": query,
            "REQUEST_METHOD": self.command, "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)), "REMOTE_USER": self.server.user if self._authorized() else "",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }  # fmt: skip
        proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.server.log.append(("ok" if status == 200 else str(status), self.path))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _serve
    do_POST = _serve


class GitHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, user: str, password: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root, self.user, self.password = root, user, password
        self.log: list[tuple[str, str]] = []
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def url(self, repo: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{repo}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
