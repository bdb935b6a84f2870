// A live transcript of one agent (the Mayor, usually): the recent tail
// first, then every chunk the server pushes, resubscribing from where we
// stopped after a reconnect.  No `vscode` import.

import { Emitter, type Disposable, type Event } from "vscode-jsonrpc/node";
import { describeError, type GastownConnection } from "./connection";
import { checkNudge, isObject, Methods, Notifications, TerminalText, toTranscriptChunk } from "./protocol";

export class TranscriptStream {
  /** Byte offset in the transcript file up to which we have text (undefined: not started). */
  offset: number | undefined;
  /** The tmux session the server streams under. */
  session: string | undefined;
  subscription: number | undefined;
  text = "";
  private wanted = false;
  /** One terminal-to-text state for the whole stream: a CR or escape split across chunks stays whole. */
  private readonly terminal = new TerminalText();
  private readonly subs: Disposable[] = [];
  private readonly _onDidAppend = new Emitter<string>();
  private readonly _onDidReset = new Emitter<void>();
  readonly onDidAppend: Event<string> = this._onDidAppend.event;
  /** The transcript restarted (log rotated): `text` was cleared. */
  readonly onDidReset: Event<void> = this._onDidReset.event;

  constructor(
    private readonly conn: GastownConnection,
    readonly agent: string,
    private readonly log: (line: string) => void = () => {},
    /** How many lines of history to show when first opened. */
    private readonly historyLines = 300,
  ) {
    this.subs.push(
      conn.onNotification(Notifications.transcript, (p) => this.onChunk(p)),
      conn.onDidConnect(() => {
        // Resume after a reconnect, or start now if the first try found no server.
        this.subscription = undefined;
        if (this.wanted) void this.subscribe().catch(() => undefined);
      }),
    );
  }

  /** Start streaming: the last lines of history, then live chunks from the end of that history. */
  async subscribe(): Promise<void> {
    this.wanted = true;
    try {
      if (this.offset === undefined) {
        const tail = await this.conn.request(Methods.agentTranscript, { agent: this.agent, lines: this.historyLines });
        if (isObject(tail)) {
          if (typeof tail.session === "string") this.session = tail.session;
          if (typeof tail.data === "string" && tail.data) this.append(this.terminal.feed(tail.data));
          this.offset = typeof tail.end === "number" ? tail.end : typeof tail.size === "number" ? tail.size : 0;
        } else {
          this.offset = 0;
        }
      }
      const r = await this.conn.request(Methods.transcriptSubscribe, { agent: this.agent, offset: this.offset });
      if (isObject(r)) {
        if (typeof r.subscription === "number") this.subscription = r.subscription;
        if (typeof r.session === "string") this.session = r.session;
      }
    } catch (e) {
      this.log(`[transcript] ${this.agent}: ${describeError(e)}`);
      throw e;
    }
  }

  private onChunk(params: unknown): void {
    const c = toTranscriptChunk(params);
    if (!c || this.offset === undefined) return;
    const mine = c.subscription !== undefined && this.subscription !== undefined ? c.subscription === this.subscription : c.agent === this.agent || (!!this.session && c.session === this.session);
    if (!mine) return;
    if (c.rotated) {
      this.offset = 0;
      this.text = "";
      this.terminal.reset();
      this._onDidReset.fire();
    }
    const bytes = Buffer.from(c.data, "utf8");
    const end = c.end ?? c.offset + bytes.length;
    if (end <= this.offset) return; // a chunk we already have
    const data = c.offset < this.offset ? bytes.subarray(this.offset - c.offset).toString("utf8") : c.data;
    this.offset = end;
    this.append(this.terminal.feed(data));
  }

  private append(text: string): void {
    if (!text) return;
    this.text += text;
    // Keep memory bounded for long-lived panels.
    if (this.text.length > 2_000_000) this.text = this.text.slice(-1_000_000);
    this._onDidAppend.fire(text);
  }

  /** Send a line of text to the agent (a nudge: typed into its pane, then Enter). */
  async send(message: string): Promise<unknown> {
    const r = await this.conn.request(Methods.nudge, { agent: this.agent, message });
    checkNudge(r, this.agent);
    return r;
  }

  async dispose(): Promise<void> {
    for (const s of this.subs) s.dispose();
    this._onDidAppend.dispose();
    this._onDidReset.dispose();
    if (this.conn.state === "connected" && this.subscription !== undefined) {
      try {
        await this.conn.request(Methods.transcriptUnsubscribe, { subscription: this.subscription });
      } catch {
        // the server may be gone already
      }
    }
  }
}
