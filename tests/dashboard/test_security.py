"""`gt dashboard` is safe by default: real server processes over a freshly installed town, plain HTTP.

Loopback without a token answers only loopback Host names; any other bind
and --allow-actions need the token (stored 0600, printed once); actions are
refused unless --allow-actions, then need the token and the CSRF value; bad
input is one clear line (a port in use: exit 1) and the server keeps serving.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
from dash_helpers import GT, DashServer, claude_reply, get

from gastown_server.beads.store import Ledger


@pytest.fixture
def plain(town_root):
    srv = DashServer(town_root)
    yield srv
    srv.stop()


def test_loopback_dashboard_refuses_actions_and_foreign_hosts(town_root, plain):
    status, _, body = get(plain.url + "/")
    assert status == 200 and "Agents" in body
    assert "form" not in body.split("<main", 1)[1]  # no action forms are drawn
    status, _, body = get(plain.url + "/action/mail", data=urllib.parse.urlencode(
        {"to": "mayor", "subject": "hi", "csrf": "x"}).encode())  # fmt: skip
    assert status == 403 and "--allow-actions" in body
    led = Ledger(town_root / ".gastown" / "ledger.db")
    try:
        assert led.list(issue_type="message", include_closed=True) == []  # nothing was sent
    finally:
        led.disconnect()
    # DNS rebinding: a page elsewhere whose name now points here is refused.
    status, _, body = get(plain.url + "/", headers={"Host": f"evil.example:{plain.port}"})
    assert status == 403 and "answers only to localhost" in body
    status, _, _ = get(f"http://localhost:{plain.port}/")
    assert status == 200


def test_bad_input_is_one_clear_message_and_the_server_keeps_serving(town_root, plain):
    for path, code, needle in [
        ("/bead/hq-nosuch", 404, "There is no bead &#x27;hq-nosuch&#x27;"),
        ("/convoy/hq-nosuch", 404, "There is no convoy"),
        ("/agent/nobody", 404, "There is no agent"),
        ("/feed?limit=-3", 400, "limit must be from 1 to 2000"),
        ("/feed?rig=nosuch", 400, "no rig &#x27;nosuch&#x27;"),
        ("/feed?kind=DROP%20TABLE", 400, "kind must be an event kind"),
        ("/mail?address=list:nobody", 400, "has no inbox"),
        ("/live?view=http://elsewhere/", 400, "view must be a dashboard page path"),
        ("/nowhere", 404, "There is no page /nowhere"),
    ]:
        status, _, body = get(plain.url + path)
        assert status == code, (path, status, body[:300])
        assert len(re.findall(r'class="error"', body)) == 1 and needle in body, (path, body[:600])
    assert get(plain.url + "/")[0] == 200
    assert plain.proc.poll() is None


def test_a_port_in_use_is_one_line_and_exit_1(town_root, plain):
    proc = subprocess.run([*GT, "dashboard", "--town", str(town_root), "--port", str(plain.port)], cwd=town_root,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"gt: error: port {plain.port} on 127.0.0.1 is in use: pick another with --port N"], proc.stderr
    assert get(plain.url + "/")[0] == 200  # the first one is untouched


def _token_line(srv: DashServer) -> str | None:
    for line in srv.lines:
        if "?token=" in line and "<the token" not in line:
            return line.strip()
    return None


def test_other_binds_need_the_token_on_every_request(town_root):
    token_file = town_root / ".gastown" / "dashboard.token"
    srv = DashServer(town_root, "--host", "0.0.0.0")
    try:
        token = token_file.read_text().strip()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        shown = _token_line(srv)
        assert shown is not None and shown.endswith(urllib.parse.urlencode({"token": token}))  # shown once, now
        base = f"http://127.0.0.1:{srv.port}"
        for path in ("/", "/convoys", "/static/dashboard.js", "/live?view=/"):
            status, _, body = get(base + path)
            assert status == 401 and "needs its token" in body, path
        status, _, body = get(base + "/?token=wrong")
        assert status == 401 and "wrong token" in body
        # A wrong token in the header or a stale cookie is called wrong too (not "missing").
        for headers in ({"X-Gastown-Token": "wrong"}, {"Authorization": "Bearer wrong"},
                        {"Cookie": "gt_dashboard_token=stale"}):  # fmt: skip
            status, _, body = get(base + "/convoys", headers=headers)
            assert status == 401 and body.count('class="error"') == 1 and "wrong token" in body, headers
        assert srv.proc.poll() is None
        status, _, body = get(base + "/", headers={"X-Gastown-Token": token})
        assert status == 200 and "Agents" in body
        status, _, _ = get(base + "/mq", headers={"Authorization": f"Bearer {token}"})
        assert status == 200
        # A first visit with ?token= sets the cookie and drops the token from the address.
        status, headers, _ = get(base + "/feed?token=" + token + "&noise=1", follow=False)
        assert status == 303 and headers["Location"] == "/feed?noise=1"
        cookie = headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        status, _, body = get(base + "/feed?noise=1", headers={"Cookie": cookie.split(";", 1)[0]})
        assert status == 200 and "Feed" in body
    finally:
        srv.stop()
    again = DashServer(town_root, "--host", "0.0.0.0")
    try:
        assert _token_line(again) is None  # the stored token is reused and not printed again
        assert any("dashboard.token" in line for line in again.lines)
    finally:
        again.stop()


def test_actions_need_allow_actions_the_token_and_the_csrf_value(town_root):
    srv = DashServer(town_root, "--allow-actions")
    led = Ledger(town_root / ".gastown" / "ledger.db")
    try:
        token = (town_root / ".gastown" / "dashboard.token").read_text().strip()
        auth = {"X-Gastown-Token": token}
        status, _, page = get(srv.url + "/mail?address=mayor", headers=auth)
        assert status == 200
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        form = {"to": "mayor", "subject": "from the dashboard", "body": "hello"}
        status, _, _ = get(srv.url + "/action/mail", data=urllib.parse.urlencode({**form, "csrf": csrf}).encode())
        assert status == 401  # no token
        status, _, body = get(srv.url + "/action/mail", headers=auth, data=urllib.parse.urlencode(form).encode())
        assert status == 403 and "CSRF" in body  # no CSRF value
        status, _, body = get(srv.url + "/action/mail", headers={**auth, "Origin": "http://evil.example"},
                              data=urllib.parse.urlencode({**form, "csrf": csrf}).encode())  # fmt: skip
        assert status == 403 and "CSRF" in body  # another site's form
        assert led.list(issue_type="message", include_closed=True) == []
        status, _, body = get(srv.url + "/action/mail", headers=auth, data=urllib.parse.urlencode({**form, "csrf": csrf}).encode())
        assert status == 200 and "sent to mayor" in body, body[:500]
        sent = led.list(issue_type="message", include_closed=True)
        assert [(m.title, m.assignee) for m in sent] == [("from the dashboard", "mayor")]
        status, _, town_page = get(srv.url + "/", headers=auth)
        assert 'action="/action/sling"' in town_page and 'action="/action/escalate"' in town_page
        status, _, body = get(srv.url + "/action/escalate", headers=auth, data=urllib.parse.urlencode(
            {"description": "the gate is flaky", "severity": "high", "csrf": csrf}).encode())  # fmt: skip
        assert status == 200 and "escalated as" in body, body[:500]
        status, _, body = get(srv.url + "/action/merge-retry", headers=auth,
                              data=urllib.parse.urlencode({"mr": "hq-nosuch", "csrf": csrf}).encode())  # fmt: skip
        assert status == 404 and body.count('class="error"') == 1
    finally:
        led.disconnect()
        srv.stop()


def test_open_hands_the_page_to_the_browser(town_root, tmp_path):
    """--open: Python's webbrowser, which honours $BROWSER; here a script that writes down what it was given."""
    seen = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$@" >> {seen}\n')
    browser.chmod(0o755)
    env = {**os.environ, "BROWSER": str(browser)}
    srv = DashServer(town_root, "--open", env=env)
    try:
        deadline = time.monotonic() + 10
        while not seen.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen.read_text().split() == [srv.url + "/"]
    finally:
        srv.stop()
    seen.unlink()
    # With a token (new, then stored), the browser gets a single-use login link, never the token:
    # its command line is visible to every local user.
    for run in ("new token", "stored token"):
        srv = DashServer(town_root, "--open", "--allow-actions", env=env)
        try:
            deadline = time.monotonic() + 10
            while not seen.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            token = (town_root / ".gastown" / "dashboard.token").read_text().strip()
            [opened] = seen.read_text().split()
            assert token not in opened, run
            assert opened.startswith(srv.url + "/?login="), (run, opened)
            status, headers, _ = get(opened, follow=False)  # the browser's visit: the cookie, and the link leaves the URL
            assert status == 303 and headers["Location"] == "/", run
            assert f"gt_dashboard_token={token}" in headers["Set-Cookie"], run
            status, _, body = get(opened, follow=False)  # good once
            assert status == 401 and "used already or has expired" in body, run
        finally:
            srv.stop()
        seen.unlink()


def test_port_option_is_checked_before_anything_starts(town_root):
    proc = subprocess.run([*GT, "dashboard", "--town", str(town_root), "--port", "70000"], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "gt: error: argument --port: port must be 0-65535, not 70000 (see 'gt dashboard --help')"
    ]


def test_costs_page_and_cost_column_show_what_gastown_costs_reports(town_root, tmp_path):
    """A Claude Code session file (as the runtime writes it) behind a session_started event: the dashboard
    shows the costs domain's numbers (gt costs --json is the reference), per agent and as the rig/day picture."""
    import json

    from gastown_server.town.core import Town
    from gastown_server.town.identity import rig_identity
    from gastown_server.town.roles import ensure_agent_bead

    logs = tmp_path / "claude-session.jsonl"
    logs.write_text("\n".join([claude_reply("2026-12-01", "m1", 1_000_000, 10_000),
                               claude_reply("2026-12-02", "m2", 500_000, 20_000)]) + "\n")  # fmt: skip
    town = Town(town_root)
    try:
        ident = rig_identity(town_root, "alpha", "al", "polecat", "p1")
        ensure_agent_bead(town.ledger, ident, actor="overseer")
        with town.ledger.mutation("session_started", "overseer", ident.bead_id, {
            "address": ident.address, "session": ident.session, "session_id": "3f0c2a9e-0000-4000-8000-000000000001",
            "runtime": "claude", "logs": str(logs), "mode": "start",
        }):  # fmt: skip
            pass
    finally:
        town.close()
    reference = json.loads(subprocess.run([*GT, "costs", "--json"], cwd=town_root, capture_output=True, text=True,
                                          timeout=60, check=True).stdout)  # fmt: skip
    [row] = reference["rows"]
    assert row["key"] == "alpha/polecats/p1" and row["cost_usd"] > 0
    from gastown_server.costs.report import format_usd

    shown = format_usd(row["cost_usd"])
    srv = DashServer(town_root)
    try:
        status, _, body = get(srv.url + "/costs")
        assert status == 200 and "no cost data" not in body
        assert "Per rig and day" in body and "<svg" in body and "2026-12-01" in body and "2026-12-02" in body
        assert f"alpha/polecats/p1</a></td><td>alpha</td><td>{shown}</td>" in body
        assert f"total {shown}" in body
        status, _, body = get(srv.url + "/")
        assert status == 200 and shown in body  # the agent's cost column
    finally:
        srv.stop()


def test_merge_queue_shows_a_failed_gates_output_and_retry_requeues_it(town_root, src_repo):
    """The real Refinery runs a failing gate on a real branch; /mq shows its output; Retry (with
    --allow-actions, token and CSRF) puts the MR back in the queue."""
    from gastown_server.town import rigs
    from gastown_server.town.core import Town
    from gastown_server.work import gates, refinery
    from gastown_server.work import merge_requests as mrs

    town = Town(town_root)
    try:
        rig = rigs.add(town, "alpha", str(src_repo))
        git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-C", str(rig.repo)]
        branch = "polecat/p1/al-x1"
        subprocess.run([*git, "checkout", "-q", "-b", branch], check=True)
        (Path(rig.repo) / "change.txt").write_text("a change\n")
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "a change"], check=True)
        head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run([*git, "checkout", "-q", "main"], check=True)
        gates.save(town.ledger, "alpha", actor="overseer", gates=["echo gate-said-no-4711; exit 3"])
        mr, _ = mrs.submit(town.ledger, rig="alpha", prefix=rig.prefix, branch=branch, base="main", head=head,
                           polecat="alpha/polecats/p1", actor="alpha/polecats/p1")  # fmt: skip
        outcome = refinery.process_next(town.ledger, mrs.rig_ref(rig))
        assert outcome.result == "failed", outcome
    finally:
        town.close()
    srv = DashServer(town_root, "--allow-actions")
    try:
        auth = {"X-Gastown-Token": (town_root / ".gastown" / "dashboard.token").read_text().strip()}
        status, _, page = get(srv.url + "/mq", headers=auth)
        assert status == 200 and "Failed (1)" in page and "Pending (0)" in page
        failed = page.split("Failed (1)", 1)[1].split("Merged", 1)[0]
        assert mr.id in failed and "gate-said-no-4711" in failed and "exited 3" in failed
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        status, _, body = get(srv.url + "/action/merge-retry", headers=auth,
                              data=urllib.parse.urlencode({"mr": mr.id, "csrf": csrf}).encode())  # fmt: skip
        assert status == 200 and f"{mr.id} is queued again" in body, body[:500]
        status, _, page = get(srv.url + "/mq", headers=auth)
        assert "Failed (0)" in page and "Pending (1)" in page and "retry_requested" in page
        status, _, body = get(srv.url + "/action/merge-retry", headers=auth,
                              data=urllib.parse.urlencode({"mr": mr.id, "csrf": csrf}).encode())  # fmt: skip
        assert status == 409 and "only a failed merge request can be retried" in body
        # The Refinery takes it again: while its gate runs the page shows it under "Running gate", with the gate.
        led = Ledger(town_root / ".gastown" / "ledger.db")
        try:
            claimed = mrs.claim_next(led, "alpha", actor="alpha/refinery")
        finally:
            led.disconnect()
        assert claimed is not None and claimed.id == mr.id
        status, _, page = get(srv.url + "/mq", headers=auth)
        running = page.split("Running gate (1)", 1)[1].split("Pending", 1)[0]
        assert mr.id in running and "echo gate-said-no-4711; exit 3" in running and "attempt 2" in running, running
        assert "Pending (0)" in page
    finally:
        srv.stop()


def test_convoy_burndown_places_each_change_at_its_time(town_root):
    """Three changes, the second 0.1 s after the first and the third 2 s later: the middle dot sits near
    the start of the axis (evenly spaced, it would be in the middle)."""
    from gastown_server.work import convoys

    led = Ledger(town_root / ".gastown" / "ledger.db")
    try:
        a, b = (led.create(t, actor="overseer", issue_type="task").id for t in ("first", "second"))
        convoy = convoys.create(led, "Timed", [a, b], actor="overseer").id
        time.sleep(0.1)
        led.close(a, actor="overseer", reason="done")
        time.sleep(2.0)
        led.close(b, actor="overseer", reason="done")
    finally:
        led.disconnect()
    srv = DashServer(town_root)
    try:
        status, _, page = get(srv.url + f"/convoy/{convoy}")
        assert status == 200
        chart = page.split("Burndown", 1)[1]
        dots = [float(x) for x in re.findall(r'<circle cx="([0-9.]+)"', chart)]
        assert len(dots) == 3, chart[:2000]
        first, middle, last = dots
        assert (middle - first) / (last - first) < 0.15, dots
    finally:
        srv.stop()
