// Bad input in a real workbench: no server binary, and a town that does not
// exist.  The user gets a notification saying what to do, and the views show
// their empty state with buttons rather than a broken tree.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { openGasTown, openWorkbench, screenshot } from "./harness.mjs";

let tmp;
let wb;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gastown-vscode-bad-"));
  const folder = path.join(tmp, "project");
  fs.mkdirSync(folder);
  wb = await openWorkbench({
    folder,
    tmp,
    settings: { "gastown.serverPath": path.join(tmp, "no-such-gastown-server"), "gastown.town": path.join(tmp, "no-such-town") },
  });
});

after(async () => {
  await wb?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("a missing server: a notification with Open Settings, and an empty state with buttons", async () => {
  const { page } = wb;
  await openGasTown(page);
  const toast = page.locator(".notification-toast").filter({ hasText: "gastown-server was not found" });
  await toast.first().waitFor({ timeout: 30_000 });
  assert.ok(await toast.locator('a.monaco-button, .monaco-button').filter({ hasText: "Open Settings" }).count() >= 1, "the notification offers Open Settings");
  const welcome = page.locator(".pane-body .welcome-view-content").filter({ hasText: "Not connected to a Gas Town server" });
  await welcome.first().waitFor({ timeout: 15_000 });
  assert.ok(await welcome.first().locator(".monaco-button").filter({ hasText: "Retry" }).count() >= 1, "the empty view has a Retry button");
  // No tree rows in the Convoys view: empty state, not a broken tree.
  assert.equal(await page.locator('.pane[aria-label^="Convoys"] .monaco-list-row, [id="workbench.view.extension.gastown"] .pane-body .monaco-list-row').count(), 0);
  await screenshot(page, "bad-input-no-server");
});
