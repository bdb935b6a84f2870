// End-to-end harness: a real VS Code workbench (code-server, installed by
// scripts/setup-e2e.sh) with the built .vsix installed, driven by
// playwright-core on Debian's Chromium.  See shared/recipes/vscode-e2e.md.

import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const here = path.dirname(fileURLToPath(import.meta.url));
export const extRoot = path.resolve(here, "../..");
export const repoRoot = path.resolve(extRoot, "../..");
export const outputDir = path.join(repoRoot, "test-output", "vscode");

export function codeServerPath() {
  const cache = process.env.GASTOWN_VSCODE_E2E_CACHE ?? path.join(os.homedir(), ".cache", "gastown-vscode-e2e");
  const p = process.env.GASTOWN_CODE_SERVER ?? path.join(cache, "node_modules", ".bin", "code-server");
  if (!fs.existsSync(p)) throw new Error(`code-server not found at ${p}: run clients/vscode/scripts/setup-e2e.sh first`);
  return p;
}

export function chromiumPath() {
  for (const p of [process.env.GASTOWN_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (p && fs.existsSync(p)) return p;
  }
  throw new Error("Chromium not found: run clients/vscode/scripts/setup-e2e.sh first (apt-get install chromium)");
}

export function vsixPath() {
  // GASTOWN_VSIX: another build (benchmarks compare an older one in the same run).
  const p = process.env.GASTOWN_VSIX ?? path.join(extRoot, "gastown-vscode.vsix");
  if (!fs.existsSync(p)) throw new Error(`${p} missing: run "npm run package" first`);
  return p;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url, ms, proc, logFile) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`code-server exited with ${proc.exitCode}; see ${logFile}`);
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`code-server did not answer at ${url} within ${ms} ms; see ${logFile}`);
}

/**
 * Start code-server on `folder` with the built .vsix installed in a fresh
 * extensions dir, and open it in Chromium.  Returns {page, close, ...}.
 */
export async function openWorkbench({ folder, settings = {}, env = {}, tmp, extraVsix = [] }) {
  const { chromium } = await import("playwright-core");
  const dataDir = path.join(tmp, "data");
  const extDir = path.join(tmp, "ext");
  fs.mkdirSync(path.join(dataDir, "User"), { recursive: true });
  fs.writeFileSync(
    path.join(dataDir, "User", "settings.json"),
    JSON.stringify(
      {
        "security.workspace.trust.enabled": false,
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": false,
        "workbench.enableExperiments": false,
        "telemetry.telemetryLevel": "off",
        "extensions.autoCheckUpdates": false,
        "extensions.autoUpdate": false,
        "update.mode": "none",
        "chat.disableAIFeatures": true,
        "window.commandCenter": false,
        ...settings,
      },
      null,
      2,
    ),
  );
  const cs = codeServerPath();
  // Benchmarks may add fixtures (benchmarks/vscode_baseline_tree) beside the Gas Town .vsix.
  for (const vsix of [vsixPath(), ...extraVsix]) {
    execFileSync(cs, ["--install-extension", vsix, "--extensions-dir", extDir, "--user-data-dir", dataDir], { stdio: "pipe" });
  }

  const port = await freePort();
  const logFile = path.join(tmp, "code-server.log");
  const log = fs.openSync(logFile, "a");
  const proc = spawn(
    cs,
    ["--bind-addr", `127.0.0.1:${port}`, "--auth", "none", "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust", "--user-data-dir", dataDir, "--extensions-dir", extDir, folder],
    { env: { ...process.env, ...env }, stdio: ["ignore", log, log], detached: true },
  );
  const url = `http://127.0.0.1:${port}/`;
  await waitForHttp(url + "healthz", 60_000, proc, logFile);

  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${url}?folder=${encodeURIComponent(folder)}`);
  await page.waitForSelector(".monaco-workbench", { timeout: 60_000 });

  const close = async () => {
    await browser.close().catch(() => undefined);
    try {
      process.kill(-proc.pid, "SIGTERM"); // its own process group: the server and its extension host
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 300));
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      // gone
    }
    fs.closeSync(log);
  };
  return { page, browser, proc, url, logFile, close };
}

/** Open the Gas Town view container from the activity bar. */
export async function openGasTown(page) {
  const tab = page.locator('.activitybar [aria-label^="Gas Town"]').first();
  await tab.waitFor({ timeout: 60_000 });
  await tab.click();
  await page.locator('.pane-header[aria-label^="Convoys"]').first().waitFor({ timeout: 30_000 });
}

/** Run a command through the command palette. */
export async function runCommand(page, title) {
  const input = page.locator(".quick-input-widget input:visible").first();
  const item = page.locator(".quick-input-list .monaco-list-row").filter({ hasText: title }).first();
  // The palette closes whenever focus leaves it (F1 swallowed while a terminal or webview takes
  // focus, a view re-rendering its focused row after a push): then open it again from the start.
  for (let attempt = 0; ; attempt++) {
    try {
      if (attempt > 0) await resetUi(page);
      await page.locator(".monaco-workbench").first().focus().catch(() => undefined);
      await page.keyboard.press("F1");
      await input.waitFor({ timeout: 3_000 });
      await input.fill(`>${title}`, { timeout: 3_000 });
      await item.waitFor({ timeout: 10_000 });
      await item.click({ timeout: 3_000 });
      return;
    } catch (e) {
      if (attempt >= 4) throw e;
    }
  }
}

/**
 * Bring the workbench back to a resting state: no quick input, no modal
 * dialog left open by an earlier step, so that one failed step cannot make
 * the next one type into a stale input.
 */
export async function resetUi(page) {
  const busy = page.locator(".quick-input-widget:visible, .monaco-dialog-box:visible");
  for (let i = 0; i < 5 && (await busy.count()) > 0; i++) {
    // Escape reaches a quick input only while it has focus (a checkbox in it may have taken it).
    await page.locator(".quick-input-widget input:visible").first().focus({ timeout: 500 }).catch(() => undefined);
    await page.keyboard.press("Escape");
    await page.waitForTimeout(100);
  }
  if ((await busy.count()) > 0) throw new Error("a quick input or dialog stays open after Escape: the previous step left the workbench busy");
}

/**
 * A workbench step: starts from a resting UI (resetUi) and, when it fails,
 * keeps a screenshot named after it in test-output/vscode/ before rethrowing.
 */
export function uiStep(test, getPage) {
  return (name, fn) =>
    test(name, async (t) => {
      const page = getPage();
      await resetUi(page);
      try {
        await fn(t);
      } catch (e) {
        const slug = name.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "").slice(0, 60).toLowerCase();
        await screenshot(page, `failed-${slug}`).catch(() => undefined);
        throw e;
      }
    });
}

export async function screenshot(page, name) {
  fs.mkdirSync(outputDir, { recursive: true });
  const file = path.join(outputDir, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

export function readMetrics(file) {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/**
 * Right-click `target` (a tree row) and choose `label` in its context menu.
 * The entry is chosen with the keyboard: a mouse click on it sometimes left
 * the menu open and ran nothing (under load, seen 2 runs in 3), while the
 * hover that focuses the entry and Enter always reach it.  If the menu is
 * still open after, it is closed and opened again.
 */
export async function contextMenu(page, target, label) {
  // Anchored: "Park Rig" must not match "Unpark Rig".
  const entry = page.locator(".monaco-menu .action-item").filter({ hasText: new RegExp(`^\\s*${label.replace(/[.]/g, "\\.")}`) }).first();
  for (let attempt = 0; ; attempt++) {
    await target.click({ button: "right" });
    await entry.waitFor({ timeout: 10_000 });
    await entry.hover();
    await entry.locator(".action-menu-item").first().focus();
    await page.keyboard.press("Enter");
    try {
      await page.locator(".monaco-menu:visible").first().waitFor({ state: "hidden", timeout: 3_000 });
      return;
    } catch (e) {
      if (attempt >= 2) throw e;
      await page.keyboard.press("Escape");
    }
  }
}
