// An agent's live transcript in an editor tab (a webview): text streams in
// as the server pushes chunks, and an input box at the bottom sends a line
// to the agent (a nudge).  One panel per agent; "Open Mayor" is this for
// the Mayor.

import * as crypto from "node:crypto";
import * as vscode from "vscode";
import { describeError, type GastownConnection, TranscriptStream } from "../client";

const panels = new Map<string, TranscriptPanel>();

export class TranscriptPanel {
  private readonly stream: TranscriptStream;
  private readonly subs: vscode.Disposable[] = [];
  private ready = false;
  private queued = "";

  static show(conn: GastownConnection, agent: string, log: (line: string) => void): TranscriptPanel {
    const existing = panels.get(agent);
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const p = new TranscriptPanel(conn, agent, log);
    panels.set(agent, p);
    return p;
  }

  private constructor(
    conn: GastownConnection,
    readonly agent: string,
    private readonly log: (line: string) => void,
  ) {
    const title = agent === "mayor" ? "Mayor" : `Transcript: ${agent}`;
    this.panel = vscode.window.createWebviewPanel("gastown.transcript", title, vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: true,
    });
    this.panel.webview.html = html(agent, this.panel.webview.cspSource);
    this.stream = new TranscriptStream(conn, agent, log);
    this.subs.push(
      this.stream.onDidAppend((text) => this.post(text)),
      this.stream.onDidReset(() => void this.panel.webview.postMessage({ type: "reset", text: "" })),
      this.panel.webview.onDidReceiveMessage((m: { type: string; text?: string }) => void this.onMessage(m)),
      this.panel.onDidDispose(() => this.dispose()),
    );
    this.stream.subscribe().catch((e: unknown) => {
      void vscode.window.showErrorMessage(`Gas Town: cannot stream the ${agent} transcript: ${describeError(e)}`, "Show Log").then((a) => {
        if (a) void vscode.commands.executeCommand("gastown.showLog");
      });
    });
  }

  readonly panel: vscode.WebviewPanel;

  private post(text: string): void {
    if (!this.ready) {
      this.queued += text;
      return;
    }
    void this.panel.webview.postMessage({ type: "append", text });
  }

  private async onMessage(m: { type: string; text?: string }): Promise<void> {
    if (m.type === "ready") {
      this.ready = true;
      void this.panel.webview.postMessage({ type: "reset", text: this.stream.text });
      this.queued = "";
      return;
    }
    if (m.type === "send" && m.text) {
      try {
        const r = await this.stream.send(m.text);
        const status = typeof r === "object" && r !== null && "status" in r ? String((r as { status: unknown }).status) : "sent";
        void this.panel.webview.postMessage({ type: "sent", status });
        this.log(`[mayor] sent ${JSON.stringify(m.text)} to ${this.agent}`);
      } catch (e) {
        void this.panel.webview.postMessage({ type: "failed", text: m.text });
        void vscode.window.showErrorMessage(`Gas Town: could not send to ${this.agent}: ${describeError(e)}`);
      }
    }
  }

  dispose(): void {
    panels.delete(this.agent);
    for (const s of this.subs) s.dispose();
    void this.stream.dispose();
  }
}

function html(agent: string, cspSource: string): string {
  const nonce = crypto.randomBytes(16).toString("base64");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'unsafe-inline'; script-src 'nonce-${nonce}';">
<style>
  html, body { height: 100%; margin: 0; padding: 0; }
  body { display: flex; flex-direction: column; font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); color: var(--vscode-editor-foreground); background: var(--vscode-editor-background); }
  #log { flex: 1; overflow-y: auto; margin: 0; padding: 8px 12px; white-space: pre-wrap; word-break: break-word; }
  form { display: flex; gap: 6px; padding: 6px 12px; border-top: 1px solid var(--vscode-panel-border); }
  input { flex: 1; padding: 4px 6px; color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); font: inherit; }
  button { padding: 4px 12px; color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; cursor: pointer; }
  #status { font-size: 90%; opacity: .7; padding: 0 12px 4px; min-height: 1em; }
</style></head>
<body>
<pre id="log" aria-label="${agent} transcript" data-agent="${agent}"></pre>
<div id="status"></div>
<form id="form"><input id="input" aria-label="Message to ${agent}" placeholder="Message to ${agent} (Enter to send)" autocomplete="off"><button type="submit">Send</button></form>
<script nonce="${nonce}">
  const vscode = acquireVsCodeApi();
  const log = document.getElementById("log");
  const input = document.getElementById("input");
  const status = document.getElementById("status");
  let follow = true;
  log.addEventListener("scroll", () => { follow = log.scrollTop + log.clientHeight >= log.scrollHeight - 4; });
  function append(text) { log.textContent += text; if (follow) log.scrollTop = log.scrollHeight; }
  window.addEventListener("message", (e) => {
    const m = e.data;
    if (m.type === "append") append(m.text);
    else if (m.type === "reset") { log.textContent = ""; append(m.text); }
    else if (m.type === "sent") status.textContent = m.status === "queued" ? "queued: delivered when the pane is idle" : m.status;
    else if (m.type === "failed") { status.textContent = "not sent"; input.value = m.text; }
  });
  document.getElementById("form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    status.textContent = "sending...";
    vscode.postMessage({ type: "send", text });
  });
  vscode.postMessage({ type: "ready" });
  // Only when the panel has the focus: a webview that loads late must not take it from a quick
  // pick opened meanwhile (the workbench closes a quick pick that loses focus).
  if (document.hasFocus()) input.focus();
</script>
</body></html>`;
}
