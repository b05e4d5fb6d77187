/**
 * Entry point of the single-file bundle (dist/proxy-bundle.mjs):
 *
 *   node proxy-bundle.mjs --config /etc/sidecarctl/proxy.json
 *
 * Exit codes: 0 after a graceful SIGTERM/SIGINT drain, 1 when the proxy cannot start (invalid
 * config, port in use, unreadable certificates), 2 for bad arguments.
 */
import { runProxy } from './main.js';

function configPath(argv: string[]): string | null {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config' || arg === '-c') return argv[i + 1] ?? null;
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return process.env.SIDECARCTL_PROXY_CONFIG ?? null;
}

const path = configPath(process.argv.slice(2));
if (!path) {
  process.stderr.write('usage: node proxy-bundle.mjs --config FILE\n');
  process.exit(2);
}

runProxy(path, { handleSignals: true }).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'proxy failed to start', error: message })}\n`);
  process.exit(1);
});
