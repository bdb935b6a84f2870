// Timings measured inside the extension host: written to the output channel
// and, when GASTOWN_VSCODE_METRICS names a file, appended there as JSON lines
// (the end-to-end test reads them for benchmarks/ and docs/benchmarks.md).

import * as fs from "node:fs";

export class Metrics {
  private readonly file = process.env.GASTOWN_VSCODE_METRICS;

  constructor(private readonly log: (line: string) => void) {}

  record(name: string, ms: number): void {
    this.log(`[metric] ${name} ${ms.toFixed(1)} ms`);
    if (!this.file) return;
    try {
      fs.appendFileSync(this.file, JSON.stringify({ name, ms: Math.round(ms * 100) / 100, at: new Date().toISOString() }) + "\n");
    } catch {
      // metrics are best effort; the output channel has them too
    }
  }
}
