/**
 * Config reloads: watches the config file (its directory, so that ConfigMap symlink swaps are
 * seen), and on each change reads, validates and hands the new config over to be applied.
 *
 * Reloads run one at a time. An unchanged file is ignored; an invalid one is rejected with a JSON
 * log line on stderr and the running config keeps serving.
 */
import { readFile } from 'node:fs/promises';
import { parseConfig, type ResolvedProxyConfig } from './config.js';
import { describeError, type EventLog } from './log.js';
import type { Metrics } from './metrics.js';
import { watchFiles, type WatchOptions, type Watcher } from './watch.js';

export type ReloadResult = 'applied' | 'unchanged' | 'rejected';

export class ConfigReloader {
  private watcher: Watcher | null = null;
  private running: Promise<ReloadResult> | null = null;
  private pending = false;

  constructor(
    private readonly path: string,
    private lastText: string,
    private readonly apply: (config: ResolvedProxyConfig) => Promise<void>,
    private readonly log: EventLog,
    private readonly metrics: Metrics,
  ) {}

  watch(opts?: WatchOptions): void {
    this.watcher = watchFiles([this.path], () => void this.reload(), opts);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  /** Reloads now; a call during a reload schedules one more pass after it. */
  async reload(): Promise<ReloadResult> {
    if (this.running) {
      this.pending = true;
      return this.running;
    }
    let result: ReloadResult;
    do {
      this.pending = false;
      this.running = this.reloadOnce();
      try {
        result = await this.running;
      } finally {
        this.running = null;
      }
    } while (this.pending);
    return result;
  }

  private async reloadOnce(): Promise<ReloadResult> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      // Mid-swap or deleted: keep serving; the next event retries.
      this.log('warn', 'config file unreadable, keeping the current config', { path: this.path, error: describeError(err) });
      return 'rejected';
    }
    if (text === this.lastText) return 'unchanged';
    try {
      const config = parseConfig(text, this.path);
      await this.apply(config);
      this.lastText = text;
      this.metrics.reloads.ok++;
      this.log('info', 'config reloaded', { path: this.path });
      return 'applied';
    } catch (err) {
      this.metrics.reloads.rejected++;
      this.log('error', 'config reload rejected, keeping the current config', {
        path: this.path,
        error: describeError(err),
        issues: (err as { issues?: unknown }).issues,
      });
      return 'rejected';
    }
  }
}
