// Shared fixtures for the client-layer tests: a real town (ledger made with
// the real `bd`), the real `gastown-server`, and the built client layer.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const extRoot = path.resolve(here, "../..");
const require = createRequire(import.meta.url);
/** The client layer as bundled by esbuild (npm run build). */
export const client = require(path.join(extRoot, "dist", "client.js"));

function onPath(name) {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/**
 * The gastown-server executable: $GASTOWN_SERVER, the console script on
 * PATH, or (an editable install made before the script existed) a wrapper
 * running the package's entry point with $GASTOWN_PYTHON / python3.
 */
export function serverPath(tmp) {
  if (process.env.GASTOWN_SERVER) return process.env.GASTOWN_SERVER;
  const found = onPath("gastown-server");
  if (found) return found;
  const py = process.env.GASTOWN_PYTHON ?? onPath("python3") ?? "python3";
  const wrapper = path.join(tmp, "gastown-server");
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec "${py}" -c 'import sys; from gastown_server.rpc.server import main; sys.exit(main())' "$@"\n`, { mode: 0o755 });
  return wrapper;
}

export function tmpdir(prefix = "gastown-vscode-") {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function bd(town, ...args) {
  return execFileSync("bd", args, { cwd: town, env: { ...process.env, GT_TOWN: town, BD_ACTOR: "overseer" }, encoding: "utf8" });
}

export function bdJson(town, ...args) {
  return JSON.parse(bd(town, ...args, "--json"));
}

/** A ledger-only town with two tracked beads in a convoy and one mail to the overseer. */
export function makeTown(tmp) {
  const town = path.join(tmp, "town");
  fs.mkdirSync(town);
  bd(town, "init", "--prefix", "gt");
  const a = bdJson(town, "create", "Wire the flux capacitor", "-t", "task");
  const b = bdJson(town, "create", "Paint the delorean", "-t", "task");
  const convoy = bdJson(town, "create", "Time machine", "-t", "convoy", "--deps", `tracks:${a.id},tracks:${b.id}`);
  return { town, beads: [a.id, b.id], convoy: convoy.id };
}

/** Resolve when `pred()` is true, checked after each `event` firing; reject after `ms`. */
export function waitFor(event, pred, ms = 5000, what = "condition") {
  return new Promise((resolve, reject) => {
    if (pred()) return resolve();
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const sub = event(() => {
      if (pred()) {
        clearTimeout(timer);
        sub.dispose();
        resolve();
      }
    });
  });
}
