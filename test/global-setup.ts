/**
 * The CLI tests run the real binary, bin/sidecarctl.js, which runs dist/cli-bundle: build all of
 * what it runs (compiled sources, precompiled templates, the proxy bundle and the CLI bundle)
 * once, fresh, so that no test can pass against an old build.
 */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
}
