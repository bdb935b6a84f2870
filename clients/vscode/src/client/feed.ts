// The activity feed as the Feed view shows it: the events pushed since
// connecting (and the ledger's recent news, loaded once), capped, filtered.
//
// Seen in a first hour: patrol wisps (wisp_poured, molecule_burned, the
// closes of a wisp's steps) buried what a person cares about, and a feed
// with no cap grew without bound.  So patrol noise is hidden unless asked
// for, the view can show one rig or one kind, and the log keeps at most
// `max` events (dropping the oldest, a tenth at a time so a steady stream
// does not pay a copy per event).  No `vscode` import: tested under Node.

import { Emitter, type Disposable, type Event } from "vscode-jsonrpc/node";
import type { FeedEvent } from "./protocol";
import { isObject } from "./protocol";

/**
 * Patrol bookkeeping rather than news: the same notion as the server's
 * work/activity.py (PATROL_NOISE_KINDS, is_patrol_noise) and the Emacs feed
 * (gastown-feed-noise-kinds): these kinds, any event on a wisp, any ephemeral bead's.
 */
export const PATROL_NOISE_KINDS: readonly string[] = ["wisp_poured", "molecule_burned", "molecule_squashed", "heartbeat", "patrol_backoff"];

export function isPatrolNoise(ev: FeedEvent): boolean {
  if (PATROL_NOISE_KINDS.includes(ev.kind)) return true;
  if (ev.beadId && ev.beadId.includes("-wisp-")) return true;
  return isObject(ev.payload) && ev.payload.ephemeral === true;
}

export interface FeedFilter {
  /** Show patrol noise too. */
  noise: boolean;
  /** Only this rig's events: its agents' (actor "rig/...") and its beads' (id "prefix-..."). */
  rig?: { name: string; prefix: string } | undefined;
  /** Only events of this kind. */
  kind?: string | undefined;
}

export function feedMatches(ev: FeedEvent, f: FeedFilter): boolean {
  if (!f.noise && isPatrolNoise(ev)) return false;
  if (f.kind && ev.kind !== f.kind) return false;
  if (f.rig) {
    const byActor = (ev.actor ?? "").startsWith(`${f.rig.name}/`);
    const byBead = f.rig.prefix !== "" && (ev.beadId ?? "").startsWith(`${f.rig.prefix}-`);
    if (!byActor && !byBead) return false;
  }
  return true;
}

/** One line of the feed for a person: "closed gt-abc Fix the login" (payload title when there is one). */
export function feedTitle(ev: FeedEvent): string {
  const p = isObject(ev.payload) ? ev.payload : {};
  const title = typeof p.title === "string" ? p.title : typeof p.subject === "string" ? p.subject : "";
  return [ev.kind, ev.beadId ?? "", title].filter(Boolean).join(" ");
}

export interface FeedChange {
  /** performance.now() when the push that caused it arrived (undefined: a load or a filter change). */
  pushedAt: number | undefined;
}

export class FeedLog {
  /** Oldest first; never more than `max` + a tenth of it. */
  private events: FeedEvent[] = [];
  private readonly ids = new Set<number>();
  filter: FeedFilter = { noise: false };
  private readonly _onDidChange = new Emitter<FeedChange>();
  readonly onDidChange: Event<FeedChange> = this._onDidChange.event;
  private readonly sub: Disposable | undefined;

  constructor(
    public max: number = 1000,
    source?: Event<FeedEvent>,
  ) {
    this.sub = source?.((ev) => this.add([ev], performance.now()));
  }

  /** How many events are kept (whatever the filter). */
  get size(): number {
    return this.events.length;
  }

  /** Add events (in id order; ones already kept are skipped), then trim to the cap. */
  add(evs: FeedEvent[], pushedAt: number | undefined): void {
    let added = false;
    for (const ev of evs) {
      if (this.ids.has(ev.id)) continue;
      this.ids.add(ev.id);
      this.events.push(ev);
      added = true;
    }
    if (!added) return;
    if (this.events.length > 1 && evs.length > 1) this.events.sort((a, b) => a.id - b.id);
    this.trim();
    this._onDidChange.fire({ pushedAt });
  }

  private trim(): void {
    const max = Math.max(1, this.max);
    if (this.events.length <= max + Math.max(1, Math.floor(max / 10))) return;
    const drop = this.events.splice(0, this.events.length - max);
    for (const ev of drop) this.ids.delete(ev.id);
  }

  /** The events the filter lets through, newest first, at most `limit`. */
  shown(limit = this.max): FeedEvent[] {
    const out: FeedEvent[] = [];
    for (let i = this.events.length - 1; i >= 0 && out.length < limit; i--) {
      const ev = this.events[i]!;
      if (feedMatches(ev, this.filter)) out.push(ev);
    }
    return out;
  }

  /** How many kept events the filter hides (the view says so). */
  hidden(): number {
    let n = 0;
    for (const ev of this.events) if (!feedMatches(ev, this.filter)) n++;
    return n;
  }

  /** The kinds seen, for a kind picker. */
  kinds(): string[] {
    return [...new Set(this.events.map((e) => e.kind))].sort();
  }

  setFilter(f: Partial<FeedFilter>): void {
    this.filter = { ...this.filter, ...f };
    this._onDidChange.fire({ pushedAt: undefined });
  }

  /** The filters in force, in a few words (the view's description). */
  describeFilter(): string {
    const parts = [this.filter.noise ? "patrol noise shown" : "patrol noise hidden"];
    if (this.filter.rig) parts.push(`rig ${this.filter.rig.name}`);
    if (this.filter.kind) parts.push(`kind ${this.filter.kind}`);
    return parts.join(" · ");
  }

  clear(): void {
    this.events = [];
    this.ids.clear();
    this._onDidChange.fire({ pushedAt: undefined });
  }

  dispose(): void {
    this.sub?.dispose();
    this._onDidChange.dispose();
  }
}
