/**
 * Notices when files change on disk, including Kubernetes Secret/ConfigMap updates.
 *
 * Kubernetes mounts such volumes as `file -> ..data/file` with `..data -> ..2024_01_01_xx`, and
 * updates them by writing a new timestamped directory and renaming a new `..data` symlink over the
 * old one. Watching the file itself would follow the old inode forever, so the *directory* is
 * watched and any event in it triggers a (debounced) check; callers then compare contents, so
 * spurious events cost one read. A slow stat poll backs fs.watch up on filesystems where inotify
 * events do not arrive (some network and overlay filesystems).
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface WatchOptions {
  /** Wait this long after the last event before calling back (renames come in bursts). */
  debounceMs?: number;
  /** Stat poll interval; 0 disables polling. */
  pollMs?: number;
}

export interface Watcher {
  close(): void;
}

export function watchFiles(paths: string[], onChange: () => void, opts: WatchOptions = {}): Watcher {
  const debounceMs = opts.debounceMs ?? 100;
  const pollMs = opts.pollMs ?? 5000;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const trigger = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      if (!closed) onChange();
    }, debounceMs);
    timer.unref();
  };

  const watchers: FSWatcher[] = [];
  for (const dir of new Set(paths.map((p) => dirname(p)))) {
    try {
      const w = watch(dir, { persistent: false }, trigger);
      w.on('error', () => {}); // e.g. the directory was removed; the poll still runs
      watchers.push(w);
    } catch {
      // Directory missing or inotify limits reached: rely on polling.
    }
  }

  let poll: NodeJS.Timeout | null = null;
  if (pollMs > 0) {
    let last = '';
    const fingerprint = async () => {
      const parts = await Promise.all(
        paths.map((p) =>
          stat(p).then(
            (s) => `${s.ino}:${s.mtimeMs}:${s.size}`,
            () => 'missing',
          ),
        ),
      );
      return parts.join('|');
    };
    void fingerprint().then((f) => (last = f));
    poll = setInterval(() => {
      void fingerprint().then((f) => {
        if (f !== last) {
          last = f;
          trigger();
        }
      });
    }, pollMs);
    poll.unref();
  }

  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      for (const w of watchers) w.close();
    },
  };
}
