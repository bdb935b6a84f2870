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
  const p = path.join(extRoot, "gastown-vscode.vsix");
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
export async function openWorkbench({ folder, settings = {}, env = {}, tmp }) {
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
  execFileSync(cs, ["--install-extension", vsixPath(), "--extensions-dir", extDir, "--user-data-dir", dataDir], { stdio: "pipe" });

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
  // F1 can be swallowed while focus moves (a terminal, a webview taking it): retry a few times.
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) await page.keyboard.press("Escape");
    await page.locator(".monaco-workbench").first().focus().catch(() => undefined);
    await page.keyboard.press("F1");
    try {
      await input.waitFor({ timeout: 3_000 });
      break;
    } catch (e) {
      if (attempt >= 4) throw e;
    }
  }
  await input.fill(`>${title}`);
  await page.locator(".quick-input-list .monaco-list-row").filter({ hasText: title }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press("Enter");
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
