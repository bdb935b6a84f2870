// Bundles the extension (dist/extension.js) and the vscode-free client layer
// (dist/client.js, which the Node unit tests import) with esbuild.
import * as esbuild from "esbuild";

const production = process.argv.includes("--production");
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  sourcemap: !production,
  minify: production,
  logLevel: "warning",
};

await Promise.all([
  esbuild.build({ ...common, entryPoints: ["src/extension/extension.ts"], outfile: "dist/extension.js", external: ["vscode"] }),
  esbuild.build({ ...common, entryPoints: ["src/client/index.ts"], outfile: "dist/client.js" }),
]);
