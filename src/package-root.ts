/**
 * Where the installed package lives (package.json, templates/, schemas/, dist/proxy-bundle.mjs),
 * found from this module's own location by walking up to sidecarctl's package.json. Works the same
 * from src/ (tests), from dist/ (tsc output) and from the bundled CLI, whose files sit at other depths.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): { root: string; version: string } {
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sidecarctl') return { root: dir, version: pkg.version ?? '0.0.0' };
    } catch {
      // no (readable) package.json here: keep walking up
    }
    if (dirname(dir) === dir) throw new Error(`sidecarctl's package.json not found above ${start}`);
  }
}

const found = findRoot(dirname(fileURLToPath(import.meta.url)));
export const PACKAGE_ROOT = found.root;
export const PACKAGE_VERSION = found.version;
