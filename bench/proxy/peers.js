// Plumbing shared by the proxy benchmarks (bench/proxy.js, bench/proxy/differential.js): free
// ports, waiting for a listener, and the nginx and HAProxy configs both run the peers with.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

export function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim() || null;
}

export async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** Resolves once `port` accepts connections; throws if `child` (with a describe() method) exits first. */
export async function waitForPort(port, child) {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`exited early: ${child.describe()}`);
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} never opened: ${child.describe()}`);
}

/** A one-worker, foreground nginx config in `prefix` with `http` inside its http block; returns its path. */
export function nginxConf(prefix, http, { errorLog = 'warn', connections = 4096 } = {}) {
  execFileSync('mkdir', ['-p', prefix]);
  const file = join(prefix, 'nginx.conf');
  writeFileSync(
    file,
    `worker_processes 1;
daemon off;
master_process off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log ${errorLog};
events { worker_connections ${connections}; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  keepalive_requests 1000000;
  ${http}
}
`,
  );
  return file;
}

/** An HAProxy config (one thread, HTTP keep-alive both sides) from `port` to `backendPort`; returns its path. */
export function haproxyConf(file, port, backendPort, { maxconn = 4000, serverMaxconn = 1000 } = {}) {
  writeFileSync(
    file,
    `global
  nbthread 1
  maxconn ${maxconn}
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend front
  bind 127.0.0.1:${port}
  default_backend backend
backend backend
  server s1 127.0.0.1:${backendPort} maxconn ${serverMaxconn}
`,
  );
  return file;
}

/**
 * Spawns a peer whose stderr is kept for error messages (`child.describe()`) and which is tracked
 * in `children` (for cleanup) until it exits.
 */
export function spawnTracked(children, name, cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', opts.stdout ?? 'ignore', 'pipe'], ...opts });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.on('exit', () => children.delete(child));
  children.add(child);
  child.describe = () => `${name}: ${stderr.trim()}`;
  return child;
}

/** Peak VmRSS (MB) of a process, sampled every 100 ms until the returned function is called. */
export function rssSampler(pid) {
  let peak = 0;
  const sample = () => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      // process gone
    }
  };
  sample();
  const t = setInterval(sample, 100);
  return () => (clearInterval(t), sample(), peak / 1024);
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
