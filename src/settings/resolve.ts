/**
 * Layering: defaults < profile file < `sidecarctl.io/*` annotations < flags.
 * Each layer is a list of raw values that remember where they came from, so a bad value is reported
 * at its source (`.sidecarctl.yaml:4`, `deploy.yaml:12`, `--retries`).
 */
import { UserError } from '../errors.js';
import { DEFAULT_SETTINGS, OPTIONS_BY_KEY } from './options.js';
import type { Settings } from './types.js';

export interface RawSetting {
  key: string;
  value: string | number | boolean;
  /** Where it came from: a flag name, or a file and line. */
  file?: string;
  line?: number;
  flag?: string;
}

export type SettingsLayer = RawSetting[];

/** Annotation keys of ours that are not settings. */
export const RESERVED_ANNOTATIONS = ['inject', 'status', 'config-hash', 'lint-ignore'];
export const ANNOTATION_PREFIX = 'sidecarctl.io/';

function fail(raw: RawSetting, message: string): never {
  const where = raw.flag ? `${raw.flag}: ` : `${raw.key}: `;
  throw new UserError(where + message, raw.file, raw.line);
}

export function resolveSettings(layers: SettingsLayer[]): Settings {
  const settings: Settings = structuredClone(DEFAULT_SETTINGS);
  const origin = new Map<string, RawSetting>();
  for (const layer of layers) {
    // A repeatable option given in a layer replaces the lower layers' list instead of adding to it.
    const resetInLayer = new Set<string>();
    for (const raw of layer) {
      const option = OPTIONS_BY_KEY.get(raw.key);
      if (!option) fail(raw, `unknown setting "${raw.key}"`);
      if (option.repeatable && !resetInLayer.has(raw.key)) {
        resetInLayer.add(raw.key);
        if (raw.key === 'upstream') settings.upstreams = [];
        if (raw.key === 'allow-peer') settings.allowPeers = [];
        if (raw.key === 'upstream-mtls') settings.upstreamMtls = [];
        if (raw.key === 'port-protocol') settings.portProtocols = [];
      }
      try {
        option.apply(settings, raw.value);
      } catch (error) {
        fail(raw, (error as Error).message);
      }
      origin.set(raw.key, raw);
    }
  }
  checkCombination(settings, (key) => origin.get(key));
  return settings;
}

/** Rules across settings; reported at the source of the value that completes the bad combination. */
function checkCombination(s: Settings, originOf: (key: string) => RawSetting | undefined): void {
  const at = (key: string, message: string): never => {
    const raw = originOf(key);
    throw raw ? new UserError((raw.flag ? `${raw.flag}: ` : `${key}: `) + message, raw.file, raw.line) : new UserError(message);
  };
  if (s.mtls !== 'off' && s.proxy === 'none') at('mtls', `mTLS needs a proxy (--proxy envoy or bundled), not --proxy none`);
  if (s.mtls !== 'off' && !s.mtlsIssuer && !s.mtlsSecret) {
    at('mtls', `--mtls ${s.mtls} needs a certificate source: --mtls-issuer NAME (cert-manager) or --mtls-secret NAME`);
  }
  if (s.mtlsIssuer && s.mtlsSecret) at('mtls-secret', 'give either --mtls-issuer or --mtls-secret, not both');
  for (const entry of s.upstreamMtls) {
    if (s.proxy === 'none') at('upstream-mtls', 'mTLS to an upstream needs a proxy (--proxy envoy or bundled), not --proxy none');
    if (!s.upstreams.some((u) => u.name === entry.name)) at('upstream-mtls', `"${entry.name}" is not an --upstream (known: ${s.upstreams.map((u) => u.name).join(', ') || 'none'})`);
    if (!s.mtlsIssuer && !s.mtlsSecret) at('upstream-mtls', 'mTLS to an upstream needs the workload\'s certificate: --mtls-issuer NAME (cert-manager) or --mtls-secret NAME');
  }
  if (s.burst !== undefined && s.rateLimit === undefined) at('burst', '--burst needs --rate-limit');
  // Fluent Bit's tail reads `**` as `*`: one directory level, so deeper files would be silently
  // missed (measured: /var/log/app/**/*.log tails a/x.log but not top.log or a/b/c.log).
  if (s.logging === 'fluent-bit' && s.logPath.includes('**')) {
    at(originOf('log-path') ? 'log-path' : 'logging', `Fluent Bit does not read ** as "any depth" (only one directory level): spell the depth out (e.g. /var/log/app/*/*.log), or use --logging fluentd, which tails every depth`);
  }
  if (s.proxyPort === s.adminPort) at('admin-port', `proxy port and admin port are both ${s.proxyPort}`);
  const taken = new Map<number, string>([
    [s.proxyPort, 'the proxy port'],
    [s.adminPort, 'the admin port'],
  ]);
  if (s.appPort !== undefined) {
    if (taken.has(s.appPort)) at('app-port', `app port ${s.appPort} is also ${taken.get(s.appPort)}`);
    taken.set(s.appPort, 'the app port');
  }
  for (const upstream of s.upstreams) {
    const clash = taken.get(upstream.localPort);
    if (clash) at('upstream', `upstream "${upstream.name}" listens on 127.0.0.1:${upstream.localPort}, which is ${clash}; pick another with ${upstream.name}=${upstream.host}:${upstream.port}@LOCALPORT`);
    taken.set(upstream.localPort, `upstream "${upstream.name}"`);
  }
}

/**
 * The `sidecarctl.io/<key>` annotations of an object as a settings layer. Unknown `sidecarctl.io/`
 * keys are errors: a typo silently ignored would inject something the user did not ask for.
 */
export function annotationLayer(
  annotations: Record<string, unknown>,
  locate: (key: string) => { file?: string; line?: number },
): SettingsLayer {
  const layer: SettingsLayer = [];
  for (const [name, value] of Object.entries(annotations)) {
    if (!name.startsWith(ANNOTATION_PREFIX)) continue;
    const key = name.slice(ANNOTATION_PREFIX.length);
    if (RESERVED_ANNOTATIONS.includes(key)) continue;
    const where = locate(name);
    const option = OPTIONS_BY_KEY.get(key);
    if (!option) throw new UserError(`unknown annotation ${name}`, where.file, where.line);
    const text = String(value);
    const values = option.repeatable ? text.split(',').map((v) => v.trim()).filter(Boolean) : [text];
    for (const v of values) layer.push({ key, value: v, ...where });
  }
  return layer;
}
