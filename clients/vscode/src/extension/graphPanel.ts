// A bead's dependency graph in an editor tab: an SVG drawn by our own code
// (graphSvg, from the server's layered layout), no scripts from anywhere
// else, no network.  Clicking a box opens that bead.  It redraws when a
// feed event names a bead in the picture.

import * as crypto from "node:crypto";
import * as vscode from "vscode";
import { describeError, fetchDeps, graphSvg, type DepTree, type GastownConnection, type TownStore } from "../client";
import type { Metrics } from "./metrics";

const panels = new Map<string, GraphPanel>();

export class GraphPanel {
  readonly panel: vscode.WebviewPanel;
  private tree: DepTree | undefined;
  private readonly subs: vscode.Disposable[] = [];
  private pending = false;

  static async show(conn: GastownConnection, store: TownStore, id: string, metrics: Metrics): Promise<GraphPanel> {
    const existing = panels.get(id);
    if (existing) {
      existing.panel.reveal();
      await existing.redraw();
      return existing;
    }
    const p = new GraphPanel(conn, store, id, metrics);
    panels.set(id, p);
    await p.redraw();
    return p;
  }

  private constructor(
    private readonly conn: GastownConnection,
    store: TownStore,
    readonly id: string,
    private readonly metrics: Metrics,
  ) {
    this.panel = vscode.window.createWebviewPanel("gastown.beadGraph", `Graph: ${id}`, vscode.ViewColumn.Active, { enableScripts: true, localResourceRoots: [] });
    this.subs.push(
      this.panel.onDidDispose(() => this.dispose()),
      this.panel.webview.onDidReceiveMessage((m: { type?: string; id?: string }) => {
        if (m.type === "open" && typeof m.id === "string") void vscode.commands.executeCommand("gastown.bead.show", m.id);
      }),
      store.onEvent((ev) => {
        if (!ev.beadId || !this.tree) return;
        if (ev.beadId === this.id || this.tree.graph.nodes.some((n) => n.id === ev.beadId)) this.schedule(performance.now());
      }),
    );
  }

  private schedule(pushedAt: number): void {
    if (this.pending) return;
    this.pending = true;
    setTimeout(() => {
      this.pending = false;
      void this.redraw().then(() => this.metrics.record("refresh.beadGraph", performance.now() - pushedAt));
    }, 0);
  }

  async redraw(): Promise<void> {
    try {
      this.tree = await fetchDeps(this.conn, this.id);
      this.panel.webview.html = html(this.tree, this.panel.webview.cspSource);
    } catch (e) {
      void vscode.window.showErrorMessage(`Gas Town: dependency graph of ${this.id} failed: ${describeError(e)}`);
    }
  }

  dispose(): void {
    panels.delete(this.id);
    for (const d of this.subs) d.dispose();
  }
}

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function html(tree: DepTree, cspSource: string): string {
  const nonce = crypto.randomBytes(16).toString("base64");
  const n = tree.graph.nodes.length;
  const summary = `${tree.blockers.length} direct blocker${tree.blockers.length === 1 ? "" : "s"}, ${tree.dependents.length} direct dependent${tree.dependents.length === 1 ? "" : "s"}, ${n} bead${n === 1 ? "" : "s"} in the picture${tree.graph.truncated ? " (cut short)" : ""}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${cspSource} data:; style-src 'unsafe-inline'; script-src 'nonce-${nonce}';">
<style>
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 8px 16px; }
h2 { font-weight: 600; font-size: 1.1em; }
.legend span { margin-right: 1.2em; }
g.node { cursor: pointer; }
g.node:hover rect, g.node:focus rect { stroke: var(--vscode-focusBorder); stroke-width: 2; }
.wrap { overflow: auto; }
</style></head>
<body>
<h2>${esc(tree.title)} <code>${esc(tree.id)}</code> · ${esc(tree.status)}</h2>
<p class="summary">${esc(summary)}</p>
<p class="legend"><span>blockers on the left, dependents on the right</span><span style="color:#f14c4c">━ blocking</span><span>┅ related (not blocking)</span></p>
<div class="wrap">${graphSvg(tree)}</div>
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
for (const g of document.querySelectorAll("g.node")) {
  const open = () => vscode.postMessage({ type: "open", id: g.dataset.bead });
  g.addEventListener("click", open);
  g.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
}
</script>
</body></html>`;
}
