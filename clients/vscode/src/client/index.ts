// The client layer: everything that talks to gastown-server, free of `vscode`.
export * from "./protocol";
export * from "./connection";
export * from "./store";
export * from "./transcript";
export * from "./feed";
export * from "./ops";
export * from "./beads";
