"""`gt dashboard` in a real browser: the demo's town (landed convoy, merged MRs, mail, live agents),
the real server process, headless Chromium (Debian's) driven by Playwright.

One town for the module (~30 s to build and land).  Screenshots go to the
test's output directory (and, with GT_DASHBOARD_SCREENSHOTS=DIR, are copied
there: that is how docs/images/ was made).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dash_helpers import CHROMIUM, CHROMIUM_ARGS, DashServer, png_pixels_vary
from playwright import sync_api as playwright_api  # the pip package, driving Debian's chromium (never `playwright install`)

from gastown_server.beads.store import Ledger
from gastown_server.demo.town import PREFIX, RIG, Demo
from gastown_server.runtime.tmux import socket_name
from gastown_server.work import merge_requests as mrs

pytestmark = pytest.mark.slow
COMMENT = "Reviewed: word_count splits on whitespace"


class Town:
    def __init__(self, where: Path) -> None:
        self.demo = Demo(where, verbose=False)
        self.root = self.demo.town

    def build(self) -> None:
        self.demo.build()
        self.convoy, self.ids = self.demo.file_work()
        self.demo.sling(self.ids)
        self.demo.wait_for_landing(self.convoy, self.ids, timeout_s=120)
        # A second convoy nobody works on: the live test closes its beads from a shell.
        out = [self.demo.run("bd", "create", t, "-t", "task", "--prefix", PREFIX, "--silent", show=False).strip()
               for t in ("Write the changelog", "Tag the release")]  # fmt: skip
        self.open_ids = out
        self.open_convoy = _json_id(self.demo.run("gt", "convoy", "create", "Release 0.2", *out, "--json", show=False))
        self.bd("comment", self.ids[0], COMMENT)

    def bd(self, *argv: str) -> str:
        return self.demo.run("bd", *argv, show=False)

    def teardown(self) -> None:
        if (self.root / ".gastown").exists():
            subprocess.run([sys.executable, "-m", "gastown_server.cli.gt", "down", "--grace", "1"], cwd=self.root,
                           env=self.demo.env, capture_output=True)  # fmt: skip
            subprocess.run(["tmux", "-L", socket_name(self.root), "kill-server"], capture_output=True)


def _json_id(text: str) -> str:
    from gastown_server.demo.town import _json_id as parse

    return parse(text)


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    t = Town(tmp_path_factory.mktemp("dash") / "w")
    try:
        t.build()
        yield t
    finally:
        t.teardown()


@pytest.fixture(scope="module")
def server(town):
    srv = DashServer(town.root, env=town.demo.env)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("screenshots")


def _shoot(page, shots: Path, name: str) -> Path:
    path = shots / f"{name}.png"
    copy_to = os.environ.get("GT_DASHBOARD_SCREENSHOTS")
    data = page.screenshot(path=str(path), full_page=bool(copy_to))  # whole pages only for the docs (slow)
    assert png_pixels_vary(data) > 100, f"{name}: the screenshot looks blank"
    if copy_to:
        Path(copy_to).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(copy_to) / path.name)
    return path


def _open(browser, url: str, *, js: bool = True):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=js)
    page = ctx.new_page()
    resp = page.goto(url)
    return ctx, page, resp


def _pages(town) -> list[tuple[str, str, list[str]]]:
    led = Ledger(town.root / ".gastown" / "ledger.db")
    try:
        merged = [m for m in mrs.queue(led, RIG, include_closed=True) if m.merged]
        polecat = merged[0].meta.polecat
        mail_id = led.list(issue_type="message", include_closed=True, limit=1)[0].id
    finally:
        led.disconnect()
    return [
        ("town", "/", ["Agents", "textkit/refinery", "textkit/witness", "Patrol health", "Throughput", "no cost data",
                       "bwrap,git-broker"]),  # the Refinery's sandbox, worded as gt status words it
        ("convoys", "/convoys", ["Release 0.2", "Recent", "Demo: textkit improvements", town.open_ids[0]]),
        ("convoy", f"/convoy/{town.convoy}", ["Burndown", town.ids[0], town.ids[2], "landed"]),
        ("bead", f"/bead/{town.ids[0]}", ["History", "Depends on", "Dependents", "closed", "Comments (1)", COMMENT]),
        ("merge-queue", "/mq", ["Running gate", "Pending", "Failed", "Merged (newest 3)", "rework_requested"]),
        ("mail", "/mail?address=overseer", ["Inbox of overseer", "CONVOY_LANDED"]),
        ("mail-thread", f"/mail/thread/{mail_id}", ["Thread of"]),
        ("feed", "/feed?limit=40", ["Newest 40", "Release 0.2", "hidden"]),
        ("feed-filtered", f"/feed?kind=convoy_landed&rig={RIG}", ["Newest 1 events", "convoy_landed", town.convoy]),
        ("feed-noise", "/feed?noise=1&kind=molecule_burned&limit=5", ["Newest 5 events", "molecule_burned"]),
        ("agent", f"/agent/{polecat}", [polecat, "Transcript", "Sessions"]),
        ("costs", "/costs", ["no cost data"]),
    ]


def test_each_page_renders_in_chromium(town, server, browser, shots):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    try:
        for name, path, needles in _pages(town):
            resp = page.goto(server.url + path)
            assert resp.status == 200, (path, resp.status, "\n".join(server.lines[-30:]))
            page.wait_for_selector("#live.on", timeout=10_000)  # its live stream is open
            text = page.inner_text("main")
            for needle in needles:
                assert needle in text, (path, needle, text[:2000])
            if name == "feed":  # patrol noise is hidden by default (the demo's patrols burn a wisp every cycle)
                kinds = set(page.locator("table.events .badge.kind").all_inner_texts())
                beads = " ".join(page.locator("table.events a.id").all_inner_texts())
                assert kinds and not kinds & {"molecule_burned", "wisp_poured", "molecule_squashed"}, kinds
                assert "-wisp-" not in beads, beads
            if name == "town":  # the throughput picture: the demo's closes and merges, as bars
                assert _drawn_bars(page, "Throughput") >= 2
            if name == "convoy":  # the burndown: open and tracked as step lines, one dot per change, down to 0 of 3
                chart = "section:has(h2:has-text('Burndown')) svg"
                assert page.locator(f"{chart} path").count() == 2
                dots = page.eval_on_selector_all(f"{chart} circle title", "ts => ts.map(t => t.textContent)")
                assert len(dots) >= 2 and dots[-1].endswith("0 open of 3"), dots
            _shoot(page, shots, name)
    finally:
        ctx.close()


def _drawn_bars(page, section: str) -> int:
    """How many bars of a section's bar chart have a height (the legend's swatches carry no <title>)."""
    return page.eval_on_selector_all(
        f"section:has(h2:has-text('{section}')) svg rect:has(title)",
        "rs => rs.filter(r => parseFloat(r.getAttribute('height')) > 0).length",
    )


def test_pages_show_current_data_without_javascript(town, server, browser, shots):
    ctx, page, resp = _open(browser, server.url + "/convoys", js=False)
    try:
        assert resp.status == 200
        text = page.inner_text("main")
        assert "Release 0.2" in text and town.open_ids[1] in text
        assert page.inner_text("#live") .strip().endswith("static")  # no script ran
        _shoot(page, shots, "convoys-no-js")
        # Current, not cached: a change from a shell is there on the next load.
        bead = town.open_ids[1]
        page.goto(server.url + f"/bead/{bead}")
        assert "no comments" in page.inner_text("main")
        town.bd("comment", bead, "said from a shell, seen without JavaScript")
        page.reload()
        assert "said from a shell, seen without JavaScript" in page.inner_text("main")
        assert page.inner_text("#live").strip().endswith("static")
    finally:
        ctx.close()


def test_bd_close_in_a_shell_appears_on_the_open_convoy_page_within_a_second(town, server, browser, shots):
    ctx, page, _ = _open(browser, server.url + f"/convoy/{town.open_convoy}")
    try:
        page.wait_for_selector("#live.on", timeout=10_000)
        page.evaluate("window.__sameDocument = 'yes'")
        target = town.open_ids[0]
        row = f"tr:has(a[href='/bead/{target}'])"
        assert "open" in page.inner_text(row)
        town.bd("close", target, "--reason", "done by hand")
        closed_at = time.monotonic()
        page.wait_for_function(
            "sel => { const r = document.querySelector(sel); return r && r.innerText.includes('closed'); }",
            arg=row, timeout=5_000, polling="raf",
        )  # fmt: skip
        took = time.monotonic() - closed_at
        assert page.evaluate("window.__sameDocument") == "yes"  # no reload: the same document was updated
        assert "1/2" in page.inner_text("main")
        assert took < 1.0, f"the close reached the page after {took:.2f}s"
        _shoot(page, shots, "convoy-live")
    finally:
        ctx.close()


def test_agent_transcript_follows_the_pane(town, server, browser):
    path = town.root / ".gastown" / "transcripts" / f"{PREFIX}-witness.log"
    ctx, page, _ = _open(browser, server.url + f"/agent/{RIG}/witness")
    try:
        page.wait_for_selector("#live.on", timeout=10_000)
        marker = f"dashboard-marker-{time.time_ns()}"
        with path.open("a") as fh:  # what the pane's pipe-pane writer does
            fh.write(f"\n{marker}\n")
        page.wait_for_function("m => document.getElementById('transcript').textContent.includes(m)", arg=marker,
                               timeout=5_000)  # fmt: skip
        assert page.locator("form.action").count() == 0  # read-only: no nudge form without --allow-actions
    finally:
        ctx.close()


def test_unknown_bead_and_agent_get_a_404_that_says_what_is_there(town, server, browser):
    ctx, page, resp = _open(browser, server.url + f"/bead/{PREFIX}-nosuch")
    try:
        assert resp.status == 404
        text = page.inner_text("main")
        assert f"There is no bead '{PREFIX}-nosuch'" in text and town.ids[0] in text
        resp = page.goto(server.url + "/agent/textkit/polecats/nobody")
        assert resp.status == 404
        text = page.inner_text("main")
        assert "There is no agent" in text and "textkit/refinery" in text
        resp = page.goto(server.url + "/feed?limit=lots")
        assert resp.status == 400 and "limit must be a whole number" in page.inner_text("main")
        assert page.goto(server.url + "/").status == 200  # and it keeps serving
    finally:
        ctx.close()


def test_in_chromium_a_token_bind_refuses_without_the_token_and_actions_are_off(town, server, browser, shots):
    """The safety rules as a browser meets them, on the demo's town: a non-loopback bind answers 401
    until the token URL is visited; the read-only dashboard draws no form and refuses a POST made from
    its own page (same origin) with 403, sending nothing."""
    guarded = DashServer(town.root, "--host", "0.0.0.0", env=town.demo.env)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = ctx.new_page()
        base = f"http://127.0.0.1:{guarded.port}"
        resp = page.goto(base + "/convoys")
        assert resp.status == 401 and "needs its token" in page.inner_text("main")
        assert "Release 0.2" not in page.content()
        _shoot(page, shots, "token-refused")
        resp = page.goto(base + "/convoys?token=not-the-token")
        assert resp.status == 401 and "wrong token" in page.inner_text("main")
        token = (town.root / ".gastown" / "dashboard.token").read_text().strip()
        resp = page.goto(f"{base}/convoys?token={token}")
        assert resp.status == 200 and page.url == base + "/convoys" and "Release 0.2" in page.inner_text("main")
    finally:
        ctx.close()
        guarded.stop()
    ctx, page, _ = _open(browser, server.url + "/mail?address=mayor")
    try:
        assert page.locator("main form.action").count() == 0
        status, text = page.evaluate("""async () => {
            const r = await fetch('/action/mail', {method: 'POST', body: new URLSearchParams(
                {to: 'mayor', subject: 'should not be sent', csrf: 'x'})});
            return [r.status, await r.text()];
        }""")  # fmt: skip
        assert status == 403 and "--allow-actions" in text
        page.reload()
        assert "should not be sent" not in page.inner_text("main")
    finally:
        ctx.close()


def test_town_page_follows_agent_activity_that_writes_no_event(town, server, browser):
    """A polecat's pane output (its transcript growing) is activity without a ledger event: the town
    page's "last activity" still follows it (the hub watches agents while a tab shows them)."""
    led = Ledger(town.root / ".gastown" / "ledger.db")
    try:
        polecat = next(m.meta.polecat for m in mrs.queue(led, RIG, include_closed=True) if m.merged)
    finally:
        led.disconnect()
    session = f"{PREFIX}-{polecat.rsplit('/', 1)[1]}"
    ctx, page, _ = _open(browser, server.url + "/")
    try:
        page.wait_for_selector("#live.on", timeout=10_000)
        page.evaluate("window.__sameDocument = 'yes'")
        row = f"table.agents tr:has(a[href='/agent/{polecat}'])"
        time.sleep(1.5)  # so that "now" differs from the pane's last write by more than a second
        before = page.inner_text(row)
        assert not re.search(r"\b[0-4]s ago\b", before), before  # idle since its work merged
        with (town.root / ".gastown" / "transcripts" / f"{session}.log").open("a") as fh:
            fh.write("a line the pane printed\n")
        page.wait_for_function(
            "sel => /\\b[0-4]s ago\\b/.test(document.querySelector(sel).innerText)", arg=row, timeout=5_000
        )
        assert page.evaluate("window.__sameDocument") == "yes"
    finally:
        ctx.close()


def test_costs_page_in_chromium_shows_what_gt_costs_reports(town, server, browser, shots, tmp_path):
    """Three agents' Claude Code session files (as the runtime writes them) behind session_started
    events: the costs page's picture and table, gt costs --json being the reference.  (The demo's
    script runtime reports no usage: this is the only way its town gets cost data.)"""
    import json

    from dash_helpers import claude_reply

    from gastown_server.costs.report import format_usd
    from gastown_server.town.core import Town as RealTown

    usage = {  # agent: [(day, input tokens, output tokens)]
        f"{RIG}/polecats/nux": [("2026-11-29", 700_000, 60_000), ("2026-11-30", 1_100_000, 80_000)],
        "mayor": [("2026-11-30", 400_000, 20_000), ("2026-12-02", 900_000, 40_000)],
        f"{RIG}/refinery": [("2026-12-01", 500_000, 25_000)],
    }
    t = RealTown(town.root)
    try:
        for address, replies in usage.items():
            ident = t.resolve(address)
            logs = tmp_path / f"{ident.session}.jsonl"
            logs.write_text("".join(claude_reply(day, f"{ident.session}-{i}", inp, out) + "\n"
                                    for i, (day, inp, out) in enumerate(replies)))  # fmt: skip
            with t.ledger.mutation("session_started", "overseer", ident.bead_id, {
                "address": ident.address, "session": ident.session, "session_id": f"3f0c2a9e-0000-4000-8000-{len(address):012d}",
                "runtime": "claude", "logs": str(logs), "mode": "start",
            }):  # fmt: skip
                pass
    finally:
        t.close()
    reference = json.loads(town.demo.run("gt", "costs", "--json", show=False))
    assert {r["key"] for r in reference["rows"]} == set(usage)
    ctx, page, _ = _open(browser, server.url + "/costs")
    try:
        deadline = time.monotonic() + 15
        while "no cost data" in page.inner_text("main") and time.monotonic() < deadline:
            time.sleep(0.5)  # the dashboard recomputes costs at most every 5 s (session files grow without an event)
            page.reload()
        page.wait_for_selector("#live.on", timeout=10_000)
        text = page.inner_text("main")
        assert f"total {format_usd(reference['total']['cost_usd'])}" in text, text
        rows = page.locator("section:has(h2:has-text('Per agent')) tbody tr").all_inner_texts()
        shown = {r.split("\t")[0]: r.split("\t")[-1] for r in rows}
        assert shown == {r["key"]: format_usd(r["cost_usd"]) for r in reference["rows"]}, rows
        assert _drawn_bars(page, "Per rig and day") == 5  # textkit on 3 days, the town (the Mayor) on 2
        for day in ("2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"):
            assert day in text
        _shoot(page, shots, "costs")
    finally:
        ctx.close()


def test_actions_with_allow_actions_work_from_the_browsers_forms(town, browser, shots):
    """--allow-actions: the token URL sets the cookie; sling from the town page's form hooks a new bead
    (the open town tab shows it without a reload), nudge from the agent page reaches the Witness (its
    reply appears in the transcript a second tab follows).  Last in the module: the sling sets a polecat working."""
    srv = DashServer(town.root, "--allow-actions", env=town.demo.env)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        token = (town.root / ".gastown" / "dashboard.token").read_text().strip()
        watch = ctx.new_page()
        watch.goto(f"{srv.url}/?token={token}")
        assert watch.url == srv.url + "/"  # the token left the address bar; the cookie carries it
        watch.wait_for_selector("#live.on", timeout=10_000)
        act = ctx.new_page()
        bead = town.bd("create", "Sling me from the dashboard", "-t", "task", "--prefix", PREFIX, "--silent").strip()
        act.goto(srv.url + "/")
        act.wait_for_selector("#live.on", timeout=10_000)
        form = "form[action='/action/sling']"
        act.fill(f"{form} [name=bead]", bead)
        act.fill(f"{form} [name=target]", RIG)
        # A live update while typing (here: another bead, so the town's counts change) keeps what was typed.
        before = act.evaluate("document.body.getAttribute('data-updated') || '0'")
        town.bd("create", "Another bead, so the town page changes", "-t", "task", "--prefix", PREFIX, "--silent")
        act.wait_for_function("b => (document.body.getAttribute('data-updated') || '0') !== b", arg=before, timeout=5_000)
        assert (act.input_value(f"{form} [name=bead]"), act.input_value(f"{form} [name=target]")) == (bead, RIG)
        assert act.evaluate("document.activeElement.name") == "target"
        with act.expect_navigation():
            act.click(f"{form} button")
        done = act.inner_text("main")
        assert re.search(rf"slung {bead} to {RIG}/polecats/\w+", done), done
        watch.wait_for_selector(f"table.agents a[href='/bead/{bead}']", timeout=5_000)  # on a polecat's hook, live
        _shoot(watch, shots, "town-actions")

        page = f"/agent/{RIG}/witness"
        watch.goto(srv.url + page)
        watch.wait_for_selector("#live.on", timeout=10_000)
        marker = f"nudged-from-the-dashboard-{time.time_ns()}"
        act.goto(srv.url + page)
        form = "form[action='/action/nudge']"
        act.fill(f"{form} [name=message]", marker)
        with act.expect_navigation():
            act.click(f"{form} button")
        assert f"nudge to {RIG}/witness: delivered" in act.inner_text("main")
        watch.wait_for_function("m => document.getElementById('transcript').textContent.includes('got: ' + m)",
                                arg=marker, timeout=15_000)  # fmt: skip
    finally:
        ctx.close()
        srv.stop()
