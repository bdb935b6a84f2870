// The town as this client knows it, kept current by server pushes only.
//
// On every (re)connect the store loads snapshots (status, agents, convoys
// with their tracked beads, inbox) and subscribes to the feed from the last
// cursor it saw, so a reconnect misses no event.  After that, each
// notification refreshes just the part it names; nothing here polls.

import { Emitter, type Disposable, type Event } from "vscode-jsonrpc/node";
import { describeError, type GastownConnection } from "./connection";
import {
  isObject,
  listOf,
  Methods,
  Notifications,
  toAgent,
  toConvoy,
  toConvoyTree,
  toFeedEvent,
  toMail,
  toTownStatus,
  type Agent,
  type Bead,
  type Convoy,
  type ConvoyTree,
  type FeedEvent,
  type Mail,
  type TownStatus,
} from "./protocol";

export type Part = "status" | "agents" | "convoys" | "landed" | "mail";

export interface Change {
  part: Part;
  /** performance.now() when the push that caused this change arrived (undefined for initial loads). */
  pushedAt: number | undefined;
  /** The convoy whose tree changed, for convoy changes caused by a push. */
  convoyId?: string;
}

const PART_METHOD: Record<Part, string> = {
  status: Methods.townStatus,
  agents: Methods.agentList,
  convoys: Methods.convoyList,
  landed: Methods.convoyList,
  mail: Methods.mailInbox,
};

/** How many recently landed convoys the Convoys view lists. */
const RECENT_LANDED = 10;

/** Event kinds that may put work on, or take it off, an agent's hook. */
const HOOK_EVENT = /^(updated|closed|reopened|deleted|status_changed)$|hook|sling|handoff|done/;

export class TownStore {
  status: TownStatus | undefined;
  agents: Agent[] = [];
  convoys: Convoy[] = [];
  trees = new Map<string, ConvoyTree>();
  /** Recently landed convoys (convoy/list status "recent"), newest first. */
  landed: Convoy[] = [];
  inbox: Mail[] = [];
  /** Whose inbox the Mail view shows (undefined: the session's actor, the Overseer). */
  inboxAddress: string | undefined;
  /** Id of the last feed event seen; the feed resumes after it on reconnect (undefined: from now on). */
  cursor: number | undefined;
  /** The server's id for our feed subscription. */
  subscription: number | undefined;
  /** Errors from loading parts (a method the server lacks, say), by part. */
  readonly errors = new Map<Part, string>();
  loaded = false;

  private readonly _onDidChange = new Emitter<Change>();
  private readonly _onEvent = new Emitter<FeedEvent>();
  readonly onDidChange: Event<Change> = this._onDidChange.event;
  readonly onEvent: Event<FeedEvent> = this._onEvent.event;
  private readonly subs: Disposable[] = [];
  /** Serialises refreshes of one key so that a burst of pushes yields ordered, fresh results. */
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();

  constructor(
    private readonly conn: GastownConnection,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.subs.push(
      conn.onDidConnect(() => void this.resync()),
      conn.onNotification(Notifications.event, (p) => this.onFeedEvent(p)),
      conn.onNotification(Notifications.convoyChanged, (p) => this.onConvoyChanged(p)),
      conn.onNotification(Notifications.agentChanged, () => this.refresh("agents", performance.now())),
      conn.onNotification(Notifications.mailArrived, () => this.refresh("mail", performance.now())),
    );
  }

  get unread(): number {
    return this.inbox.filter((m) => !m.read).length;
  }

  get runningAgents(): number {
    return this.agents.filter((a) => a.running).length;
  }

  /** Load everything and (re)subscribe to the feed from the cursor. */
  async resync(): Promise<void> {
    await Promise.all([
      this.subscribeFeed(),
      this.load("status", undefined),
      this.load("agents", undefined),
      this.load("convoys", undefined),
      this.load("landed", undefined),
      this.load("mail", undefined),
    ]);
    this.loaded = true;
    this._onDidChange.fire({ part: "status", pushedAt: undefined });
  }

  private async subscribeFeed(): Promise<void> {
    try {
      // First connect: from now on (the snapshots cover the past). Reconnect: after the last event seen.
      const r = await this.conn.request(Methods.feedSubscribe, { cursor: this.cursor ?? null });
      if (isObject(r)) {
        if (typeof r.subscription === "number") this.subscription = r.subscription;
        if (this.cursor === undefined && typeof r.cursor === "number") this.cursor = r.cursor;
      }
    } catch (e) {
      this.log(`[store] feed/subscribe failed: ${describeError(e)}`);
    }
  }

  private onFeedEvent(params: unknown): void {
    const ev = toFeedEvent(params);
    if (!ev) return;
    if (this.cursor !== undefined && ev.id <= this.cursor) return; // already seen
    this.cursor = ev.id;
    this._onEvent.fire(ev);
    // An agent's hook is a bead hooked to it: the server's agentChanged covers agent beads and
    // sessions, so bead changes that may hook or unhook work refresh the agents here
    // (agent/list is sub-millisecond, and bursts coalesce into one request).
    if (HOOK_EVENT.test(ev.kind)) this.refresh("agents", performance.now());
    // Mail sent inside another change (a landed convoy mails the Overseer) shares that change's
    // one event, which names the messages, and gets no mailArrived push of its own.
    if (isObject(ev.payload) && Array.isArray(ev.payload.mail) && ev.payload.mail.length > 0) this.refresh("mail", performance.now());
  }

  private onConvoyChanged(params: unknown): void {
    const t = performance.now();
    const o = isObject(params) ? params : {};
    const id = typeof o.convoy === "string" ? o.convoy : isObject(o.convoy) && typeof o.convoy.id === "string" ? o.convoy.id : typeof o.id === "string" ? o.id : undefined;
    if (id && Array.isArray(o.tracked)) {
      // The push carries the tree itself: no round trip.
      this.applyTree(toConvoyTree(o), t);
      return;
    }
    if (id) void this.refreshConvoy(id, t);
    else {
      this.refresh("convoys", t);
      this.refresh("landed", t);
    }
  }

  /** Refresh one part because of a push at `pushedAt`. */
  refresh(part: Part, pushedAt: number | undefined): void {
    void this.serialised(part, () => this.load(part, pushedAt));
  }

  private async serialised(key: string, fn: () => Promise<void>): Promise<void> {
    if (this.inflight.has(key)) {
      // One more run after the current one picks up everything pushed meanwhile.
      this.dirty.add(key);
      return this.inflight.get(key);
    }
    const run = (async () => {
      try {
        await fn();
        while (this.dirty.delete(key)) await fn();
      } finally {
        this.inflight.delete(key);
      }
    })();
    this.inflight.set(key, run);
    return run;
  }

  private async refreshConvoy(id: string, pushedAt: number): Promise<void> {
    await this.serialised(`convoy:${id}`, async () => {
      try {
        const tree = toConvoyTree(await this.conn.request(Methods.convoyTree, { id }));
        this.applyTree(tree, pushedAt);
      } catch (e) {
        this.log(`[store] convoy/tree ${id}: ${describeError(e)}`);
        this.refresh("convoys", pushedAt);
      }
    });
  }

  private applyTree(tree: ConvoyTree, pushedAt: number | undefined): void {
    const id = tree.convoy.id;
    if (tree.convoy.status === "closed") {
      // Landed: it leaves the open list for the "Recently landed" section (which the server orders).
      this.trees.delete(id);
      const i = this.convoys.findIndex((c) => c.id === id);
      if (i >= 0) this.convoys.splice(i, 1);
      this._onDidChange.fire({ part: "convoys", pushedAt, convoyId: id });
      this.refresh("landed", pushedAt);
      return;
    }
    if (this.landed.some((c) => c.id === id)) this.refresh("landed", pushedAt); // reopened
    this.trees.set(id, tree);
    const i = this.convoys.findIndex((c) => c.id === id);
    if (i >= 0) this.convoys[i] = { ...this.convoys[i]!, ...tree.convoy, title: tree.convoy.title || this.convoys[i]!.title };
    else this.convoys.push(tree.convoy);
    this._onDidChange.fire({ part: "convoys", pushedAt, convoyId: id });
  }

  private async load(part: Part, pushedAt: number | undefined): Promise<void> {
    const method = PART_METHOD[part];
    const caps = this.conn.server?.capabilities;
    if (caps && caps.length > 0 && !caps.includes(method)) {
      // An older or partial server: say so in the view instead of failing on every push.
      this.errors.set(part, `this gastown-server does not offer ${method}`);
      this._onDidChange.fire({ part, pushedAt });
      return;
    }
    try {
      switch (part) {
        case "status": {
          const caps = this.conn.server?.capabilities ?? [];
          const [status, rigs] = await Promise.all([
            this.conn.request(Methods.townStatus, {}),
            caps.includes(Methods.rigList) ? this.conn.request(Methods.rigList, {}).catch(() => undefined) : undefined,
          ]);
          this.status = toTownStatus(status);
          if (rigs !== undefined) this.status.rigs = listOf(rigs, "rigs").map((r) => (typeof r.name === "string" ? r.name : "")).filter(Boolean);
          break;
        }
        case "agents":
          this.agents = listOf(await this.conn.request(Methods.agentList, {}), "agents").map(toAgent);
          break;
        case "mail":
          this.inbox = listOf(await this.conn.request(Methods.mailInbox, this.inboxAddress ? { address: this.inboxAddress } : {}), "messages", "mail").map(toMail);
          this.inbox.sort((a, b) => Number(a.read) - Number(b.read) || (b.createdAt ?? "").localeCompare(a.createdAt ?? ""));
          break;
        case "landed":
          this.landed = listOf(await this.conn.request(Methods.convoyList, { status: "recent", limit: RECENT_LANDED }), "convoys").map((c) => toConvoy(c));
          break;
        case "convoys": {
          const list = listOf(await this.conn.request(Methods.convoyList, { status: "open" }), "convoys").map((c) => toConvoy(c));
          const trees = await Promise.all(
            list.map(async (c) => {
              try {
                return toConvoyTree(await this.conn.request(Methods.convoyTree, { id: c.id }));
              } catch (e) {
                this.log(`[store] convoy/tree ${c.id}: ${describeError(e)}`);
                return undefined;
              }
            }),
          );
          this.trees.clear();
          // Only open convoys here: landed ones are in `landed`.
          this.convoys = list.map((c, i) => {
            const t = trees[i];
            if (!t) return c;
            this.trees.set(c.id, t);
            return { ...c, ...t.convoy, title: t.convoy.title || c.title };
          });
          break;
        }
      }
      this.errors.delete(part);
    } catch (e) {
      this.errors.set(part, describeError(e));
      this.log(`[store] loading ${part}: ${describeError(e)}`);
    }
    // Agents' running count shows in the status bar too.
    this._onDidChange.fire({ part, pushedAt });
  }

  /** Show another address's inbox (undefined: the session's own, the Overseer's). */
  async setInbox(address: string | undefined): Promise<void> {
    this.inboxAddress = address && address.trim() ? address.trim() : undefined;
    this.inbox = [];
    await this.serialised("mail", () => this.load("mail", undefined));
  }

  tracked(convoyId: string): Bead[] {
    return this.trees.get(convoyId)?.tracked ?? [];
  }

  /** Clear everything (when the town changes). */
  reset(): void {
    this.status = undefined;
    this.agents = [];
    this.convoys = [];
    this.landed = [];
    this.trees.clear();
    this.inbox = [];
    this.cursor = undefined;
    this.subscription = undefined;
    this.loaded = false;
    for (const p of ["status", "agents", "convoys", "landed", "mail"] as const) this._onDidChange.fire({ part: p, pushedAt: undefined });
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this._onDidChange.dispose();
    this._onEvent.dispose();
  }
}
