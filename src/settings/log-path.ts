/**
 * The log glob (`--log-path`) and the directory the shared log volume is mounted at. Checked when the
 * setting is read, so a bad value in a profile or an annotation is reported at its line.
 */
import { posix } from 'node:path';

/** Directories an emptyDir must never hide in the app container. */
const SYSTEM_DIRS = ['/', '/bin', '/boot', '/dev', '/etc', '/lib', '/lib64', '/proc', '/root', '/run', '/sbin', '/sys', '/tmp', '/usr', '/var', '/var/log', '/var/lib', '/var/run', '/home'];

/** Characters a log glob may use: no quoting, no `${`/`#{` (the agents would expand those). */
const SAFE_GLOB = /^\/[A-Za-z0-9_.\-/*?[\]{},]+$/;

/**
 * The directory the shared volume is mounted at: the glob's longest directory prefix without
 * wildcards (`/var/log/app/*.log` -> `/var/log/app`).
 */
export function logDirectory(logPath: string): string {
  if (!SAFE_GLOB.test(logPath) || logPath.includes('${') || logPath.includes('#{')) {
    throw new Error(`"${logPath}": use only letters, digits, / . _ - and the glob characters * ? [ ] { } ,`);
  }
  const parts = logPath.split('/');
  const firstWild = parts.findIndex((p) => /[*?[\]{}]/.test(p));
  // Without wildcards the path names one file: its directory is shared.
  const dirParts = firstWild === -1 ? parts.slice(0, -1) : parts.slice(0, firstWild);
  const dir = posix.normalize(dirParts.join('/') || '/');
  if (SYSTEM_DIRS.includes(dir) || dir.startsWith('/etc/') || dir.startsWith('/proc/') || dir.startsWith('/sys/') || dir.startsWith('/dev/') || dir.startsWith('/var/lib/sidecarctl') /* the shipper's own state */) {
    throw new Error(`"${logPath}": the shared log volume would be mounted over ${dir} and hide what the image keeps there; log to a directory of its own, like /var/log/app/*.log`);
  }
  return dir;
}
