// The Town view's first render in a real VS Code (code-server) with the
// built .vsix, on the town benchmarks/ops_views.py builds (30 agents,
// 2,000 beads in 50 convoys): after each page reload, once the extension
// is connected (its status bar item shows the agents), a click on the Town
// Operations activity bar entry until the view's rows are in the DOM (the
// tree asking for its children, building its items, VS Code drawing them).
//
//   GASTOWN_BENCH_TOWN=<town> GT_TMUX_SOCKET=<socket> node benchmarks/vscode_ops.mjs
//
// Needs: clients/vscode packaged (npm run package) and scripts/setup-e2e.sh run once.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { serverPath } from "../clients/vscode/test/unit/helpers.mjs";
import { openWorkbench, readMetrics, runCommand } from "../clients/vscode/test/e2e/harness.mjs";

const town = process.env.GASTOWN_BENCH_TOWN;
const runs = Math.min(Number(process.env.GASTOWN_BENCH_RUNS ?? "5"), 8);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gastown-vscode-ops-bench-"));
const metricsFile = path.join(tmp, "metrics.jsonl");
const wb = await openWorkbench({
  folder: town,
  tmp,
  settings: { "gastown.serverPath": serverPath(tmp), "gastown.town": town, "gastown.trace": false },
  env: { GASTOWN_VSCODE_METRICS: metricsFile, GT_TMUX_SOCKET: process.env.GT_TMUX_SOCKET ?? "" },
});
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const fmt = (x) => `${x.toFixed(1)} ms`;
try {
  const { page } = wb;
  const samples = [];
  const baseline = [];
  let rows = 0;
  for (let i = 0; i < runs; i++) {
    if (i > 0) await page.reload();
    await page.waitForSelector(".monaco-workbench", { timeout: 60_000 });
    // The Explorer shown (a command: it never toggles), so that the click below is what shows the view.
    await page.locator('.activitybar [aria-label^="Explorer"]').first().waitFor({ timeout: 60_000 });
    await runCommand(page, "View: Show Explorer");
    await page.locator(".part.sidebar .composite.title").filter({ hasText: /explorer/i }).first().waitFor({ timeout: 10_000 });
    await page.locator(".statusbar-item").filter({ hasText: /\d+\/\d+ agents/ }).first().waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1500); // the OpsStore's loads on connect have answered
    const tab = page.locator('.activitybar [aria-label^="Town Operations"]').first();
    const start = performance.now();
    await tab.click();
    // The first rows and the first rig's agents (the list below the fold is virtualised).
    await page.locator('.monaco-list-row[aria-label^="Daemon, "]').first().waitFor({ timeout: 30_000 });
    await page.locator('.monaco-list-row[aria-label^="agent alpha/crew/c0, "]').first().waitFor({ timeout: 30_000 });
    samples.push(performance.now() - start);
    rows = await page.locator('.pane-body .monaco-list-row').count();
    // For scale: VS Code's own Search view shown the same way (a built-in container switch).
    const search = page.locator('.activitybar [aria-label^="Search"]').first();
    const s0 = performance.now();
    await search.click();
    await page.locator(".search-view .search-widget").first().waitFor({ timeout: 30_000 });
    baseline.push(performance.now() - s0);
  }
  const m = readMetrics(metricsFile).filter((x) => x.name === "render.town").map((x) => x.ms);
  console.log(`VS Code Town view: click -> rows in the DOM (${rows} rows drawn, the list is virtualised), n=${samples.length}: median ${fmt(pct(samples, 0.5))}, max ${fmt(Math.max(...samples))}`);
  console.log(`VS Code's own Search view, click -> its widget in the DOM, n=${baseline.length}: median ${fmt(pct(baseline, 0.5))}, max ${fmt(Math.max(...baseline))}`);
  console.log(`  of which the root getChildren in the extension host: median ${fmt(pct(m, 0.5))} (n=${m.length})`);
} catch (e) {
  await wb.page.screenshot({ path: path.join(os.tmpdir(), "gastown-vscode-ops-bench-failed.png") }).catch(() => undefined);
  throw e;
} finally {
  await wb.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
