// The Beads view in a real VS Code workbench (code-server) with the built
// .vsix installed, against the real gastown-server on a real ledger.
//
// Checks: every bead is listed (not only convoys'), with search, a filter
// preset and the show-closed toggle from the palette; a bead expands into
// its blockers; two beads selected together get a status in one confirmed
// bulk change; a refused edit shows the server's one-line reason and
// changes nothing; a bead closed by another process leaves the list with no
// refresh; the dependency graph opens as an SVG webview; a dependency is
// added from a bead's context menu and removed from its blocker's row.  Keeps screenshots
// in test-output/vscode/.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { serverPath } from "../unit/helpers.mjs";
import { contextMenu, openGasTown, openWorkbench, runCommand, screenshot, uiStep } from "./harness.mjs";

let tmp, town, wb, ids;

function bd(...args) {
  return execFileSync("bd", args, { cwd: town, env: { ...process.env, GT_TOWN: town, BD_ACTOR: "overseer" }, encoding: "utf8" });
}
const bdJson = (...args) => JSON.parse(bd(...args, "--json"));
const show = (id) => {
  const r = bdJson("show", id);
  return Array.isArray(r) ? r[0] : r;
};

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gastown-vscode-beads-"));
  town = path.join(tmp, "town");
  fs.mkdirSync(town);
  bd("init", "--prefix", "gt");
  const a = bdJson("create", "Fix the parser", "-p", "1", "-l", "ui").id;
  const b = bdJson("create", "Write the docs", "-p", "3").id;
  const c = bdJson("create", "Ship the parser", "-p", "2", "--deps", a).id;
  const d = bdJson("create", "Old work", "-p", "2").id;
  bd("close", d);
  ids = { a, b, c, d };
  wb = await openWorkbench({ folder: town, tmp, settings: { "gastown.serverPath": serverPath(tmp), "gastown.town": town } });
});

after(async () => {
  if (wb) await screenshot(wb.page, "beads-final").catch(() => undefined);
  await wb?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const step = uiStep(test, () => wb.page);
const row = (page, label) => page.locator(`.monaco-list-row[aria-label^="${label}"]`);
const pane = (page) => page.locator('.pane:has(.pane-header[aria-label^="Beads"])');

async function pick(page, text) {
  const item = page.locator(".quick-input-list .monaco-list-row").filter({ hasText: text }).first();
  await item.waitFor({ timeout: 10_000 });
  await item.click();
}

async function answer(page, text) {
  const input = page.locator(".quick-input-widget input:visible").first();
  await input.waitFor({ timeout: 10_000 });
  await input.fill(text);
  await input.press("Enter");
}

step("the Beads view lists every open bead, by priority, with labels", async () => {
  const { page } = wb;
  await openGasTown(page);
  // Give the Beads view the room: collapse the other views.
  for (const name of ["Convoys", "Agents", "Mail"]) {
    const h = page.locator(`.pane-header[aria-label^="${name}"][aria-expanded="true"]`).first();
    if (await h.count()) await h.click();
  }
  const header = page.locator('.pane-header[aria-label^="Beads"]').first();
  await header.waitFor({ timeout: 30_000 });
  if ((await header.getAttribute("aria-expanded")) !== "true") await header.click();
  await row(page, `bead ${ids.a} Fix the parser, P1 open, labels ui`).first().waitFor({ timeout: 30_000 });
  const labels = await pane(page).locator(".monaco-list-row").evaluateAll((rs) => rs.map((r) => r.getAttribute("aria-label") ?? ""));
  const order = labels.filter((l) => l.startsWith("bead ")).map((l) => l.split(" ")[1]);
  assert.deepEqual(order, [ids.a, ids.c, ids.b]);
  assert.ok(!order.includes(ids.d), "closed beads are hidden by default");
  await screenshot(page, "beads-view");
});

step("search, a filter preset and the show-closed toggle come from the palette", async () => {
  const { page } = wb;
  await runCommand(page, "Gas Town: Search Beads");
  await answer(page, "parser");
  await row(page, `bead ${ids.b} `).first().waitFor({ state: "detached", timeout: 10_000 });
  await row(page, `bead ${ids.c} `).first().waitFor({ timeout: 5_000 });
  await runCommand(page, "Gas Town: Search Beads");
  await answer(page, "");
  await runCommand(page, "Gas Town: Filter Beads (Preset)");
  await pick(page, "Blocked");
  await row(page, `bead ${ids.a} `).first().waitFor({ state: "detached", timeout: 10_000 });
  await row(page, `bead ${ids.c} Ship the parser`).first().waitFor({ timeout: 5_000 });
  await runCommand(page, "Gas Town: Filter Beads (Preset)");
  await pick(page, "Open");
  await runCommand(page, "Gas Town: Show/Hide Closed Beads");
  await row(page, `bead ${ids.d} Old work, P2 closed`).first().waitFor({ timeout: 10_000 });
  await runCommand(page, "Gas Town: Show/Hide Closed Beads");
  await row(page, `bead ${ids.d} `).first().waitFor({ state: "detached", timeout: 10_000 });
});

step("a bead expands into its dependency tree", async () => {
  const { page } = wb;
  const r = row(page, `bead ${ids.c} `).first();
  await r.locator(".monaco-tl-twistie").click();
  await row(page, `Blockers of ${ids.c}, 1`).first().waitFor({ timeout: 10_000 });
  await row(page, `blocker ${ids.a} Fix the parser, open, blocks, blocking`).first().waitFor({ timeout: 10_000 });
  await r.locator(".monaco-tl-twistie").click();
});

step("two selected beads get a status in one confirmed bulk change", async () => {
  const { page } = wb;
  await row(page, `bead ${ids.a} `).first().click();
  await row(page, `bead ${ids.b} `).first().click({ modifiers: ["Control"] });
  await runCommand(page, "Gas Town: Set Status of Beads");
  await pick(page, "in_progress");
  const dialog = page.locator(".monaco-dialog-box");
  await dialog.first().waitFor({ timeout: 10_000 });
  assert.match(await dialog.first().innerText(), /status in_progress on 2 beads/);
  await dialog.first().locator(".monaco-button").filter({ hasText: "Apply" }).first().click();
  await page.locator(".notification-toast").filter({ hasText: "status in_progress: 2 beads" }).first().waitFor({ timeout: 10_000 });
  assert.equal(show(ids.a).status, "in_progress");
  assert.equal(show(ids.b).status, "in_progress");
  assert.equal(show(ids.c).status, "open");
  await row(page, `bead ${ids.b} Write the docs, P3 in_progress`).first().waitFor({ timeout: 10_000 });
  await screenshot(page, "beads-bulk");
});

step("a refused edit shows the server's one-line reason and changes nothing", async () => {
  const { page } = wb;
  await row(page, `bead ${ids.b} `).first().click();
  await runCommand(page, "Gas Town: Edit Bead");
  await pick(page, "title");
  await answer(page, "   ");
  const toast = page.locator(".notification-toast").filter({ hasText: "edit bead failed" }).first();
  await toast.waitFor({ timeout: 10_000 });
  assert.match(await toast.innerText(), /title must not be empty/);
  assert.equal(show(ids.b).title, "Write the docs");
});

step("a bead closed by another process leaves the list by push", async () => {
  const { page } = wb;
  bd("close", ids.b);
  await row(page, `bead ${ids.b} `).first().waitFor({ state: "detached", timeout: 10_000 });
});

step("the dependency graph opens as an SVG drawn in a webview", async () => {
  const { page } = wb;
  await row(page, `bead ${ids.c} `).first().click();
  await runCommand(page, "Gas Town: Show Dependency Graph");
  const frame = page.frameLocator("iframe.webview.ready").frameLocator("#active-frame");
  const svg = frame.locator("svg[aria-label^='Dependency graph of']");
  await svg.waitFor({ timeout: 20_000 });
  assert.equal(await frame.locator("g.node").count(), 2);
  await frame.locator(`g.node[data-bead="${ids.a}"]`).waitFor({ timeout: 5_000 });
  await frame.locator(`path.edge[data-source="${ids.a}"][data-target="${ids.c}"]`).waitFor({ state: "attached", timeout: 5_000 });
  await screenshot(page, "beads-graph");
  // Live: the blocker closes elsewhere and the picture follows.
  bd("close", ids.a);
  await frame.locator(`g.node[data-bead="${ids.a}"] title`).filter({ hasText: `${ids.a} closed` }).waitFor({ state: "attached", timeout: 10_000 });
});

step("Add Dependency... from a bead's context menu, Remove Dependency... from its blocker's row; the tree and the graph follow by push", async () => {
  const { page } = wb;
  const e = bdJson("create", "Grease the wheels", "-p", "2").id;
  await row(page, `bead ${e} Grease the wheels`).first().waitFor({ timeout: 10_000 });
  const menu = (target, label) => contextMenu(page, target, label);
  await menu(row(page, `bead ${ids.c} `).first(), "Add Dependency...");
  await pick(page, e);
  await pick(page, "blocks");
  await page.locator(".notification-toast").filter({ hasText: `${ids.c} now depends on ${e} (blocks)` }).first().waitFor({ timeout: 10_000 });
  // The graph still open from the step before follows by push too.
  const edge = page.frameLocator("iframe.webview.ready").frameLocator("#active-frame").locator(`path.edge[data-source="${e}"][data-target="${ids.c}"]`);
  await edge.waitFor({ state: "attached", timeout: 10_000 });
  const c = row(page, `bead ${ids.c} `).first();
  if ((await c.getAttribute("aria-expanded")) !== "true") await c.locator(".monaco-tl-twistie").click();
  const blocker = row(page, `blocker ${e} Grease the wheels, open, blocks, blocking`).first();
  await blocker.waitFor({ timeout: 10_000 });
  await screenshot(page, "beads-dep-added");
  await menu(blocker, "Remove Dependency...");
  await pick(page, `${ids.c} depends on ${e}`);
  await page.locator(".notification-toast").filter({ hasText: `${ids.c} no longer depends on ${e} (blocks removed)` }).first().waitFor({ timeout: 10_000 });
  await row(page, `blocker ${e} `).first().waitFor({ state: "detached", timeout: 10_000 });
  await edge.waitFor({ state: "detached", timeout: 10_000 });
  assert.deepEqual((show(ids.c).dependencies ?? []).map((d) => d.depends_on_id), [ids.a]);
});
