// Every Gas Town view's first render in a real VS Code (code-server) with the
// built .vsix, against the workbench's own floor measured in the same run:
// a fixture extension (benchmarks/vscode_baseline_tree: ten static items,
// label only) installed beside it.  On the town benchmarks/ops_views.py
// builds (50 convoys tracking 2,000 beads, 30 agents), in each of several
// fresh windows (new browser contexts: no stored view state), once the
// extension is connected and its loads have answered:
//
//   - container switch: the Explorer shown, then a click on an activity bar
//     entry until the view's rows are in the DOM: Town Operations (Town and
//     Ready & Blocked views), the baseline's own container, VS Code's Search;
//   - pane expand: in the Gas Town container, a click on a collapsed pane's
//     header until its rows are in the DOM: Beads (200 beads) and the
//     baseline's collapsed pane in the same container.
//
// Times are taken inside the page: from the mousedown event's timestamp to
// the MutationObserver callback that first sees the rows (and to the next
// animation frame after it, "painted"), so neither Playwright's click nor its
// polling is in them; the pointer rests on the target 0.8 s before the
// press (the activity bar's hover drawn before, not inside).  The order of the views alternates between windows.
//
//   GASTOWN_BENCH_TOWN=<town> GT_TMUX_SOCKET=<socket> node benchmarks/vscode_first_render.mjs [--runs 6] [--trace]
//
// --trace also logs, for the last window, every websocket frame between the
// page and code-server (the extension host's RPC) during each measured click
// (time after the mousedown, size, the printable part: which $getChildren
// went out when, and when its answer came back), so a figure can be split
// into the renderer's own work and the round trips; with
// GASTOWN_BENCH_PROFILE_DIR set it also writes a renderer CPU profile per
// click there (.cpuprofile, for Chromium's DevTools).  GASTOWN_VSIX measures
// another build (an older commit's, for a before/after in one session).
//
// Run by `python benchmarks/ops_views.py --editor first-render`, which
// builds the town.  Needs: clients/vscode packaged (npm run package) and
// scripts/setup-e2e.sh run once.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { serverPath } from "../clients/vscode/test/unit/helpers.mjs";
import { extRoot, openWorkbench, readMetrics, runCommand } from "../clients/vscode/test/e2e/harness.mjs";

const { values } = parseArgs({ options: { runs: { type: "string", default: process.env.GASTOWN_BENCH_RUNS ?? "6" }, trace: { type: "boolean", default: false } } });
const runs = Math.min(Number(values.runs), 10);
const town = process.env.GASTOWN_BENCH_TOWN;
if (!town) throw new Error("GASTOWN_BENCH_TOWN: a town built by benchmarks/ops_views.py");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gastown-vscode-first-render-"));
const fixture = path.join(path.dirname(new URL(import.meta.url).pathname), "vscode_baseline_tree");
const baselineVsix = path.join(tmp, "baseline.vsix");
execFileSync(path.join(extRoot, "node_modules", ".bin", "vsce"), ["package", "--no-dependencies", "--allow-missing-repository", "--skip-license", "-o", baselineVsix], { cwd: fixture, stdio: "pipe" });

const metricsFile = path.join(tmp, "metrics.jsonl");
const wb = await openWorkbench({
  folder: town,
  tmp,
  extraVsix: [baselineVsix],
  settings: { "gastown.serverPath": serverPath(tmp), "gastown.town": town, "gastown.trace": false },
  env: { GASTOWN_VSCODE_METRICS: metricsFile, GT_TMUX_SOCKET: process.env.GT_TMUX_SOCKET ?? "" },
});
// Each run is a fresh browser context: a new window with no stored view state (the Beads pane
// starts collapsed, as a user's first time), its own extension host and connection.
await wb.page.close();
let page;
async function newWindow() {
  const context = await wb.browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
  page.on("websocket", (ws) => {
    ws.on("framesent", (f) => frames?.push({ at: Date.now(), dir: "out", size: f.payload.length, text: printable(f.payload) }));
    ws.on("framereceived", (f) => frames?.push({ at: Date.now(), dir: "in", size: f.payload.length, text: printable(f.payload) }));
  });
  await page.goto(`${wb.url}?folder=${encodeURIComponent(town)}`);
  return context;
}

// A row of one pane (pane headers carry the view's name): scoped, since hidden containers keep their DOM
// and the Convoys view's rows are beads too.
const pane = (header, row) => `.pane:has(> .pane-header[aria-label^="${header}"]) .monaco-list-row[aria-label^="${row}"]`;
/** What is clicked (an activity bar entry or a pane header) and, per view drawn by that click, the rows that show it drawn. */
const CLICKS = {
  ops: { tab: "Town Operations", views: { town: [pane("Town", "Daemon, "), pane("Town", "agent alpha/crew/c0, ")], work: [pane("Ready & Blocked", "bead ")] } },
  baselineSwitch: { tab: "Baseline Tree", views: { baselineSwitch: [pane("Static", "Static item 0")] } },
  search: { tab: "Search", views: { search: [".search-view .search-widget"] } },
  gastown: { tab: "Gas Town", views: { convoys: [pane("Convoys", "convoy ")], agents: [pane("Agents", "agent ")] } },
  beads: { header: "Beads", views: { beads: [pane("Beads", "bead ")] } },
  baselineExpand: { header: "Static Collapsed", views: { baselineExpand: [pane("Static Collapsed", "Collapsed item 0")] } },
};
/** The extension host's metric recorded when a view returns its root items (the first time). */
const METRICS = { town: "render.town", work: "render.work", beads: "render.beads.shown" };

// Websocket frames (the extension host RPC goes over one) with Node's wall clock, for --trace.
let frames;
function printable(p) {
  const s = typeof p === "string" ? p : Buffer.from(p).toString("latin1");
  return (s.match(/[\x20-\x7e]{4,}/g) ?? []).join(" ").slice(0, 160);
}

/** Arm the in-page probe, click, wait until the rows are there and an animation frame has run after. */
let profileDir;
/** Hover, arm the in-page probe, press; per view: mousedown -> its rows in the DOM, and -> the next animation frame. */
async function measure(name) {
  const c = CLICKS[name];
  const locator = c.tab ? page.locator(`.activitybar [aria-label^="${c.tab}"]`).first() : page.locator(`.pane-header[aria-label^="${c.header}"]`).first();
  // The pointer rests on the target first, as a hand's does before it presses: the activity
  // bar's hover is drawn before the measured press, not inside it.
  await locator.hover();
  await page.waitForTimeout(800);
  await page.evaluate((views) => {
    const sels = Object.values(views).flat();
    const st = { t0: undefined, wall0: undefined, hit: {}, paint: {}, done: false };
    window.__firstRender = st;
    const check = () => {
      if (st.t0 === undefined) return;
      const now = performance.now();
      for (const s of sels) {
        if (st.hit[s] === undefined && document.querySelector(s)) {
          st.hit[s] = now;
          requestAnimationFrame(() => {
            st.paint[s] = performance.now();
            if (sels.every((x) => st.paint[x] !== undefined)) st.done = true;
          });
        }
      }
      if (sels.every((s) => st.hit[s] !== undefined)) obs.disconnect();
    };
    const obs = new MutationObserver(check);
    obs.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label", "class", "style"] });
    window.addEventListener(
      "mousedown",
      (e) => {
        st.t0 = e.timeStamp;
        st.wall0 = Date.now();
        queueMicrotask(check);
      },
      { capture: true, once: true },
    );
  }, c.views);
  const cdp = profileDir ? await page.context().newCDPSession(page) : undefined;
  if (cdp) {
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 250 });
    await cdp.send("Profiler.start");
  }
  await locator.click();
  await page.waitForFunction(() => window.__firstRender.done, null, { timeout: 30_000, polling: 50 });
  if (cdp) {
    const { profile } = await cdp.send("Profiler.stop");
    fs.writeFileSync(path.join(profileDir, `${name}.cpuprofile`), JSON.stringify(profile));
    await cdp.detach();
  }
  const st = await page.evaluate(() => window.__firstRender);
  const out = {};
  for (const [view, sels] of Object.entries(c.views)) {
    out[view] = { dom: Math.max(...sels.map((x) => st.hit[x])) - st.t0, painted: Math.max(...sels.map((x) => st.paint[x])) - st.t0, wall0: st.wall0 };
  }
  return out;
}

async function showExplorer() {
  await runCommand(page, "View: Show Explorer");
  await page.locator(".part.sidebar .composite.title").filter({ hasText: /explorer/i }).first().waitFor({ timeout: 10_000 });
  await page.waitForTimeout(400);
}


const samples = {};
const traces = [];
const record = (name, r) => {
  for (const [view, x] of Object.entries(r)) (samples[view] ??= []).push(x);
  if (frames) traces.push({ name, wall0: Object.values(r)[0].wall0, dom: Math.max(...Object.values(r).map((x) => x.dom)), frames });
  frames = undefined;
};
try {
  for (let i = 0; i < runs; i++) {
    const loadsBefore = readMetrics(metricsFile).filter((m) => m.name === "load.beads").length;
    const context = await newWindow();
    await page.waitForSelector(".monaco-workbench", { timeout: 60_000 });
    await page.locator('.activitybar [aria-label^="Explorer"]').first().waitFor({ timeout: 60_000 });
    await showExplorer();
    await page.locator(".statusbar-item").filter({ hasText: /\d+\/\d+ agents/ }).first().waitFor({ timeout: 60_000 });
    const deadline = Date.now() + 60_000;
    while (readMetrics(metricsFile).filter((m) => m.name === "load.beads").length <= loadsBefore && Date.now() < deadline) await page.waitForTimeout(100);
    await page.waitForTimeout(1500); // every load on connect has answered
    const tracing = values.trace && i === runs - 1;
    profileDir = tracing ? process.env.GASTOWN_BENCH_PROFILE_DIR : undefined;
    const order = i % 2 === 0 ? ["ops", "baselineSwitch", "search", "gastown"] : ["baselineSwitch", "ops", "search", "gastown"];
    for (const name of order) {
      frames = tracing ? [] : undefined;
      record(name, await measure(name));
      if (name !== "gastown") await showExplorer();
    }
    // Pane expands, in the Gas Town container just shown (Convoys, Agents, Mail expanded; Beads and the baseline collapsed).
    await page.waitForTimeout(1000);
    const wasOpen = [];
    for (const name of ["Beads", "Static Collapsed"]) if (await page.locator(`.pane-header[aria-label^="${name}"][aria-expanded="true"]`).count()) wasOpen.push(name);
    if (wasOpen.length) throw new Error(`${wasOpen.join(", ")} expanded in a fresh window: not a first render`);
    const order2 = i % 2 === 0 ? ["beads", "baselineExpand"] : ["baselineExpand", "beads"];
    for (const name of order2) {
      frames = tracing ? [] : undefined;
      record(name, await measure(name));
      await page.waitForTimeout(600);
    }
    await context.close();
  }
} catch (e) {
  await page?.screenshot({ path: path.join(os.tmpdir(), "gastown-vscode-first-render-failed.png") }).catch(() => undefined);
  await wb.close();
  throw e;
}

const metrics = readMetrics(metricsFile);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (x) => `${Math.round(x)}`;
const labels = {
  town: "Town view (Town Operations shown: container switch)",
  work: "Ready & Blocked view (same click)",
  baselineSwitch: "baseline, 10 static items (its container shown)",
  search: "VS Code's Search view (its container shown)",
  convoys: "Convoys view (Gas Town container shown)",
  agents: "Agents view (same click)",
  beads: "Beads pane expanded (200 beads)",
  baselineExpand: "baseline collapsed pane expanded (10 items, same container)",
};
console.log(`n=${runs} windows; ms from mousedown: median (min-max) of rows in the DOM, median painted; "ext" = until the extension returned its root items (wall clock)`);
for (const [view, xs] of Object.entries(samples)) {
  const dom = xs.map((x) => x.dom);
  let ext = "";
  const m = METRICS[view];
  if (m) {
    const toExt = xs.flatMap((x) => {
      const hit = metrics.find((e) => e.name === m && Date.parse(e.at) >= x.wall0);
      return hit ? [Date.parse(hit.at) - x.wall0] : [];
    });
    if (toExt.length) ext = `; ext ${f(median(toExt))}`;
  }
  console.log(`  ${(labels[view] ?? view).padEnd(64)} ${f(median(dom)).padStart(5)} (${f(Math.min(...dom))}-${f(Math.max(...dom))}), painted ${f(median(xs.map((x) => x.painted)))}${ext}`);
}
const med = (view) => median(samples[view].map((x) => x.dom));
console.log(`  ours minus the floor (medians): Town ${f(med("town") - med("baselineSwitch"))}, Ready & Blocked ${f(med("work") - med("baselineSwitch"))}, Convoys ${f(med("convoys") - med("baselineSwitch"))}, Beads ${f(med("beads") - med("baselineExpand"))} ms`);
for (const t of traces) {
  console.log(`\ntrace ${t.name}: last rows in the DOM at +${f(t.dom)} ms`);
  for (const fr of t.frames) if (fr.at - t.wall0 > -20 && fr.at - t.wall0 < t.dom + 100) console.log(`  +${String(fr.at - t.wall0).padStart(4)} ${fr.dir} ${String(fr.size).padStart(6)} B ${fr.text}`);
}
await wb.close();
fs.rmSync(tmp, { recursive: true, force: true });
