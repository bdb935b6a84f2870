// Benchmark fixture: the cheapest possible extension tree view, ten static
// items with a label only (no icon, tooltip, command or id).  Its first
// render is the workbench's own floor for any extension tree view; the Gas
// Town views are measured against it in the same run
// (benchmarks/vscode_first_render.mjs).
const vscode = require("vscode");

exports.activate = (context) => {
  for (const [id, name] of [["baseline.container", "Static"], ["baseline.collapsed", "Collapsed"]]) {
    const items = Array.from({ length: 10 }, (_, i) => `${name} item ${i}`);
    const provider = { getChildren: (element) => (element ? [] : items), getTreeItem: (label) => new vscode.TreeItem(label) };
    context.subscriptions.push(vscode.window.createTreeView(id, { treeDataProvider: provider }));
  }
};

exports.deactivate = () => undefined;
