// VS Code client figures, measured inside the extension host of a real
// VS Code (code-server) with the built .vsix installed:
//
//   - activation: activate() itself, and from the bundle's first line;
//   - first data: bundle load -> every view's snapshot loaded (includes
//     starting gastown-server);
//   - tree refresh after a pushed change: notification received -> the
//     Convoys view asking for its refreshed children (includes the
//     convoy/tree round trip the push triggers);
//   - and, seen from outside, `bd close` started -> the row shows "closed"
//     in the DOM (includes the bd process and the server's change watch).
//
// Town: 50 convoys tracking 2,000 beads (40 each), built with the Ledger API.
//
//   node benchmarks/vscode_sidebar.mjs [--convoys 50] [--per 40] [--closes 20]
//
// Needs: clients/vscode built and packaged (npm run package) and
// clients/vscode/scripts/setup-e2e.sh run once.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { serverPath } from "../clients/vscode/test/unit/helpers.mjs";
import { openGasTown, openWorkbench, readMetrics } from "../clients/vscode/test/e2e/harness.mjs";

const { values } = parseArgs({ options: { convoys: { type: "string", default: "50" }, per: { type: "string", default: "40" }, closes: { type: "string", default: "20" } } });
const nConvoys = Number(values.convoys);
const per = Number(values.per);
const nCloses = Number(values.closes);

const python = process.env.GASTOWN_PYTHON ?? "python3";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gastown-vscode-bench-"));
const town = path.join(tmp, "town");
fs.mkdirSync(town);

const build = `
import sys
from gastown_server.beads.store import Ledger
from gastown_server.paths import ledger_path
from gastown_server.work import convoys
led = Ledger(ledger_path(sys.argv[1]), create=True)
n, per = int(sys.argv[2]), int(sys.argv[3])
for c in range(n):
    ids = [led.create(f"Bead {c}.{i}", actor="overseer").id for i in range(per)]
    convoys.create(led, f"Convoy {c:02d}", ids, actor="overseer")
`;
const t0 = performance.now();
execFileSync(python, ["-c", build, town, String(nConvoys), String(per)], { encoding: "utf8" });
console.log(`town: ${nConvoys} convoys x ${per} tracked beads = ${nConvoys * per} beads, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const metricsFile = path.join(tmp, "metrics.jsonl");
const wb = await openWorkbench({
  folder: town,
  tmp,
  settings: { "gastown.serverPath": serverPath(tmp), "gastown.town": town, "gastown.trace": false },
  env: { GASTOWN_VSCODE_METRICS: metricsFile },
});

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (x) => `${x.toFixed(1)} ms`;

try {
  const { page } = wb;
  await openGasTown(page);
  await page.locator('.monaco-list-row[aria-label^="convoy "]').first().waitFor({ timeout: 60_000 });
  await page.waitForTimeout(500);
  const domLatency = [];
  const bdMs = [];
  const starts = [];
  for (let i = 0; i < nCloses; i++) {
    // A bead row currently rendered (the list is virtualised) and still open.
    const label = await page.evaluate(() => [...document.querySelectorAll(".monaco-list-row")].map((r) => r.getAttribute("aria-label") ?? "").find((l) => l.startsWith("bead ") && l.endsWith(", open")));
    if (!label) break;
    const id = label.split(" ")[1];
    const start = performance.now();
    starts.push(Date.now());
    execFileSync("bd", ["close", id], { cwd: town, env: { ...process.env, GT_TOWN: town } });
    bdMs.push(performance.now() - start);
    await page.waitForFunction((bead) => [...document.querySelectorAll(".monaco-list-row")].some((r) => { const l = r.getAttribute("aria-label") ?? ""; return l.startsWith(`bead ${bead} `) && l.endsWith(", closed"); }), id, { timeout: 10_000 });
    domLatency.push(performance.now() - start);
    await page.waitForTimeout(100);
  }
  const m = readMetrics(metricsFile);
  const get = (name) => m.filter((x) => x.name === name).map((x) => x.ms);
  const refresh = get("refresh.convoys");
  console.log(`activation (activate() call)        ${fmt(get("activation")[0])}   target < 500 ms`);
  console.log(`activation (from bundle load)       ${fmt(get("activation.sinceLoad")[0])}`);
  console.log(`first data (bundle load -> views)   ${fmt(get("activation.firstData")[0])}   (includes starting gastown-server)`);
  console.log(`tree refresh after a push, n=${refresh.length}     p50 ${fmt(pct(refresh, 50))}  p95 ${fmt(pct(refresh, 95))}  max ${fmt(Math.max(...refresh))}   target < 100 ms`);
  // Wall-clock arrival of each push in the extension host: the refresh metric's time minus its duration.
  const arrivals = m.filter((x) => x.name === "refresh.convoys").map((x) => Date.parse(x.at) - x.ms);
  const pushMs = starts.map((t) => arrivals.find((a) => a >= t) - t).filter((x) => Number.isFinite(x));
  console.log(`bd close process (start -> exit), n=${bdMs.length}  p50 ${fmt(pct(bdMs, 50))}  p95 ${fmt(pct(bdMs, 95))}`);
  console.log(`bd close started -> push in the extension host, n=${pushMs.length}  p50 ${fmt(pct(pushMs, 50))}  p95 ${fmt(pct(pushMs, 95))}`);
  console.log(`bd close -> row closed in the DOM, n=${domLatency.length}  p50 ${fmt(pct(domLatency, 50))}  p95 ${fmt(pct(domLatency, 95))}   (includes the bd process itself)`);
} finally {
  await wb.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
