/**
 * A progress bar on stderr for runs over many files. Only for a person watching a terminal: never when
 * stderr is a pipe or a file (logs and CI would fill with carriage returns), never with `--report
 * json` (stderr is then data for a program), and not for a few files, where it would only flicker.
 */

export interface ProgressContext {
  /** stderr is a terminal. */
  isTTY: boolean;
  files: number;
  report: string;
}

/** Fewer files than this finish before a bar would be worth reading. */
export const PROGRESS_MIN_FILES = 10;

export function shouldShowProgress(ctx: ProgressContext): boolean {
  return ctx.isTTY && ctx.report !== 'json' && ctx.files >= PROGRESS_MIN_FILES;
}

/** `label [#######-------------]  35%` in `width` columns at most. */
export function formatBar(done: number, total: number, label: string, width: number): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const barWidth = Math.max(10, Math.min(40, width - label.length - percent.length - 4));
  const filled = Math.round(fraction * barWidth);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${percent}`;
}

export interface Progress {
  update(done: number, total: number): void;
  /** Erase the bar, so what follows starts on a clean line. */
  finish(): void;
}

interface BarStream {
  write(text: string): boolean;
  columns?: number;
}

const NO_PROGRESS: Progress = { update() {}, finish() {} };
/** Repaint at most this often: a terminal write per file would cost more than the work on small files. */
const REPAINT_MS = 80;

/** A bar on `stream` when `show`, else one that does nothing. */
export function createProgress(stream: BarStream, show: boolean, label: string, now: () => number = Date.now): Progress {
  if (!show) return NO_PROGRESS;
  let last = -Infinity;
  let shown = false;
  return {
    update(done, total) {
      const time = now();
      if (time - last < REPAINT_MS && done < total) return;
      last = time;
      shown = true;
      stream.write(`\r${formatBar(done, total, label, (stream.columns || 80) - 1)}`);
    },
    finish() {
      // \r and "erase to end of line": the next output starts in column 0 of a clean line.
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
