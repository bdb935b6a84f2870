// The extension in a real VS Code workbench (code-server) with the built
// .vsix installed, against the real gastown-server on a real town whose
// agents (script runtime) run in real tmux on a throwaway socket.
//
// Checks: the sidebar shows the town's convoys, agents and mail; a bead
// closed from another process updates the tree with no refresh; Open Mayor
// streams the transcript and text sent from its input box reaches the
// Mayor's pane.  Keeps screenshots and the extension host's timings in
// test-output/vscode/.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { client, serverPath } from "../unit/helpers.mjs";
import { openGasTown, openWorkbench, outputDir, readMetrics, runCommand, screenshot, uiStep } from "./harness.mjs";

const socket = `gastown-vscode-e2e-${process.pid}`;
let tmp, town, wb, metricsFile, beads, convoyId, server;
/** What the server offers (initialize's capabilities). */
let capabilities = [];

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { cwd: town, env: { ...process.env, GT_TOWN: town, GT_TMUX_SOCKET: socket, BD_ACTOR: "overseer" }, encoding: "utf8", ...opts });
}

function bdJson(...args) {
  return JSON.parse(sh("bd", [...args, "--json"]));
}

function capturePane(session) {
  try {
    return execFileSync("tmux", ["-L", socket, "capture-pane", "-p", "-J", "-S", "-200", "-t", session], { encoding: "utf8" });
  } catch {
    return "";
  }
}

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

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gastown-vscode-e2e-"));
  town = path.join(tmp, "town");
  // A real town (script runtime: offline agents) with its agents up in tmux.
  execFileSync("gt", ["install", town, "--name", "e2etown"], { env: { ...process.env, GT_TMUX_SOCKET: socket }, encoding: "utf8" });
  // One rig (a real git repository) so that agents group by town and rig.
  const src = path.join(tmp, "src");
  execFileSync("git", ["init", "-q", src]);
  execFileSync("git", ["-C", src, "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "commit", "-q", "--allow-empty", "-m", "init"]);
  sh("gt", ["rig", "add", "demo", src]);
  sh("gt", ["crew", "add", "--rig", "demo", "alice"]);
  sh("gt", ["up"]);
  const a = bdJson("create", "Wire the flux capacitor", "-t", "task");
  const b = bdJson("create", "Paint the delorean", "-t", "task");
  beads = [a.id, b.id];
  convoyId = bdJson("create", "Time machine", "-t", "convoy", "--deps", `tracks:${a.id},tracks:${b.id}`).id;

  // The Mayor writes to the Overseer through the server, as any agent's mail would arrive.
  server = serverPath(tmp);
  const conn = new client.GastownConnection({ serverPath: server, town, backoff: [], env: { ...process.env, GT_TMUX_SOCKET: socket } });
  capabilities = (await conn.start()).capabilities;
  await conn.request("mail/send", { to: "overseer", subject: "Convoy ready for review", body: "Time machine is rolling." });
  conn.dispose();

  metricsFile = path.join(tmp, "metrics.jsonl");
  wb = await openWorkbench({
    folder: town,
    tmp,
    settings: { "gastown.serverPath": server, "gastown.town": town },
    env: { GT_TMUX_SOCKET: socket, GASTOWN_VSCODE_METRICS: metricsFile },
  });
});

after(async () => {
  if (wb) await screenshot(wb.page, "final").catch(() => undefined);
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
  // kill-server leaves the socket file behind.
  fs.rmSync(path.join(process.env.TMUX_TMPDIR ?? "/tmp", `tmux-${process.getuid()}`, socket), { force: true });
  if (metricsFile && fs.existsSync(metricsFile)) {
    fs.mkdirSync(outputDir, { recursive: true });
    fs.copyFileSync(metricsFile, path.join(outputDir, "metrics.jsonl"));
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

// Each workbench step starts with no quick input or dialog open and keeps a screenshot when it fails.
const step = uiStep(test, () => wb.page);

const row = (page, label) => page.locator(`.monaco-list-row[aria-label^="${label}"]`);

step("the sidebar shows the town's convoys with their tracked beads", async () => {
  const { page } = wb;
  await openGasTown(page);
  await row(page, `convoy ${convoyId} Time machine, 0 of 2 closed`).first().waitFor({ timeout: 30_000 });
  for (const id of beads) await row(page, `bead ${id} `).first().waitFor({ timeout: 10_000 });
});

step("the sidebar shows the Overseer's mail, with the unread count as a badge", async () => {
  const { page } = wb;
  await row(page, "mail from mayor: Convoy ready for review, unread").or(row(page, "mail from overseer: Convoy ready for review, unread")).first().waitFor({ timeout: 15_000 });
  // The Mail view's badge shows on the view container's activity bar entry.
  const item = page.locator(".activitybar .action-item").filter({ has: page.locator('[aria-label^="Gas Town"]') });
  const badge = item.locator(".badge-content:visible");
  await badge.first().waitFor({ timeout: 5_000 });
  assert.equal((await badge.first().textContent())?.trim(), "1");
  await screenshot(page, "sidebar");
});

step("the sidebar shows the town's agents, and the status bar the running count", async () => {
  const { page } = wb;
  await row(page, "agent mayor, running").first().waitFor({ timeout: 15_000 });
  await row(page, "agent deacon").first().waitFor({ timeout: 5_000 });
  // Grouped: the town's own agents, then each rig with its witness and refinery, and its
  // crew (and polecats) in a role group.
  await row(page, "rig demo, 2 of 3 running").first().waitFor({ timeout: 5_000 });
  await row(page, "role crew, 0 of 1 running").first().waitFor({ timeout: 5_000 });
  await row(page, "agent demo/crew/alice, idle").first().waitFor({ timeout: 5_000 });
  await row(page, "agent demo/witness, running").first().waitFor({ timeout: 5_000 });
  await row(page, "agent demo/refinery, running").first().waitFor({ timeout: 5_000 });
  await row(page, "town ").first().waitFor({ timeout: 5_000 });
  const status = page.locator(".statusbar-item").filter({ hasText: /: [1-9]\d*\/\d+ agents/ });
  await status.first().waitFor({ timeout: 10_000 });
  await screenshot(page, "sidebar-agents");
});

step("a bead closed from another process updates the tree with no refresh", async () => {
  const { page } = wb;
  const before = readMetrics(metricsFile).filter((m) => m.name === "refresh.convoys").length;
  sh("bd", ["close", beads[0], "--reason", "done in tmux"]);
  await row(page, `bead ${beads[0]} Wire the flux capacitor, closed`).first().waitFor({ timeout: 5_000 });
  await row(page, `convoy ${convoyId} Time machine, 1 of 2 closed`).first().waitFor({ timeout: 5_000 });
  const refreshes = await eventually(() => {
    const r = readMetrics(metricsFile).filter((m) => m.name === "refresh.convoys");
    return r.length > before ? r : undefined;
  }, 5_000, "a refresh.convoys metric");
  const ms = refreshes[refreshes.length - 1].ms;
  console.log(`# tree refresh after push: ${ms} ms (target < 100 ms; benchmarks/vscode_sidebar.mjs records it)`);
  // Timing targets are checked by the benchmark on a quiet machine; here only a bound that
  // no push-driven refresh should come near on any machine (a poll loop would).
  assert.ok(ms < 1000, `tree refresh after a pushed change took ${ms} ms`);
  await screenshot(page, "after-close");
});

step("clicking a tracked bead opens it in a document", async () => {
  const { page } = wb;
  await row(page, `bead ${beads[1]} Paint the delorean`).first().click();
  await page.locator(".monaco-editor .view-lines").filter({ hasText: `Paint the delorean (${beads[1]})` }).first().waitFor({ timeout: 15_000 });
});

step("Open Mayor streams the transcript and sends text to the Mayor's pane", async () => {
  const { page } = wb;
  await runCommand(page, "Gas Town: Open Mayor");
  const frame = page.frameLocator("iframe.webview.ready").frameLocator("#active-frame");
  const log = frame.locator("#log");
  await log.waitFor({ timeout: 30_000 });
  // Streaming: whatever the Mayor prints next appears without any action here.
  const marker = `vscode-e2e-${Date.now()}`;
  const input = frame.locator("#input");
  await input.fill(`hello mayor ${marker}`);
  await input.press("Enter");
  await eventually(() => capturePane("hq-mayor").includes(marker), 15_000, "the text in the Mayor's tmux pane");
  await eventually(async () => ((await log.textContent()) ?? "").includes(marker), 15_000, "the Mayor's transcript in the tab to show the text");
  await screenshot(page, "mayor");
});

step("Attach opens an integrated terminal attached to the agent's tmux session", async () => {
  const { page } = wb;
  const clients = () => {
    try {
      return execFileSync("tmux", ["-L", socket, "list-clients", "-t", "hq-deacon", "-F", "#{client_tty}"], { encoding: "utf8" }).trim();
    } catch {
      return "";
    }
  };
  assert.equal(clients(), "", "nobody attached yet");
  await runCommand(page, "Gas Town: Attach Terminal");
  await pick(page, "deacon", "Attach a terminal to which agent");
  await eventually(() => clients() !== "", 20_000, "a tmux client attached to hq-deacon");
  await page.locator(".terminal-wrapper, .xterm").first().waitFor({ timeout: 10_000 });
  await screenshot(page, "attach");
  // Leave the session running: detach the terminal's client, not the agent.
  execFileSync("tmux", ["-L", socket, "detach-client", "-s", "hq-deacon"]);
});

step("reading a mail opens it in a document and clears the unread badge", async () => {
  const { page } = wb;
  await row(page, "mail from overseer: Convoy ready for review, unread").or(row(page, "mail from mayor: Convoy ready for review, unread")).first().click();
  await page.locator(".monaco-editor .view-lines").filter({ hasText: "Time machine is rolling." }).first().waitFor({ timeout: 15_000 });
  await row(page, "mail from overseer: Convoy ready for review").or(row(page, "mail from mayor: Convoy ready for review")).filter({ hasNotText: "unread" }).first().waitFor({ timeout: 10_000 });
  const item = page.locator(".activitybar .action-item").filter({ has: page.locator('[aria-label^="Gas Town"]') });
  await eventually(async () => (await item.locator(".badge-content:visible").count()) === 0, 10_000, "the unread badge to go away");
});

/** The quick input showing `placeholder` (waiting for it avoids typing into the previous one). */
function quickInput(page, placeholder) {
  return page.locator(`.quick-input-widget input[placeholder^="${placeholder}"]`).first();
}

/** Pick an item in the quick pick showing `placeholder` by typing its text and pressing Enter. */
async function pick(page, text, placeholder) {
  const input = quickInput(page, placeholder);
  await input.waitFor({ timeout: 15_000 });
  await input.fill(text);
  // Enter takes the active row: wait until the filter has made it one that matches.
  await page.locator(".quick-input-list .monaco-list-row.focused").filter({ hasText: text }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press("Enter");
}

/**
 * In the multi-select quick pick showing `placeholder`, tick the items with these texts and
 * press OK, as a mouse user does.  Not Enter: a clicked checkbox keeps the keyboard focus, and
 * Enter on a focused checkbox toggles it off again instead of accepting the pick.
 */
async function checkAndAccept(page, texts, placeholder) {
  const input = quickInput(page, placeholder);
  await input.waitFor({ timeout: 15_000 });
  for (const [i, text] of texts.entries()) {
    await input.fill(text);
    const item = page.locator(".quick-input-list .monaco-list-row").filter({ hasText: text }).first();
    await item.waitFor({ timeout: 10_000 });
    await item.locator(".monaco-checkbox").first().click();
    await page.locator(".quick-input-widget .quick-input-count").filter({ hasText: `${i + 1} Selected` }).first().waitFor({ timeout: 5_000 });
  }
  await page.locator(".quick-input-widget .monaco-button").filter({ hasText: "OK" }).first().click();
  await input.waitFor({ state: "hidden", timeout: 5_000 });
}

/** Answer the open input box. */
async function answer(page, text, prompt) {
  // An input box shows its prompt as the message under the input.
  await page.locator(".quick-input-widget .quick-input-message").filter({ hasText: prompt }).first().waitFor({ timeout: 15_000 });
  await page.locator(".quick-input-widget input").first().fill(text);
  await page.keyboard.press("Enter");
}

step("Compose and Reply: mail reaches the addressee; a reply to the Overseer arrives in the Mail view by push", async () => {
  const { page } = wb;
  const subject = `Plan for ${Date.now()}`;
  await runCommand(page, "Gas Town: Compose Mail");
  await pick(page, "mayor", "To (an address");
  await answer(page, subject, "Subject (to mayor");
  await answer(page, "Land the time machine first.", "Message");
  const other = new client.GastownConnection({ serverPath: server, town, backoff: [], env: { ...process.env, GT_TMUX_SOCKET: socket } });
  await other.start();
  try {
    await eventually(async () => {
      const inbox = await other.request("mail/inbox", { address: "mayor" });
      return inbox.messages.some((m) => m.subject === subject && m.body === "Land the time machine first.");
    }, 10_000, "the mail in the Mayor's inbox");
  } finally {
    other.dispose();
  }
  // Reply to the Overseer's own message (its sender is the Overseer): it comes back as new mail.
  await runCommand(page, "Gas Town: Reply to Mail");
  await pick(page, "Convoy ready for review", "Reply to which message");
  await answer(page, "Thanks, reviewing now.", "Reply to overseer");
  await row(page, "mail from overseer: Re: Convoy ready for review, unread").first().waitFor({ timeout: 15_000 });
});

step("Nudge: the message reaches the agent's pane", async () => {
  const { page } = wb;
  const marker = `nudge-e2e-${Date.now()}`;
  await runCommand(page, "Gas Town: Nudge Agent");
  await pick(page, "deacon", "Nudge which agent");
  await answer(page, `check the rigs ${marker}`, "Message typed into deacon");
  await eventually(() => capturePane("hq-deacon").includes(marker), 15_000, "the nudge in the deacon's pane");
  // Issue 15: the palette's nudge says what happened (it used to show nothing).
  await page.locator(".notification-toast").filter({ hasText: /nudge to deacon (delivered|queued)/ }).first().waitFor({ timeout: 10_000 });
  await screenshot(page, "nudge-result");
});

step("Show Inbox of...: the Mail view reads another address's inbox, named in its description", async () => {
  const { page } = wb;
  await runCommand(page, "Gas Town: Show Inbox of...");
  await pick(page, "mayor/", "Show whose inbox");
  // The Mayor's inbox holds the mail composed to it above.
  await row(page, "mail from overseer: Plan for ").first().waitFor({ timeout: 15_000 });
  await page.locator('.pane-header[aria-label^="Mail"]').filter({ hasText: "mayor" }).first().waitFor({ timeout: 5_000 });
  await screenshot(page, "mail-other-inbox");
  await runCommand(page, "Gas Town: Show Inbox of...");
  await pick(page, "overseer", "Show whose inbox");
  await row(page, "mail from overseer: Re: Convoy ready for review").first().waitFor({ timeout: 15_000 });
});

step("Create Convoy: pick beads, and the new convoy appears by push", async () => {
  const { page } = wb;
  const extra = bdJson("create", "Buy plutonium", "-t", "task").id;
  await runCommand(page, "Gas Town: Create Convoy");
  await answer(page, "Fuel run", "Convoy title");
  await checkAndAccept(page, [extra], "Beads the convoy tracks");
  await row(page, "convoy ").filter({ hasText: "Fuel run" }).first().waitFor({ timeout: 15_000 });
  await row(page, `bead ${extra} Buy plutonium, open`).first().waitFor({ timeout: 5_000 });
});

step("Add to Convoy: the added bead shows under the convoy by push", async () => {
  const { page } = wb;
  const more = bdJson("create", "Find a lightning bolt", "-t", "task").id;
  await runCommand(page, "Gas Town: Add to Convoy");
  await pick(page, "Fuel run", "Add beads to which convoy");
  await checkAndAccept(page, [more], "Beads ");
  await row(page, `bead ${more} Find a lightning bolt, open`).first().waitFor({ timeout: 10_000 });
  await row(page, "convoy ").filter({ hasText: "Fuel run" }).and(page.locator('[aria-label*="0 of 2 closed"]')).first().waitFor({ timeout: 5_000 });
});

step("Sling: a bead slung to a rig gets a polecat, which shows in Agents by push", async () => {
  const { page } = wb;
  const work = bdJson("create", "Calibrate the flux", "-t", "task").id;
  assert.ok(capabilities.includes("sling"), `the server offers sling: ${capabilities.join(", ")}`);
  await runCommand(page, "Gas Town: Sling Work");
  // Issue 15: real work only, with a way to ask for internals (patrol formulas, molecule steps).
  const slingInput = quickInput(page, "Sling which bead or formula");
  await slingInput.waitFor({ timeout: 15_000 });
  await page.locator(".quick-input-list .monaco-list-row").filter({ hasText: work }).first().waitFor({ timeout: 10_000 });
  const offered = await page.locator(".quick-input-list .monaco-list-row").allTextContents();
  assert.ok(!offered.some((t) => /mol-deacon-patrol|mol-witness-patrol/.test(t)), `patrol formulas offered as work: ${offered.join(" | ")}`);
  assert.ok(!offered.some((t) => t.includes(convoyId)), `a convoy offered as work: ${offered.join(" | ")}`);
  await slingInput.fill("patrol");
  await page.locator(".quick-input-list .monaco-list-row").filter({ hasText: "Show internal items" }).first().waitFor({ timeout: 10_000 });
  assert.equal(await page.locator(".quick-input-list .monaco-list-row").filter({ hasText: "mol-deacon-patrol" }).count(), 0);
  await screenshot(page, "sling-picker");
  await pick(page, work, "Sling which bead or formula");
  await pick(page, "demo", `Sling ${work} to`);
  await page.locator(".notification-toast").filter({ hasText: `slung ${work} to demo/polecats/` }).first().waitFor({ timeout: 30_000 });
  const hooked = bdJson("show", work);
  const assignee = [hooked].flat()[0].assignee;
  assert.match(assignee, /^demo\/polecats\//, `the work is on a polecat's hook: ${JSON.stringify(hooked)}`);
  await row(page, `agent ${assignee}`).first().waitFor({ timeout: 15_000 });
  // Issue 15: never the contradictory "running, no session" while the session starts.
  assert.equal(await page.locator('.monaco-list-row[aria-label*="running, no session"]').count(), 0);
  // Slinging loose work puts it in a convoy, which the Convoys view shows by push.
  // (It is the last convoy: with more views in the sidebar it can be below the Convoys pane's
  // fold, and the list renders only visible rows, so scroll the pane down first.)
  await row(page, "convoy ").first().hover();
  await page.mouse.wheel(0, 800);
  await row(page, `bead ${work} Calibrate the flux`).first().waitFor({ timeout: 10_000 });
  await screenshot(page, "sling");
});

step("Seance: ask a predecessor session, the answer opens in a document", async () => {
  const { page } = wb;
  await runCommand(page, "Gas Town: Seance: Ask a Predecessor");
  await pick(page, "mayor", "Ask a predecessor of which agent");
  // The mayor's sessions, newest (current) first.
  await quickInput(page, "Which predecessor session").waitFor({ timeout: 15_000 });
  await page.locator(".quick-input-list .monaco-list-row").first().waitFor({ timeout: 15_000 });
  await page.keyboard.press("Enter");
  await answer(page, "What was your startup prompt?", "Question for mayor");
  await page.locator(".monaco-editor .view-lines").filter({ hasText: "Seance: mayor" }).first().waitFor({ timeout: 60_000 });
  await screenshot(page, "seance");
});

step("Hand Off: after confirming, a fresh session takes the agent's place", async () => {
  const { page } = wb;
  const sessionsBefore = (capturePane("hq-deacon").match(/=== gastown session/g) ?? []).length;
  const pidBefore = execFileSync("tmux", ["-L", socket, "display-message", "-p", "-t", "hq-deacon", "#{pane_pid}"], { encoding: "utf8" }).trim();
  await runCommand(page, "Gas Town: Hand Off Agent");
  await pick(page, "deacon", "Hand off which agent");
  const dialog = page.locator(".monaco-dialog-box");
  await dialog.first().waitFor({ timeout: 10_000 });
  await dialog.first().locator(".monaco-button").filter({ hasText: "Hand Off" }).first().click();
  await answer(page, "pick up the patrol", "Handoff note");
  await eventually(() => {
    const pid = execFileSync("tmux", ["-L", socket, "display-message", "-p", "-t", "hq-deacon", "#{pane_pid}"], { encoding: "utf8" }).trim();
    return pid !== pidBefore || (capturePane("hq-deacon").match(/=== gastown session/g) ?? []).length > sessionsBefore;
  }, 30_000, "a fresh deacon session");
  await row(page, "agent deacon, running").first().waitFor({ timeout: 15_000 });
});

step("the server crashes: the user is told, it reconnects, and a change made meanwhile shows up", async () => {
  const { page } = wb;
  // Our own server process: the one started with this test's unique town path.
  const ps = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  const pids = ps
    .split("\n")
    .filter((l) => l.includes("--stdio") && l.includes(`--town ${town}`))
    .map((l) => Number.parseInt(l.trim(), 10));
  assert.equal(pids.length, 1, `exactly one gastown-server for this town:\n${ps}`);
  process.kill(pids[0], "SIGKILL");
  await page.locator(".notification-toast").filter({ hasText: "gastown-server was killed" }).first().waitFor({ timeout: 10_000 });
  sh("bd", ["close", beads[1], "--reason", "closed while the server was down"]);
  await row(page, `bead ${beads[1]} Paint the delorean, closed`).first().waitFor({ timeout: 20_000 });
  await row(page, `convoy ${convoyId} Time machine, 2 of 2 closed`).first().waitFor({ timeout: 5_000 });
  await row(page, "agent mayor, running").first().waitFor({ timeout: 5_000 });
  // Issue 15: the end of the outage is said too, not only its start.
  await page.locator(".notification-toast").filter({ hasText: "reconnected to gastown-server" }).first().waitFor({ timeout: 10_000 });
  await screenshot(page, "after-reconnect");
});

step("Land Convoy: the landed convoy's bead is closed", async () => {
  const { page } = wb;
  await runCommand(page, "Gas Town: Land Convoy");
  await pick(page, convoyId, "Land which convoy");
  await eventually(() => [bdJson("show", convoyId)].flat()[0].status === "closed", 15_000, "the convoy bead closed");
  // Issue 15: the closed convoy reaches the view by push, in its own "Recently landed" section
  // (collapsed while another convoy is open): it does not just vanish.
  const group = row(page, "Recently landed, 1 convoy");
  await group.first().waitFor({ timeout: 10_000 });
  // A click that lands while the tree re-renders (the landing's pushes) selects the row without
  // expanding it: click again until it is expanded.
  const landed = page.locator(`.monaco-list-row[aria-label^="convoy ${convoyId} Time machine, 2 of 2 closed, landed"]`);
  await eventually(async () => {
    if ((await landed.count()) > 0) return true;
    if ((await group.first().getAttribute("aria-expanded")) !== "true") await group.first().click();
    return false;
  }, 10_000, "the landed convoy under Recently landed");
  await landed.first().waitFor({ timeout: 5_000 });
  await screenshot(page, "recently-landed");
  // convoy/land mails CONVOY_LANDED to the Overseer: it arrives in the Mail view.
  await page.locator(`.monaco-list-row[aria-label*="CONVOY_LANDED ${convoyId}"]`).first().waitFor({ timeout: 10_000 });
});

test("activation and refresh timings are recorded from inside the extension host", () => {
  const m = readMetrics(metricsFile);
  const activation = m.find((x) => x.name === "activation");
  assert.ok(activation, `metrics: ${JSON.stringify(m)}`);
  console.log(`# activation: ${activation.ms} ms; since bundle load: ${m.find((x) => x.name === "activation.sinceLoad")?.ms} ms; first data: ${m.find((x) => x.name === "activation.firstData")?.ms} ms`);
  // Target < 500 ms (recorded by benchmarks/vscode_sidebar.mjs); a generous bound here.
  assert.ok(activation.ms < 2000, `activation took ${activation.ms} ms`);
});
