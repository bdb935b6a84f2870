// Run a formula: a form of its variables in an editor tab (a webview), one
// field per variable (default filled in, required ones starred) and an
// assignee.  Pour is one `formula/pour` call; when the server refuses for
// missing required variables (error data `missing`), the form says so and
// marks each field; other refusals show as the server's one line.

import * as crypto from "node:crypto";
import * as vscode from "vscode";
import { describeError, formulaVars, OpsMethods, type FormulaVar, type GastownConnection } from "../client";

const panels = new Map<string, FormulaPanel>();

type FromForm = { type: "pour"; vars: Record<string, string>; assignee: string };

export class FormulaPanel {
  readonly panel: vscode.WebviewPanel;
  private readonly subs: vscode.Disposable[] = [];

  static async show(conn: GastownConnection, name: string, log: (line: string) => void): Promise<FormulaPanel> {
    const existing = panels.get(name);
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const shown = await conn.request(OpsMethods.formulaShow, { name });
    const p = new FormulaPanel(conn, name, shown, log);
    panels.set(name, p);
    return p;
  }

  private constructor(
    private readonly conn: GastownConnection,
    readonly name: string,
    shown: unknown,
    private readonly log: (line: string) => void,
  ) {
    this.panel = vscode.window.createWebviewPanel("gastown.formula", `Run formula: ${name}`, vscode.ViewColumn.Active, { enableScripts: true, retainContextWhenHidden: true });
    const o = typeof shown === "object" && shown !== null ? (shown as Record<string, unknown>) : {};
    this.panel.webview.html = html(name, String(o.description ?? ""), formulaVars(shown), this.panel.webview.cspSource);
    this.subs.push(
      this.panel.webview.onDidReceiveMessage((m: FromForm) => void this.onMessage(m)),
      this.panel.onDidDispose(() => this.dispose()),
    );
  }

  private async onMessage(m: FromForm): Promise<void> {
    if (m.type !== "pour") return;
    const vars: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.vars)) if (v.trim()) vars[k] = v.trim();
    const params: Record<string, unknown> = { name: this.name, vars };
    if (m.assignee.trim()) params.assignee = m.assignee.trim();
    try {
      const r = (await this.conn.request(OpsMethods.formulaPour, params)) as { id?: string; steps?: number };
      this.log(`[formula] poured ${r.id} from ${this.name}`);
      void this.panel.webview.postMessage({ type: "poured", text: `Poured ${r.id} (${r.steps} steps)` });
      void vscode.window.showInformationMessage(`Gas Town: poured ${r.id} from ${this.name} (${r.steps} steps)`);
    } catch (e) {
      const data = (e as { data?: { missing?: unknown } }).data;
      const missing = Array.isArray(data?.missing) ? data.missing.filter((x): x is string => typeof x === "string") : [];
      void this.panel.webview.postMessage({ type: "error", text: describeError(e), missing });
    }
  }

  dispose(): void {
    panels.delete(this.name);
    for (const s of this.subs) s.dispose();
  }
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function html(name: string, description: string, vars: FormulaVar[], cspSource: string): string {
  const nonce = crypto.randomBytes(16).toString("base64");
  const rows = vars
    .map(
      (v) => `<label for="var-${esc(v.name)}">${esc(v.name)}${v.required ? ' <span class="req" title="required">*</span>' : ""}</label>
<input id="var-${esc(v.name)}" data-var="${esc(v.name)}" value="${esc(v.defaultValue ?? "")}" aria-label="variable ${esc(v.name)}"${v.required ? ' aria-required="true"' : ""}>
<div class="hint">${esc(v.description)}</div>`,
    )
    .join("\n");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'unsafe-inline'; script-src 'nonce-${nonce}';">
<style>
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 12px 20px; max-width: 760px; }
  h2 { font-weight: 600; margin: 0 0 4px; }
  .desc { opacity: .8; margin-bottom: 16px; }
  form { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; align-items: center; }
  .hint { grid-column: 2; font-size: 90%; opacity: .7; margin-bottom: 8px; }
  input { padding: 4px 6px; color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); font: inherit; }
  input:focus { outline: 1px solid var(--vscode-focusBorder); }
  input[aria-invalid="true"] { border-color: var(--vscode-inputValidation-errorBorder); background: var(--vscode-inputValidation-errorBackground, var(--vscode-input-background)); }
  .req { color: var(--vscode-errorForeground); }
  button { grid-column: 2; justify-self: start; padding: 4px 14px; color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; cursor: pointer; }
  button:hover { background: var(--vscode-button-hoverBackground); }
  #message { margin: 12px 0; min-height: 1.2em; }
  #message.error { color: var(--vscode-errorForeground); }
  #message.ok { color: var(--vscode-testing-iconPassed, var(--vscode-foreground)); }
</style></head>
<body>
<h2>Run formula ${esc(name)}</h2>
<div class="desc">${esc(description)}</div>
<div id="message" role="status" aria-live="polite"></div>
<form id="form">
${rows || '<div class="hint">This formula has no variables.</div>'}
<label for="assignee">assignee</label>
<input id="assignee" aria-label="assignee" placeholder="who walks the molecule (optional)">
<div class="hint">An agent address; empty: nobody yet.</div>
<button id="pour" type="submit">Pour</button>
</form>
<script nonce="${nonce}">
  const vscode = acquireVsCodeApi();
  const message = document.getElementById("message");
  const inputs = [...document.querySelectorAll("input[data-var]")];
  window.addEventListener("message", (e) => {
    const m = e.data;
    message.textContent = m.text;
    message.className = m.type === "error" ? "error" : "ok";
    for (const i of inputs) i.setAttribute("aria-invalid", String(m.type === "error" && (m.missing || []).includes(i.dataset.var)));
    const first = inputs.find((i) => i.getAttribute("aria-invalid") === "true");
    if (first) first.focus();
  });
  document.getElementById("form").addEventListener("submit", (e) => {
    e.preventDefault();
    const vars = {};
    for (const i of inputs) vars[i.dataset.var] = i.value;
    message.textContent = "pouring...";
    message.className = "";
    vscode.postMessage({ type: "pour", vars, assignee: document.getElementById("assignee").value });
  });
  (inputs[0] || document.getElementById("assignee")).focus();
</script>
</body></html>`;
}
