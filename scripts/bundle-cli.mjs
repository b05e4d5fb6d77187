#!/usr/bin/env node
// Bundles the CLI (our code, yaml, handlebars, commander, chalk) into a few ESM files under
// dist/cli-bundle/, so that a cold start reads a handful of files instead of a few hundred modules:
// `sidecarctl inject` of one small file starts about a third faster (npm run bench).
// Each command stays a chunk of its own, imported only when run; heavy or file-reading packages
// (Envoy protos, Kubernetes schemas, prompts) stay external and load from node_modules. X.509 is
// bundled: its reflect shim must run before it, which import order guarantees only inside the bundle.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = resolve(root, 'dist/cli-bundle');
// Chunk names carry content hashes: clear out the last build's.
rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: { main: resolve(root, 'dist/cli/main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: [
    '@grpc/*', 'protobufjs', 'kubernetes-models', '@kubernetes-models/*', 'ajv', 'ajv-formats',
    '@inquirer/*', 'execa',
  ],
  // CommonJS packages inside an ESM bundle still call require() for node built-ins.
  banner: { js: "import { createRequire as __sidecarctlRequire } from 'node:module'; const require = __sidecarctlRequire(import.meta.url);" },
  logLevel: 'warning',
});
