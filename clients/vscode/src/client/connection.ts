// One JSON-RPC connection to `gastown-server --stdio`, spawned as a child
// process.  No `vscode` import: this runs (and is tested) under plain Node.
//
// The connection owns the process life cycle: start, an `initialize`
// exchange, a traffic log, and reconnecting with backoff when the server
// dies.  Whoever needs state after a (re)connect listens to `onDidConnect`
// and re-subscribes there (the store resumes its feed from its cursor).

import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  CancellationToken,
  createMessageConnection,
  Emitter,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  Trace,
  type Disposable,
  type Event,
  type MessageConnection,
  type Tracer,
} from "vscode-jsonrpc/node";
import { Methods, toInitializeResult, type InitializeResult } from "./protocol";

export type ConnectionState = "idle" | "connecting" | "connected" | "disconnected" | "stopped";

export interface ConnectionOptions {
  /** Executable name or path (`gastown-server`). */
  serverPath: string;
  /** Extra arguments after `--stdio`. */
  serverArgs?: string[];
  /** Town root; passed as `--town` and `GT_TOWN`. Empty: let the server find it. */
  town?: string;
  /** Working directory of the server process. */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** One line per message of traffic and life-cycle news. */
  log?: (line: string) => void;
  /** Log full JSON-RPC traffic (requests, results, notifications). */
  trace?: boolean;
  /** Reconnect delays in ms; the last one repeats. Empty: never reconnect. */
  backoff?: number[];
  /** Give up reconnecting after this many failed attempts in a row. */
  maxAttempts?: number;
  clientName?: string;
}

/** What went wrong, told so that a person knows what to do; `action` names the remedy. */
export class ConnectionError extends Error {
  constructor(
    message: string,
    readonly action: "openSettings" | "retry" | "showLog",
    readonly code?: number,
    /** The server's error data (e.g. `missing` variables of formula/pour). */
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "ConnectionError";
  }
}

/** Turn anything a request may throw into one human line. */
export function describeError(e: unknown): string {
  if (e instanceof ResponseError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

const DEFAULT_BACKOFF = [500, 1000, 2000, 5000, 10000];

export class GastownConnection {
  private proc: ChildProcess | undefined;
  private conn: MessageConnection | undefined;
  private _state: ConnectionState = "idle";
  private stderrTail: string[] = [];
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private generation = 0;
  private readonly notificationHandlers = new Map<string, Set<(params: unknown) => void>>();
  private readonly _onDidChangeState = new Emitter<ConnectionState>();
  private readonly _onDidConnect = new Emitter<InitializeResult>();
  private readonly _onError = new Emitter<ConnectionError>();
  /** The last `initialize` result. */
  server: InitializeResult | undefined;
  lastError: ConnectionError | undefined;

  readonly onDidChangeState: Event<ConnectionState> = this._onDidChangeState.event;
  /** Fired after every successful (re)connect, once `initialize` returned. */
  readonly onDidConnect: Event<InitializeResult> = this._onDidConnect.event;
  /** Fired when a start or reconnect fails, with a message for a human. */
  readonly onError: Event<ConnectionError> = this._onError.event;

  constructor(private options: ConnectionOptions) {}

  get state(): ConnectionState {
    return this._state;
  }

  /** Process id of the running server, if any. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Change settings; takes effect at the next (re)start. */
  configure(options: ConnectionOptions): void {
    this.options = options;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private setState(s: ConnectionState): void {
    if (s === this._state) return;
    this._state = s;
    this._onDidChangeState.fire(s);
  }

  /** Register a handler for a server notification; survives reconnects. */
  onNotification(method: string, handler: (params: unknown) => void): Disposable {
    let set = this.notificationHandlers.get(method);
    if (!set) {
      set = new Set();
      this.notificationHandlers.set(method, set);
      this.conn?.onNotification(method, (p: unknown) => this.dispatch(method, p));
    }
    set.add(handler);
    return { dispose: () => set!.delete(handler) };
  }

  private dispatch(method: string, params: unknown): void {
    for (const h of this.notificationHandlers.get(method) ?? []) {
      try {
        h(params);
      } catch (e) {
        this.log(`[error] handler for ${method}: ${describeError(e)}`);
      }
    }
  }

  /** Start (or restart) the server and run `initialize`. Rejects with a ConnectionError. */
  async start(): Promise<InitializeResult> {
    this.cancelReconnect();
    this.teardown();
    this.attempts = 0;
    try {
      return await this.connectOnce();
    } catch (e) {
      const err = e instanceof ConnectionError ? e : new ConnectionError(describeError(e), "showLog");
      this.fail(err, false);
      throw err;
    }
  }

  /** Stop for good (no reconnect). */
  stop(): void {
    this.cancelReconnect();
    this.teardown();
    this.setState("stopped");
  }

  async request<R = unknown>(method: string, params?: unknown, token?: CancellationToken): Promise<R> {
    const conn = this.conn;
    if (!conn || this._state !== "connected") {
      throw new ConnectionError(
        this.lastError ? `Not connected to gastown-server: ${this.lastError.message}` : "Not connected to gastown-server.",
        "retry",
      );
    }
    try {
      return (await conn.sendRequest(method, params ?? {}, token ?? CancellationToken.None)) as R;
    } catch (e) {
      if (e instanceof ResponseError) {
        // The server answered: the connection is fine, so no "Retry Connection" for a refusal.
        throw new ConnectionError(e.message, "showLog", e.code, e.data);
      }
      throw new ConnectionError(describeError(e), "retry");
    }
  }

  private resolveServerPath(): string | undefined {
    const p = this.options.serverPath || "gastown-server";
    if (p.includes("/") || p.includes(path.sep)) {
      return fs.existsSync(p) ? p : undefined;
    }
    const PATH = (this.options.env ?? process.env).PATH ?? "";
    for (const dir of PATH.split(path.delimiter)) {
      if (!dir) continue;
      const full = path.join(dir, p);
      try {
        fs.accessSync(full, fs.constants.X_OK);
        return full;
      } catch {
        // not here
      }
    }
    return undefined;
  }

  private connectOnce(): Promise<InitializeResult> {
    const generation = ++this.generation;
    const opts = this.options;
    this.setState("connecting");
    this.stderrTail = [];

    const exe = this.resolveServerPath();
    if (!exe) {
      return Promise.reject(
        new ConnectionError(
          `gastown-server was not found ("${opts.serverPath || "gastown-server"}"). Install gastown (pip install gastown) or set "gastown.serverPath" to the executable.`,
          "openSettings",
        ),
      );
    }
    if (opts.town && !fs.existsSync(path.join(opts.town, ".gastown", "ledger.db"))) {
      return Promise.reject(
        new ConnectionError(
          `No Gas Town at ${opts.town} (no .gastown/ledger.db). Create one with "gt install ${opts.town}" or set "gastown.town" to an existing town.`,
          "openSettings",
        ),
      );
    }

    const args = ["--stdio", ...(opts.town ? ["--town", opts.town] : []), ...(opts.serverArgs ?? [])];
    const env = { ...(opts.env ?? process.env), ...(opts.town ? { GT_TOWN: opts.town } : {}) };
    this.log(`[life] starting ${exe} ${args.join(" ")}`);
    const proc = spawn(exe, args, { cwd: opts.cwd ?? opts.town ?? process.cwd(), env, stdio: ["pipe", "pipe", "pipe"] });
    this.proc = proc;

    proc.stderr!.setEncoding("utf8");
    proc.stderr!.on("data", (chunk: string) => {
      for (const line of chunk.split("\n")) {
        if (!line.trim()) continue;
        this.log(`[stderr] ${line}`);
        this.stderrTail.push(line);
        if (this.stderrTail.length > 20) this.stderrTail.shift();
      }
    });

    const conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    this.conn = conn;
    for (const method of this.notificationHandlers.keys()) {
      conn.onNotification(method, (p: unknown) => this.dispatch(method, p));
    }
    conn.onError(([err]) => this.log(`[error] transport: ${err.message}`));
    if (opts.trace !== false) {
      const tracer: Tracer = { log: (m: string, data?: string) => this.log(`[rpc] ${m}${data ? " " + data.replace(/\s+/g, " ").slice(0, 2000) : ""}`) };
      void conn.trace(Trace.Verbose, tracer);
    }
    conn.listen();

    return new Promise<InitializeResult>((resolve, reject) => {
      let settled = false;
      const exited = (why: string) => {
        if (generation !== this.generation) return; // an old process we replaced
        const tail = this.stderrTail.filter((l) => !l.startsWith("Traceback") && !l.startsWith("  ")).slice(-1)[0];
        const detail = tail ? ` ${tail.replace(/^gastown-server: (error: )?/, "")}` : "";
        if (!settled) {
          settled = true;
          this.teardown();
          reject(new ConnectionError(`gastown-server ${why}.${detail}`, /town/i.test(detail) ? "openSettings" : "showLog"));
          return;
        }
        this.teardown();
        this.fail(new ConnectionError(`gastown-server ${why}.${detail} Reconnecting...`, "showLog"), true);
      };
      proc.on("error", (e) => exited(`could not start (${e.message})`));
      proc.on("exit", (code, signal) => exited(signal ? `was killed by ${signal}` : `exited with code ${code}`));

      conn
        .sendRequest(Methods.initialize, { clientInfo: { name: opts.clientName ?? "gastown-vscode", version: "0.1.0" }, processId: process.pid })
        .then((r) => {
          if (settled || generation !== this.generation) return;
          settled = true;
          const init = toInitializeResult(r);
          this.server = init;
          this.attempts = 0;
          this.lastError = undefined;
          this.log(`[life] connected to ${init.serverInfo.name} ${init.serverInfo.version}, town ${init.town.name || init.town.root}`);
          this.setState("connected");
          this._onDidConnect.fire(init);
          resolve(init);
        })
        .catch((e: unknown) => {
          if (settled || generation !== this.generation) return;
          settled = true;
          this.teardown();
          reject(new ConnectionError(`gastown-server refused to start a session: ${describeError(e)}`, "showLog"));
        });
    });
  }

  private fail(err: ConnectionError, reconnect: boolean): void {
    this.lastError = err;
    this.log(`[life] ${err.message}`);
    this.setState("disconnected");
    this._onError.fire(err);
    if (reconnect) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const backoff = this.options.backoff ?? DEFAULT_BACKOFF;
    const max = this.options.maxAttempts ?? 20;
    if (backoff.length === 0 || this.attempts >= max) return;
    const delay = backoff[Math.min(this.attempts, backoff.length - 1)]!;
    this.attempts++;
    this.log(`[life] reconnecting in ${delay} ms (attempt ${this.attempts})`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connectOnce().catch((e: unknown) => {
        const err = e instanceof ConnectionError ? e : new ConnectionError(describeError(e), "showLog");
        this.fail(err, true);
      });
    }, delay);
  }

  private cancelReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private teardown(): void {
    const conn = this.conn;
    const proc = this.proc;
    this.conn = undefined;
    this.proc = undefined;
    this.generation++;
    if (conn) {
      try {
        conn.dispose();
      } catch {
        // already closed
      }
    }
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.stdin?.end();
      proc.kill("SIGTERM");
    }
  }

  dispose(): void {
    this.stop();
    this._onDidChangeState.dispose();
    this._onDidConnect.dispose();
    this._onError.dispose();
  }
}
