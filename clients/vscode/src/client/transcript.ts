// A live transcript of one agent (the Mayor, usually): subscribe from a byte
// offset, append the chunks the server pushes, resubscribe from where we
// stopped after a reconnect.  No `vscode` import.

import { Emitter, type Disposable, type Event } from "vscode-jsonrpc/node";
import { describeError, type GastownConnection } from "./connection";
import { isObject, Methods, Notifications, stripAnsi, toTranscriptChunk } from "./protocol";

export class TranscriptStream {
  /** Byte offset in the transcript file up to which we have text. */
  offset = 0;
  /** The session name the server streams under (learnt from subscribe or the first chunk). */
  session: string | undefined;
  text = "";
  private subscription: unknown;
  private readonly subs: Disposable[] = [];
  private readonly _onDidAppend = new Emitter<string>();
  readonly onDidAppend: Event<string> = this._onDidAppend.event;

  constructor(
    private readonly conn: GastownConnection,
    readonly agent: string,
    private readonly log: (line: string) => void = () => {},
    /** Start this many bytes before the end when the transcript is long (0: from the start). */
    private readonly tailBytes = 64 * 1024,
  ) {
    this.subs.push(
      conn.onNotification(Notifications.transcript, (p) => this.onChunk(p)),
      conn.onDidConnect(() => void this.subscribe()),
    );
  }

  async subscribe(): Promise<void> {
    try {
      const r = await this.conn.request(Methods.transcriptSubscribe, { agent: this.agent, offset: this.offset, tail: this.offset === 0 ? this.tailBytes : 0 });
      if (isObject(r)) {
        if (typeof r.session === "string") this.session = r.session;
        this.subscription = r.subscription ?? r.id ?? this.subscription;
        // A server may answer with the text up to now in the result.
        const chunk = toTranscriptChunk(r);
        if (chunk) this.onChunk({ ...r, session: this.session ?? chunk.session });
        else if (typeof r.offset === "number" && this.offset === 0) this.offset = r.offset;
      }
    } catch (e) {
      this.log(`[transcript] subscribe ${this.agent}: ${describeError(e)}`);
      throw e;
    }
  }

  private onChunk(params: unknown): void {
    const c = toTranscriptChunk(params);
    if (!c) return;
    const mine = c.agent === this.agent || (this.session !== undefined && c.session === this.session) || (this.session === undefined && c.agent === undefined);
    if (!mine) return;
    if (this.session === undefined && c.session) this.session = c.session;
    const bytes = Buffer.byteLength(c.data, "utf8");
    const end = c.offset + bytes;
    if (end <= this.offset) return; // a chunk we already have
    let data = c.data;
    if (c.offset < this.offset) data = Buffer.from(c.data, "utf8").subarray(this.offset - c.offset).toString("utf8");
    this.offset = end;
    const clean = stripAnsi(data);
    this.text += clean;
    this._onDidAppend.fire(clean);
  }

  /** Send a line of text to the agent (a nudge: typed into its pane, then Enter). */
  async send(message: string): Promise<unknown> {
    return this.conn.request(Methods.nudge, { target: this.agent, message });
  }

  async dispose(): Promise<void> {
    for (const s of this.subs) s.dispose();
    this._onDidAppend.dispose();
    if (this.conn.state === "connected") {
      try {
        await this.conn.request(Methods.transcriptUnsubscribe, { agent: this.agent, subscription: this.subscription, session: this.session });
      } catch {
        // the server may be gone already
      }
    }
  }
}
