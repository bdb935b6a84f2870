// Bad input in a real workbench: no server binary, and a town that does not
// exist.  The user gets a notification saying what to do, and the views show
// their empty state with buttons rather than a broken tree; once the cause is
// fixed, Retry recovers without a reload.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { serverPath } from "../unit/helpers.mjs";
import { openGasTown, openWorkbench, screenshot } from "./harness.mjs";

function workbench(name, settingsFor) {
  const ctx = {};
  before(async () => {
    ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gastown-vscode-bad-"));
    const folder = path.join(ctx.tmp, "project");
    fs.mkdirSync(folder);
    ctx.wb = await openWorkbench({ folder, tmp: ctx.tmp, settings: settingsFor(ctx.tmp) });
    await openGasTown(ctx.wb.page);
  });
  after(async () => {
    if (ctx.wb) await screenshot(ctx.wb.page, `${name}-final`).catch(() => undefined);
    await ctx.wb?.close();
    fs.rmSync(ctx.tmp, { recursive: true, force: true });
  });
  return ctx;
}

const notConnected = (page) => page.locator(".welcome-view-content").filter({ hasText: "Not connected to a Gas Town server" });

describe("no server binary", () => {
  const ctx = workbench("bad-input-no-server", (tmp) => ({ "gastown.serverPath": path.join(tmp, "no-such-gastown-server") }));

  test("a notification with Open Settings, and an empty state with buttons", async () => {
    const { page } = ctx.wb;
    const toast = page.locator(".notification-toast").filter({ hasText: "gastown-server was not found" });
    await toast.first().waitFor({ timeout: 30_000 });
    assert.ok((await toast.first().textContent()).includes("gastown.serverPath"), "says which setting to fix");
    assert.ok((await toast.first().locator(".monaco-button").filter({ hasText: "Open Settings" }).count()) >= 1, "offers Open Settings");
    await notConnected(page).first().waitFor({ timeout: 15_000 });
    assert.ok((await notConnected(page).first().locator(".monaco-button").filter({ hasText: "Retry" }).count()) >= 1, "the empty view has a Retry button");
    // Empty state, not a broken tree: no rows in any Gas Town view.
    assert.equal(await page.locator('[id="workbench.view.extension.gastown"] .monaco-list-row').count(), 0);
    await page.locator(".statusbar-item").filter({ hasText: "Gas Town: offline" }).first().waitFor({ timeout: 5_000 });
    await screenshot(page, "bad-input-no-server");
  });
});

describe("a town that does not exist", () => {
  const ctx = workbench("bad-input-no-town", (tmp) => ({ "gastown.serverPath": serverPath(tmp), "gastown.town": path.join(tmp, "town") }));

  test("a notification naming the town and how to make one", async () => {
    const { page } = ctx.wb;
    const missing = path.join(ctx.tmp, "town");
    const toast = page.locator(".notification-toast").filter({ hasText: `No Gas Town at ${missing}` });
    await toast.first().waitFor({ timeout: 30_000 });
    assert.match((await toast.first().textContent()) ?? "", /gt install/);
    assert.ok((await toast.first().locator(".monaco-button").filter({ hasText: "Open Settings" }).count()) >= 1);
    await notConnected(page).first().waitFor({ timeout: 10_000 });
    await screenshot(page, "bad-input-no-town");
  });

  test("once the town exists, Retry fills the views without a reload", async () => {
    const { page } = ctx.wb;
    const town = path.join(ctx.tmp, "town");
    fs.mkdirSync(town);
    const env = { ...process.env, GT_TOWN: town };
    execFileSync("bd", ["init", "--prefix", "ok"], { cwd: town, env });
    const a = JSON.parse(execFileSync("bd", ["create", "Recovered bead", "--json"], { cwd: town, env, encoding: "utf8" }));
    execFileSync("bd", ["create", "Recovery convoy", "-t", "convoy", "--deps", `tracks:${a.id}`], { cwd: town, env });
    await notConnected(page).first().locator(".monaco-button").filter({ hasText: "Retry" }).first().click();
    await page.locator(`.monaco-list-row[aria-label^="bead ${a.id} Recovered bead, open"]`).first().waitFor({ timeout: 30_000 });
  });
});
