// The operator's views and commands (issue 15) in a real VS Code workbench
// (code-server) with the built .vsix, against the real gastown-server on a
// real town (git rig, script agents in real tmux on a throwaway socket).
//
// Checks: the Town view (health, rigs with agents, failures) and its first
// render time; start/stop of a crew member with a confirmation; nuke of a
// polecat with hooked work refused with the server's one line; the merge
// queue with a failed MR's gate output and retry; doctor findings; the
// ready/blocked view following a push; the formula form naming a missing
// variable, then pouring; broadcast and escalate reaching inboxes; Add and
// Remove Dependency (palette and context menu) with Ready & Blocked following
// by push and a cycle refused in one line; a rig parked (context menu),
// unparked (palette), and removed after a confirmation once the server's
// refusal (its agents run) is shown.
// Screenshots go to test-output/vscode/operator-*.png.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { client, serverPath } from "../unit/helpers.mjs";
import { contextMenu, openWorkbench, outputDir, readMetrics, runCommand, screenshot, uiStep } from "./harness.mjs";

const socket = `gastown-vscode-ops-${process.pid}`;
let tmp, town, wb, metricsFile, server, polecat, hooked, failedMr, first, second;

const env = () => ({ ...process.env, GT_TOWN: town, GT_TMUX_SOCKET: socket, BD_ACTOR: "overseer" });
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: town, env: env(), encoding: "utf8", ...opts });
const bdJson = (...args) => JSON.parse(sh("bd", [...args, "--json"]));

async function eventually(fn, ms, what) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

async function withServer(fn) {
  const c = new client.GastownConnection({ serverPath: server, town, backoff: [], env: env() });
  await c.start();
  try {
    return await fn(c);
  } finally {
    c.dispose();
  }
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gastown-vscode-ops-"));
  town = path.join(tmp, "town");
  execFileSync("gt", ["install", town, "--name", "opstown"], { env: { ...process.env, GT_TMUX_SOCKET: socket }, encoding: "utf8" });
  const src = path.join(tmp, "src");
  execFileSync("git", ["init", "-q", src]);
  execFileSync("git", ["-C", src, "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "commit", "-q", "--allow-empty", "-m", "init"]);
  sh("gt", ["rig", "add", "demo", src]);
  sh("gt", ["crew", "add", "--rig", "demo", "alice"]);
  sh("gt", ["up", "--no-daemon"]);
  // The Refinery would take the retried merge request below at once (and fail its gate again):
  // stopped, with no daemon to revive it, the queue stays as the test leaves it.
  sh("gt", ["session", "stop", "demo/refinery", "--grace", "1"]);
  // A polecat with work on its hook (not started): nuking it must be refused.
  hooked = bdJson("create", "Rewire the stable", "-t", "task").id;
  polecat = `demo/polecats/${JSON.parse(sh("gt", ["sling", hooked, "demo", "--no-start", "--json"])).polecat}`;
  // Ready and blocked work.
  first = bdJson("create", "Lay the track", "-t", "task").id;
  second = bdJson("create", "Run the train", "-t", "task", "--deps", `blocks:${first}`).id;
  // A merge request whose gate failed, as the Refinery records one.
  const py = process.env.GASTOWN_PYTHON ?? "python3";
  failedMr = sh(py, [
    "-c",
    [
      "import sys",
      "from gastown_server.beads.store import Ledger",
      "from gastown_server.paths import ledger_path",
      "from gastown_server.work import mail, merge_requests as m",
      "led = Ledger(ledger_path(sys.argv[1]))",
      "b, _ = m.submit(led, rig='demo', prefix='hq', branch='polecat/b', base='main', head='b'*40, polecat='demo/polecats/b', actor='t')",
      "m.record(led, b, 'gate_failed', '', actor='demo/refinery', status=m.GATE_FAILED)",
      "mail.send(led, 'demo/polecats/b', 'MERGE_FAILED ' + b.id, 'Branch: polecat/b\\nMR: ' + b.id + '\\nError: FAILED test_gate_xyz', actor='demo/refinery')",
      "print(b.id)",
    ].join("\n"),
    town,
  ]).trim();

  server = serverPath(tmp);
  metricsFile = path.join(tmp, "metrics.jsonl");
  wb = await openWorkbench({
    folder: town,
    tmp,
    settings: { "gastown.serverPath": server, "gastown.town": town },
    env: { GT_TMUX_SOCKET: socket, GASTOWN_VSCODE_METRICS: metricsFile },
  });
});

after(async () => {
  if (wb) await screenshot(wb.page, "operator-final").catch(() => undefined);
  await wb?.close();
  try {
    sh("gt", ["down"], { stdio: "pipe" });
  } catch {
    // the kill-server below cleans up regardless
  }
  try {
    execFileSync("tmux", ["-L", socket, "kill-server"], { stdio: "pipe" });
  } catch {
    // no server left
  }
  fs.rmSync(path.join(process.env.TMUX_TMPDIR ?? "/tmp", `tmux-${process.getuid()}`, socket), { force: true });
  if (metricsFile && fs.existsSync(metricsFile)) {
    fs.mkdirSync(outputDir, { recursive: true });
    fs.copyFileSync(metricsFile, path.join(outputDir, "operator-metrics.jsonl"));
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

const step = uiStep(test, () => wb.page);
const row = (page, label) => page.locator(`.monaco-list-row[aria-label^="${label}"]`);
const header = (page, name) => page.locator(`.pane-header[aria-label^="${name}"]`).first();

/** Expand the view `name` (a pane header click toggles it) and collapse the others that crowd the sidebar. */
async function only(page, name) {
  for (const other of ["Town", "Ready & Blocked", "Merge Queue", "Doctor"]) {
    const h = header(page, other);
    const expanded = (await h.getAttribute("aria-expanded")) === "true";
    // At its left end: the middle of a header may be under its title-bar actions.
    if ((other === name) !== expanded) await h.click({ position: { x: 12, y: 10 } });
  }
}

function quickInput(page, placeholder) {
  return page.locator(`.quick-input-widget input[placeholder^="${placeholder}"]`).first();
}

async function pick(page, text, placeholder) {
  const input = quickInput(page, placeholder);
  await input.waitFor({ timeout: 15_000 });
  await input.fill(text);
  await page.locator(".quick-input-list .monaco-list-row.focused").filter({ hasText: text }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press("Enter");
}

async function answer(page, text, prompt) {
  await page.locator(".quick-input-widget .quick-input-message").filter({ hasText: prompt }).first().waitFor({ timeout: 15_000 });
  await page.locator(".quick-input-widget input").first().fill(text);
  await page.keyboard.press("Enter");
}

async function confirmDialog(page, button) {
  const dialog = page.locator(".monaco-dialog-box:visible");
  await dialog.first().waitFor({ timeout: 10_000 });
  await dialog.locator(".monaco-button").filter({ hasText: new RegExp(`^${button}$`) }).first().click();
  await dialog.first().waitFor({ state: "hidden", timeout: 5_000 });
}

const toast = (page, re) => page.locator(".notification-toast").filter({ hasText: re }).first();

step("the Town view shows health, rigs with their agents, town agents and failures", async () => {
  const { page } = wb;
  // The operator's views have their own activity bar entry.
  const tab = page.locator('.activitybar [aria-label^="Town Operations"]').first();
  await tab.waitFor({ timeout: 60_000 });
  await tab.click();
  await header(page, "Town").waitFor({ timeout: 30_000 });
  await only(page, "Town");
  await row(page, "Health").first().waitFor({ timeout: 30_000 });
  await row(page, "Daemon, not running").first().waitFor({ timeout: 5_000 });
  await row(page, "Patrol demo/witness, running").first().waitFor({ timeout: 5_000 });
  await row(page, "Patrol demo/refinery, stopped").first().waitFor({ timeout: 5_000 });
  await row(page, "Costs, ").first().waitFor({ timeout: 5_000 });
  await row(page, "rig demo, ").first().waitFor({ timeout: 5_000 });
  await row(page, "agent demo/crew/alice, stopped").first().waitFor({ timeout: 5_000 });
  // (The Witness may already have started the polecat for its hooked work.)
  await page.locator(`.monaco-list-row[aria-label^="agent ${polecat}, "][aria-label$=" · hook ${hooked}"]`).first().waitFor({ timeout: 5_000 });
  await row(page, "agent mayor, ").first().waitFor({ timeout: 5_000 });
  await row(page, "Failures, 0").first().waitFor({ timeout: 5_000 });
  const renders = readMetrics(metricsFile).filter((m) => m.name === "render.town");
  assert.ok(renders.length >= 1, "the Town view records its first render");
  console.log(`# Town view first render: ${renders[0].ms} ms (tree build in the extension host)`);
  await screenshot(page, "operator-town");
});

step("Start and Stop Agent: a crew member starts, then stops after a confirmation; the view follows by push", async () => {
  const { page } = wb;
  await runCommand(page, "Gas Town: Start Agent");
  await pick(page, "demo/crew/alice", "Start which agent");
  await page.locator('.monaco-list-row[aria-label^="agent demo/crew/alice, "]:not([aria-label*="stopped"])').first().waitFor({ timeout: 20_000 });
  await runCommand(page, "Gas Town: Stop Agent");
  await pick(page, "demo/crew/alice", "Stop which agent");
  await confirmDialog(page, "Stop");
  await toast(page, /stopped demo\/crew\/alice/).waitFor({ timeout: 15_000 });
  await row(page, "agent demo/crew/alice, stopped").first().waitFor({ timeout: 15_000 });
});

step("Nuke Polecat: refused while work is hooked, with the server's one-line reason", async () => {
  const { page } = wb;
  await runCommand(page, "Gas Town: Nuke Polecat");
  await pick(page, polecat, "Nuke which polecat");
  await confirmDialog(page, "Nuke");
  const t = toast(page, new RegExp(`refusing to nuke ${polecat.replace(/\//g, "\\/")}`));
  await t.waitFor({ timeout: 15_000 });
  await t.locator(".monaco-button").filter({ hasText: "Force Nuke..." }).first().waitFor({ timeout: 5_000 });
  await screenshot(page, "operator-nuke-refused");
  assert.ok(fs.existsSync(path.join(town, "demo", "polecats", polecat.split("/").pop())), "the worktree is still there");
  await page.keyboard.press("Escape");
});

step("Merge Queue: a failed merge request shows its gate output and is retried", async () => {
  const { page } = wb;
  await only(page, "Merge Queue");
  await row(page, "Failed, 1").first().waitFor({ timeout: 15_000 });
  const mr = row(page, `merge request ${failedMr} polecat/b, blocked`).first();
  await mr.waitFor({ timeout: 5_000 });
  await mr.click();
  await row(page, "gate output FAILED test_gate_xyz").first().waitFor({ timeout: 5_000 });
  await screenshot(page, "operator-mq");
  await runCommand(page, "Gas Town: Retry Merge Request");
  await answer(page, failedMr, "Merge request id to retry");
  // Back in the queue (pending, or already taken by the Refinery): no longer in Failed, by push.
  await eventually(async () => (await row(page, "Failed, ").count()) === 0, 15_000, "the Failed group to go away");
  await row(page, "Pending, 1").first().waitFor({ timeout: 5_000 });
  const items = await withServer((c) => c.request("mq/list", { all: true }));
  assert.equal(items.items.find((i) => i.mr.id === failedMr).mr.status, "open");
});

step("Doctor: Run Doctor lists the findings, problems first", async () => {
  const { page } = wb;
  await only(page, "Doctor");
  await runCommand(page, "Gas Town: Run Doctor");
  await row(page, "Town ").filter({ hasText: /healthy|attention/ }).first().waitFor({ timeout: 60_000 });
  await page.locator('.monaco-list-row[aria-label^="ok ledger"]').first().waitFor({ timeout: 5_000 });
  await screenshot(page, "operator-doctor");
});

step("Ready & Blocked: a blocked bead shows its blocker, and unblocks by push", async () => {
  const { page } = wb;
  await only(page, "Ready & Blocked");
  await row(page, `bead ${first} Lay the track, ready`).first().waitFor({ timeout: 15_000 });
  await row(page, `bead ${second} Run the train, blocked by ${first}`).first().waitFor({ timeout: 5_000 });
  await screenshot(page, "operator-work");
  const blockedBefore = (await withServer((c) => c.request("work/board", {}))).blocked.length;
  sh("bd", ["close", first, "--reason", "laid"]);
  // Other work in the town (a polecat's molecule) may be blocked too: the count drops by one.
  try {
    await row(page, `bead ${second} Run the train, ready`).first().waitFor({ timeout: 10_000 });
    await row(page, `Blocked, ${blockedBefore - 1}`).first().waitFor({ timeout: 5_000 });
  } catch (e) {
    const board = await withServer((c) => c.request("work/board", {}));
    const ids = (xs) => xs.map((x) => x.id ?? `${x.bead.id} (by ${x.blockers.join(", ")})`).join(", ");
    throw new Error(`${e.message}\nthe server's board: ready ${ids(board.ready)}; blocked ${ids(board.blocked)} (${blockedBefore} before)`);
  }
  assert.equal(await row(page, `bead ${second} Run the train, blocked`).count(), 0, "the train is no longer listed as blocked");
});

step("Run Formula: the form names a missing required variable, then pours the molecule", async () => {
  const { page } = wb;
  await runCommand(page, "Gas Town: Run Formula...");
  await pick(page, "release", "Run which formula");
  const frame = page.frameLocator("iframe.webview.ready").frameLocator("#active-frame");
  const version = frame.locator("#var-version");
  await version.waitFor({ timeout: 30_000 });
  await frame.locator("#pour").click();
  const message = frame.locator("#message");
  await eventually(async () => /needs variable version/.test((await message.textContent()) ?? ""), 10_000, "the form to name the missing variable");
  assert.equal(await version.getAttribute("aria-invalid"), "true");
  await screenshot(page, "operator-formula-missing");
  await version.fill("2.0.0");
  await frame.locator("#assignee").fill("mayor");
  await frame.locator("#pour").click();
  await eventually(async () => /^Poured \S+ \(\d+ steps\)/.test((await message.textContent()) ?? ""), 10_000, "the form to say it poured");
  const id = ((await message.textContent()) ?? "").split(" ")[1];
  const st = await withServer((c) => c.request("mol/status", { molecule: id }));
  assert.equal(st.vars.version, "2.0.0");
  await screenshot(page, "operator-formula-poured");
});

step("Broadcast and Escalate reach the agents' and the Overseer's inboxes", async () => {
  const { page } = wb;
  const subject = `Freeze ${Date.now()}`;
  await runCommand(page, "Gas Town: Broadcast to Agents");
  await answer(page, subject, "Broadcast to every agent");
  await answer(page, "no merges until noon", "Body");
  await pick(page, "demo", "To whom");
  await toast(page, /sent \d+ message\(s\): .*demo\/witness/).waitFor({ timeout: 15_000 });
  await runCommand(page, "Gas Town: Escalate");
  await answer(page, `Refinery keeps failing ${subject}`, "Escalate: what is wrong");
  await pick(page, "critical", "Severity");
  await answer(page, "see the merge queue", "Details");
  await toast(page, /escalated \S+ \[critical\] to mayor/).waitFor({ timeout: 15_000 });
  await withServer(async (c) => {
    const w = await c.request("mail/inbox", { address: "demo/witness" });
    assert.ok(w.messages.some((m) => m.subject === subject), "the broadcast is in the Witness's inbox");
    const o = await c.request("mail/inbox", { address: "overseer" });
    assert.ok(o.messages.some((m) => m.subject.includes(`Refinery keeps failing ${subject}`)), "the escalation is in the Overseer's inbox");
  });
});

step("Add Dependency... and Remove Dependency...: Ready & Blocked follows by push; a cycle is refused in one line", async () => {
  const { page } = wb;
  const paint = bdJson("create", "Paint the station", "-t", "task").id;
  const open = bdJson("create", "Open the station", "-t", "task").id;
  await only(page, "Ready & Blocked");
  await row(page, `bead ${open} Open the station, ready`).first().waitFor({ timeout: 15_000 });
  await runCommand(page, "Gas Town: Add Dependency...");
  await pick(page, open, "Add a dependency to which bead");
  await pick(page, paint, `${open} depends on which bead`);
  await pick(page, "blocks", `How does ${open} depend on ${paint}`);
  await toast(page, new RegExp(`${open} now depends on ${paint} \\(blocks\\)`)).waitFor({ timeout: 15_000 });
  await row(page, `bead ${open} Open the station, blocked by ${paint}`).first().waitFor({ timeout: 15_000 });
  // The other way round closes a cycle: refused with the server's reason, nothing written.
  await runCommand(page, "Gas Town: Add Dependency...");
  await pick(page, paint, "Add a dependency to which bead");
  await pick(page, open, `${paint} depends on which bead`);
  await pick(page, "blocks", `How does ${paint} depend on ${open}`);
  await toast(page, new RegExp(`add dependency failed: refused: blocks dependency would create a cycle: ${paint} -> ${open} -> ${paint}`)).waitFor({ timeout: 15_000 });
  await page.waitForTimeout(400); // the toast slides in
  await screenshot(page, "operator-dep-cycle-refused");
  const shown = await withServer((c) => c.request("bead/show", { id: paint }));
  assert.equal((shown.dependencies ?? []).length, 0, "the refused dependency was not written");
  await page.keyboard.press("Escape");
  // Remove it from the blocked bead's context menu.
  await contextMenu(page, row(page, `bead ${open} Open the station, blocked by ${paint}`).first(), "Remove Dependency...");
  await pick(page, paint, `Remove which dependency of ${open}`);
  await toast(page, new RegExp(`${open} no longer depends on ${paint} \\(blocks removed\\)`)).waitFor({ timeout: 15_000 });
  await row(page, `bead ${open} Open the station, ready`).first().waitFor({ timeout: 15_000 });
  await screenshot(page, "operator-dep-removed");
});

step("Park, Unpark and Remove Rig: parked from the context menu, unparked from the palette, removal refused then forced", async () => {
  const { page } = wb;
  const src = path.join(tmp, "yard-src");
  execFileSync("git", ["init", "-q", src]);
  execFileSync("git", ["-C", src, "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "commit", "-q", "--allow-empty", "-m", "init"]);
  sh("gt", ["rig", "add", "yard", src]);
  await only(page, "Town");
  const yard = () => row(page, "rig yard, ").first();
  await yard().waitFor({ timeout: 15_000 });
  await contextMenu(page, yard(), "Park Rig");
  await toast(page, /rig yard parked/).waitFor({ timeout: 20_000 });
  await row(page, "rig yard, 0 of 2 running, parked").first().waitFor({ timeout: 15_000 });
  await screenshot(page, "operator-rig-parked");
  assert.deepEqual((await withServer((c) => c.request("rig/list", {}))).parked, ["yard"]);
  await runCommand(page, "Gas Town: Unpark Rig");
  // The only parked rig is the one offered (with one, it is taken).
  const unparked = toast(page, /rig yard unparked; started yard\/(witness|refinery)/);
  try {
    await unparked.waitFor({ timeout: 5_000 });
  } catch {
    await pick(page, "yard", "Unpark which rig");
    await unparked.waitFor({ timeout: 20_000 });
  }
  await row(page, "rig yard, 2 of 2 running").first().waitFor({ timeout: 20_000 });
  // Remove asks first; with its agents running the server refuses, and the toast offers to stop them.
  await contextMenu(page, yard(), "Remove Rig...");
  await confirmDialog(page, "Remove");
  const refused = toast(page, /Remove rig refused: rig 'yard' has running sessions/);
  await refused.waitFor({ timeout: 15_000 });
  await screenshot(page, "operator-rig-remove-refused");
  assert.ok(fs.existsSync(path.join(town, "yard")), "the refused removal left the rig in place");
  await refused.locator(".monaco-button").filter({ hasText: "Stop Sessions and Remove..." }).first().click();
  await confirmDialog(page, "Stop and Remove");
  await toast(page, /removed rig yard/).waitFor({ timeout: 30_000 });
  await eventually(async () => (await row(page, "rig yard, ").count()) === 0, 15_000, "the rig to leave the Town view");
  assert.ok(!fs.existsSync(path.join(town, "yard")), "the rig's directory is gone");
  await screenshot(page, "operator-rig-removed");
});
