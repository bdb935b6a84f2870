// Wires the operator's views and commands into the extension: one OpsStore
// over the shared connection, four tree views, their commands.

import * as vscode from "vscode";
import { OpsStore, type GastownConnection, type TownStore } from "../client";
import type { Metrics } from "./metrics";
import { registerOpsCommands } from "./opsCommands";
import { DoctorTree, MergeQueueTree, TownStatusTree, WorkTree } from "./opsViews";

export function activateOps(conn: GastownConnection, store: TownStore, log: (line: string) => void, metrics: Metrics): vscode.Disposable[] {
  const ops = new OpsStore(conn, log);
  const connected = () => conn.state === "connected";
  const town = new TownStatusTree(ops, connected, metrics, conn);
  const work = new WorkTree(ops, connected, metrics);
  const mq = new MergeQueueTree(ops, connected, metrics);
  const doctor = new DoctorTree(ops, connected, metrics);
  const trees = [town, work, mq, doctor];
  const views = [
    vscode.window.createTreeView("gastown.town", { treeDataProvider: town, showCollapseAll: true }),
    vscode.window.createTreeView("gastown.work", { treeDataProvider: work, showCollapseAll: true }),
    vscode.window.createTreeView("gastown.mq", { treeDataProvider: mq, showCollapseAll: true }),
    vscode.window.createTreeView("gastown.doctor", { treeDataProvider: doctor }),
  ];
  const [townView, , mqView] = views;
  const badge = () => {
    const failed = ops.mq.filter((m) => m.status === "blocked").length;
    mqView!.badge = failed ? { value: failed, tooltip: `${failed} merge request${failed === 1 ? "" : "s"} failed` } : undefined;
    const st = ops.status;
    if (st) townView!.description = st.ledgerOnly ? "ledger only" : `${st.agents.filter((a) => a.running).length}/${st.agents.length} running`;
  };
  return [
    ops,
    ...trees,
    ...views,
    ops.onDidChange(badge),
    conn.onDidChangeState(() => {
      for (const t of trees) t.refresh();
    }),
    ...registerOpsCommands({ conn, store, ops, log }),
  ];
}
