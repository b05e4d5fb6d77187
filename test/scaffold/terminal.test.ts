/**
 * End to end in a real terminal: sidecarctl scaffold runs inside tmux, answers are typed as keys, and
 * the files it writes are checked, including against `sidecarctl inject` with the written profile.
 */
import { execa, execaSync } from 'execa';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../helpers/corpus.js';

const BIN = join(ROOT, 'bin/sidecarctl.js');
const TMUX = '/usr/bin/tmux';
const sockets: string[] = [];

afterEach(() => {
  for (const socket of sockets.splice(0)) execaSync(TMUX, ['-L', socket, 'kill-server'], { reject: false });
});

/** Start `sidecarctl ARGS` in a detached tmux session; its exit code lands in DIR/.exit. */
function start(dir: string, args: string): (...keys: string[]) => Promise<void> {
  const socket = `sidecarctl-test-${process.pid}-${sockets.length}`;
  sockets.push(socket);
  const command = `node ${BIN} ${args}; echo $? > ${join(dir, '.exit')}; sleep 60`;
  execaSync(TMUX, ['-L', socket, 'new-session', '-d', '-x', '160', '-y', '50', '-c', dir, command]);
  return async (...keys) => {
    await execa(TMUX, ['-L', socket, 'send-keys', ...keys]);
  };
}

function pane(): string {
  const socket = sockets[sockets.length - 1]!;
  return execaSync(TMUX, ['-L', socket, 'capture-pane', '-p', '-S', '-200'], { reject: false }).stdout;
}

async function waitFor(check: () => boolean, what: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting; screen:\n${what()}`);
}

/** Wait until the last line showing `text` is on screen, then type the keys. */
async function at(dir: string, text: string, send: (...keys: string[]) => Promise<void>, ...keys: string[]): Promise<void> {
  await waitFor(() => pane().includes(text), () => pane());
  await send(...keys);
}

function exitCode(dir: string): number | undefined {
  const file = join(dir, '.exit');
  return existsSync(file) && readFileSync(file, 'utf8').trim() !== '' ? Number(readFileSync(file, 'utf8').trim()) : undefined;
}

describe.skipIf(!existsSync(TMUX))('sidecarctl scaffold in a real terminal (tmux)', () => {
  it('typed answers: retries, per-try timeout, rate limit, an upstream; files written as inject would', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidecarctl-tmux-'));
    copyFileSync(join(ROOT, 'fixtures/web.yaml'), join(dir, 'web.yaml'));
    const send = start(dir, 'scaffold');
    await at(dir, 'Manifests to read', send, '-l', 'web.yaml');
    await send('Enter');
    await at(dir, 'Proxy sidecar', send, 'Enter');
    await at(dir, 'Log shipper', send, 'Enter');
    await at(dir, 'Inbound mTLS', send, 'Enter');
    await at(dir, 'Retry attempts', send, '-l', '2');
    await send('Enter');
    await at(dir, 'Timeout of each try', send, '-l', '300ms');
    await send('Enter');
    await at(dir, 'Inbound rate limit', send, '-l', '50');
    await send('Enter');
    await at(dir, 'Burst', send, 'Enter');
    await at(dir, 'Upstreams', send, '-l', 'orders=orders.shop:8080@18080');
    await send('Enter');
    await at(dir, 'Write the injected manifests to', send, 'Enter');
    await at(dir, 'Write 2 files?', send, 'Enter');
    await waitFor(() => exitCode(dir) !== undefined, () => pane());

    expect(exitCode(dir)).toBe(0);
    expect(pane()).toContain('Found 1 workload');
    expect(readdirSync(dir).sort()).toEqual(['.exit', '.sidecarctl.yaml', 'web.injected.yaml', 'web.yaml']);
    expect(parse(readFileSync(join(dir, '.sidecarctl.yaml'), 'utf8'))).toMatchObject({ retries: 2, 'per-try-timeout': '300ms', 'rate-limit': 50, upstream: ['orders=orders.shop:8080@18080'] });
    const injected = await execa('node', [BIN, 'inject', 'web.yaml'], { cwd: dir, stripFinalNewline: false });
    expect(injected.stdout).toBe(readFileSync(join(dir, 'web.injected.yaml'), 'utf8'));
    expect(injected.stdout).toContain('orders.shop');
  });

  it('Ctrl-C at a question: exit 130, nothing written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidecarctl-tmux-'));
    copyFileSync(join(ROOT, 'fixtures/web.yaml'), join(dir, 'web.yaml'));
    const send = start(dir, 'scaffold web.yaml');
    await at(dir, 'Proxy sidecar', send, 'Enter');
    await at(dir, 'Log shipper', send, 'C-c');
    await waitFor(() => exitCode(dir) !== undefined, () => pane());
    expect(exitCode(dir)).toBe(130);
    expect(pane()).toContain('scaffold cancelled; nothing written');
    expect(readdirSync(dir).sort()).toEqual(['.exit', 'web.yaml']);
  });
});
