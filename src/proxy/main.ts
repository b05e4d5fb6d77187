/**
 * The bundled proxy's entry point: `runProxy(configPath)` starts the admin and traffic listeners,
 * watches the config file, and returns a handle to stop it gracefully.
 *
 * Used by the CLI's `proxy` command and by standalone.ts (the single-file bundle).
 */
import { AccessLog } from './accesslog.js';
import { TcpSink } from './tcp-sink.js';
import { AdminServer } from './admin.js';
import { loadConfigFile, type ResolvedListenerConfig, type ResolvedProxyConfig } from './config.js';
import { Listener, type ListenerContext, type PreparedUpdate } from './listener.js';
import { createEventLog, describeError, type EventLog } from './log.js';
import { Metrics } from './metrics.js';
import { ConfigReloader, type ReloadResult } from './reload.js';
import type { WatchOptions } from './watch.js';

export type { ProxyConfig, ResolvedProxyConfig } from './config.js';
export type { ReloadResult } from './reload.js';

export interface ProxyOptions {
  /** Access log destination (default process.stdout). */
  stdout?: NodeJS.WritableStream;
  /** Event log destination (default process.stderr). */
  stderr?: NodeJS.WritableStream;
  /**
   * Install SIGTERM/SIGINT (drain, then exit 0) and SIGHUP (reload) handlers. Off by default so
   * that embedding the proxy (tests) does not take over the process; the CLI turns it on.
   */
  handleSignals?: boolean;
  /** Reload the config and certificates when their files change (default true). */
  watch?: boolean;
  /** Tuning for the file watchers (tests use short intervals). */
  watchOptions?: WatchOptions;
}

export interface ProxyHandle {
  /** Bound ports: useful when the config asks for port 0. */
  ports(): { admin: number; listeners: Record<string, number> };
  /** The config currently applied. */
  config(): ResolvedProxyConfig;
  /** Re-reads the config file now (as a file change or SIGHUP would). */
  reload(): Promise<ReloadResult>;
  /** Graceful stop: /ready turns 503, listeners drain within drainTimeoutMs, then all closes. */
  close(): Promise<void>;
}

export async function runProxy(configPath: string, opts: ProxyOptions = {}): Promise<ProxyHandle> {
  const log = createEventLog(opts.stderr ?? process.stderr);
  const { text, config } = await loadConfigFile(configPath);
  const runtime = new ProxyRuntime(config, log, new AccessLog(opts.stdout ?? process.stdout), opts.watchOptions);
  await runtime.start();

  const reloader = new ConfigReloader(configPath, text, (next) => runtime.apply(next), log, runtime.metrics);
  if (opts.watch !== false) reloader.watch(opts.watchOptions);

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      reloader.close();
      await runtime.close();
    })();
    return closing;
  };

  if (opts.handleSignals) installSignalHandlers(close, () => void reloader.reload(), log);

  return {
    ports: () => runtime.ports(),
    config: () => runtime.config,
    reload: () => reloader.reload(),
    close,
  };
}

function installSignalHandlers(close: () => Promise<void>, reload: () => void, log: EventLog): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log('warn', 'second signal, exiting without waiting', { signal });
      process.exit(1);
    }
    stopping = true;
    log('info', 'draining', { signal });
    close().then(
      () => process.exit(0),
      (err) => {
        log('error', 'shutdown failed', { error: describeError(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', reload);
}

/** Owns the listeners, the admin server and the shared logs and metrics. */
class ProxyRuntime {
  readonly metrics = new Metrics();
  private readonly listeners = new Map<string, Listener>();
  private admin: AdminServer;
  private ready = false;
  private draining = false;
  private readonly ctx: ListenerContext;
  private readonly logSink: TcpSink | null = null;

  constructor(
    public config: ResolvedProxyConfig,
    private readonly log: EventLog,
    private readonly accessLog: AccessLog,
    watch: WatchOptions | undefined,
  ) {
    accessLog.enabled = config.accessLog.enabled;
    if (config.accessLog.tcp) {
      this.logSink = new TcpSink(config.accessLog.tcp);
      accessLog.copy = this.logSink;
    }
    this.metrics.accessLogDropped = () => accessLog.dropped;
    this.ctx = { log, metrics: this.metrics, accessLog, watch };
    this.admin = this.createAdmin();
  }

  async start(): Promise<void> {
    const { admin } = this.config;
    await this.admin.listen(admin.address, admin.port);
    try {
      for (const lc of this.config.listeners) this.listeners.set(lc.name, await this.startListener(lc));
    } catch (err) {
      await this.close();
      throw err;
    }
    this.ready = true;
    this.log('info', 'ready', { admin: this.admin.port });
  }

  ports(): { admin: number; listeners: Record<string, number> } {
    const listeners: Record<string, number> = {};
    for (const [name, l] of this.listeners) listeners[name] = l.port;
    return { admin: this.admin.port, listeners };
  }

  /**
   * Applies a reloaded config. Everything that can fail (binding new ports, loading certificates)
   * happens first; if any of it fails nothing changes and the error rejects the reload.
   * Listeners whose address or port changed are replaced: the new one is bound first, the old
   * one drains.
   */
  async apply(next: ResolvedProxyConfig): Promise<void> {
    if (this.draining) throw new Error('shutting down');
    const updates: PreparedUpdate[] = [];
    const started: Listener[] = [];
    let admin: AdminServer | null = null;
    try {
      for (const lc of next.listeners) {
        const current = this.listeners.get(lc.name);
        if (current && current.sameBinding(lc)) updates.push(await current.prepareUpdate(lc));
        else started.push(await this.startListener(lc));
      }
      if (next.admin.port !== this.config.admin.port || next.admin.address !== this.config.admin.address) {
        admin = this.createAdmin();
        await admin.listen(next.admin.address, next.admin.port);
      }
    } catch (err) {
      for (const u of updates) u.abort();
      await Promise.all(started.map((l) => l.drain(0)));
      throw err;
    }

    for (const u of updates) u.commit();
    const replaced: Listener[] = [];
    for (const l of started) {
      const old = this.listeners.get(l.name);
      if (old) replaced.push(old);
      this.listeners.set(l.name, l);
    }
    const names = new Set(next.listeners.map((l) => l.name));
    for (const [name, l] of this.listeners) {
      if (!names.has(name)) {
        replaced.push(l);
        this.listeners.delete(name);
      }
    }
    if (admin) {
      void this.admin.close();
      this.admin = admin;
    }
    this.accessLog.enabled = next.accessLog.enabled;
    this.config = next;
    const deadline = performance.now() + next.drainTimeoutMs;
    for (const l of replaced) void l.drain(deadline);
  }

  async close(): Promise<void> {
    this.draining = true;
    const deadline = performance.now() + this.config.drainTimeoutMs;
    await Promise.all([...this.listeners.values()].map((l) => l.drain(deadline)));
    await this.accessLog.flush();
    await this.logSink?.close();
    await this.admin.close();
    this.log('info', 'stopped');
  }

  private async startListener(lc: ResolvedListenerConfig): Promise<Listener> {
    const listener = await Listener.start(lc, this.ctx);
    this.log('info', 'listening', {
      listener: lc.name,
      address: lc.address,
      port: listener.port,
      target: `${lc.target.host}:${lc.target.port}`,
      mtls: lc.mtls?.mode ?? 'off',
      tls: lc.tls !== null,
    });
    return listener;
  }

  private createAdmin(): AdminServer {
    return new AdminServer({
      ready: () => this.ready && !this.draining,
      metrics: () => this.metrics.render(),
    });
  }
}
