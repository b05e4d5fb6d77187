#!/usr/bin/env node
// Bundles the proxy runtime into one dependency-free ESM file for the sidecar ConfigMap:
//   node scripts/bundle-proxy.mjs [outfile]      (default dist/proxy-bundle.mjs)
// The result runs as `node proxy-bundle.mjs --config FILE` on a stock node:20 image.
import { build } from 'esbuild';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = resolve(process.argv[2] ?? resolve(root, 'dist/proxy-bundle.mjs'));
const LIMIT = 1024 * 1024; // must fit comfortably in a ConfigMap (1 MiB total)

await build({
  entryPoints: [resolve(root, 'src/proxy/standalone.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  legalComments: 'none',
  // Only node: built-ins are allowed; anything else would be bundled (and should not exist).
  packages: 'bundle',
  banner: { js: '// sidecarctl bundled proxy' },
  logLevel: 'warning',
});

const size = statSync(outfile).size;
console.log(`${outfile}: ${(size / 1024).toFixed(1)} KiB`);
if (size > LIMIT / 2) {
  console.error(`bundle is ${size} bytes, over the ${LIMIT / 2} byte budget`);
  process.exit(1);
}
