/** The Fluentd sidecar: the image that has the output's plugin, its container, and fluent.conf. */
import { renderTemplate } from '../../templates.js';
import type { LogMultiline, LogOutput } from '../../settings/types.js';
import { FLUENTD_IMAGES, type FluentdImage } from '../../validate/fluentd.js';
import { hardenedSecurityContext } from '../hardening.js';
import type { Json, WorkloadContext } from '../types.js';
import { loggingTemplateData, memoryLimit, metadataEnv, MiB, shipperMounts, STATE_DIR, type LoggingTemplateData } from './shared.js';

export const FLUENTD_CONFIG_FILE = 'fluent.conf';
export const FLUENTD_TEMPLATE = 'fluent.conf.hbs';
export const FLUENTD_CONTAINER = 'sidecarctl-fluentd';
/** in_monitor_agent: /api/plugins.json for the startup probe and for metrics. */
export const FLUENTD_MONITOR_PORT = 24220;
/** Fluentd's server engine puts a socket in /tmp at start; the root filesystem is read-only. */
const TMP_VOLUME = 'sidecarctl-fluentd-tmp';


export const FLUENTD_LIMITS = {
  // 2 MB chunks and bulk requests: an 8 MB chunk became an 11.5 MB Elasticsearch bulk body plus its
  // Ruby objects, and Fluentd peaked at 200 MiB against a 192Mi limit at 10k lines/s.
  chunkLimitSize: '2m',
  chunkBytes: 2 * MiB,
  bulkRequestLimit: '2m',
  totalLimitSize: '256m',
  maxLineSize: '1m',
  /** Fluentd and its gems at rest. */
  baseBytes: 96 * MiB,
  /** Chunks a file buffer may hold in memory at once (staged + being flushed). */
  chunksInMemory: 4,
};

/** Memory limit: the process plus the chunks in memory (see memoryLimit). */
export function fluentdMemoryLimit(limits = FLUENTD_LIMITS): string {
  return memoryLimit(limits.baseBytes + limits.chunksInMemory * limits.chunkBytes);
}

/** How each pinned image is run: its user, and the command line (through the image's entrypoint where it honours args). */
interface FluentdRuntime {
  image: FluentdImage;
  /** `fluent` in the official image and the images built on it. */
  uid: number;
  command?: string[];
  args: string[];
}

/**
 * The image whose plugins the output needs: the official image has no Elasticsearch or Loki
 * output, and no single official image has both (so one workload ships to one of them).
 */
export function fluentdRuntime(output: LogOutput, configPath: string): FluentdRuntime {
  // --no-supervisor: one process instead of two, half the memory; the kubelet restarts it.
  const common = ['-c', configPath, '-p', '/fluentd/plugins', '--no-supervisor'];
  switch (output.kind) {
    case 'es':
      // This image's entrypoint ignores args and runs as root; run fluentd directly, as `fluent`.
      // Its gems are found through GEM_PATH (FLUENTD_DISABLE_BUNDLER_INJECTION=1), no --gemfile needed.
      return { image: FLUENTD_IMAGES.elasticsearch8, uid: 999, command: ['tini', '--', 'fluentd'], args: common };
    case 'loki':
      // out_loki is a plain file in /fluentd/plugins, hence -p.
      return { image: FLUENTD_IMAGES.loki, uid: 999, args: ['fluentd', ...common] };
    default:
      return { image: FLUENTD_IMAGES.core, uid: 999, args: ['fluentd', ...common] };
  }
}

/**
 * Fluentd's multiline parser starts a record at each line that matches its first-line pattern and
 * joins the lines that do not: these say what a continuation line of each language's stack trace
 * looks like (Fluent Bit has the same built in as its java, go and python multiline parsers).
 */
export const FLUENTD_FIRSTLINE: Record<Exclude<LogMultiline, 'none'>, string> = {
  // "\tat ...", "\t... 3 more", "Caused by: ..."
  java: '/^(?!\\s|Caused by: )/',
  // "goroutine 1 [running]:", "main.main()", "\t/app/main.go:12 +0x1d", "created by ...", blank lines
  go: '/^(?!\\s|$|goroutine \\d+ \\[|[\\w.\\/*()-]+\\(.*\\)$|created by |exit status \\d)/',
  // '  File "x.py", line 3', 'ValueError: ...', "During handling of the above exception ..."
  python: '/^(?!\\s|$|[A-Za-z_][\\w.]*(Error|Exception|Exit|Interrupt|Warning)\\b|During handling of the above exception|The above exception was the direct cause)/',
};

export interface FluentdTemplateData extends LoggingTemplateData {
  /** The first-line pattern of --log-multiline's language, or null. */
  firstline: string | null;
  rootDir: string;
  posFile: string;
  bufferPath: string;
  monitorPort: number;
  lokiLabels: Record<string, string>;
  limits: typeof FLUENTD_LIMITS;
}

export function fluentdTemplateData(ctx: WorkloadContext): FluentdTemplateData {
  return {
    ...loggingTemplateData(ctx),
    firstline: ctx.settings.logMultiline === 'none' ? null : FLUENTD_FIRSTLINE[ctx.settings.logMultiline],
    rootDir: `${STATE_DIR}/fluentd`,
    posFile: `${STATE_DIR}/fluentd/app.pos`,
    bufferPath: `${STATE_DIR}/fluentd/buffer`,
    monitorPort: FLUENTD_MONITOR_PORT,
    lokiLabels: { job: 'sidecarctl', workload: ctx.name },
    limits: FLUENTD_LIMITS,
  };
}

export function renderFluentdConfig(ctx: WorkloadContext): string {
  return renderTemplate(FLUENTD_TEMPLATE, fluentdTemplateData(ctx), ctx.settings.templates);
}

export function fluentdVolumes(): Json[] {
  return [{ name: TMP_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } }];
}

export function fluentdContainer(ctx: WorkloadContext, configVolume: string, logDir: string): Json {
  const runtime = fluentdRuntime(ctx.settings.logOutput, `${ctx.configDir}/${FLUENTD_CONFIG_FILE}`);
  return {
    name: FLUENTD_CONTAINER,
    image: runtime.image.image,
    imagePullPolicy: 'IfNotPresent',
    ...(runtime.command ? { command: runtime.command } : {}),
    args: runtime.args,
    env: [...metadataEnv(), { name: 'TMPDIR', value: '/tmp' }],
    ports: [{ name: 'fluentd-monitor', containerPort: FLUENTD_MONITOR_PORT, protocol: 'TCP' }],
    resources: {
      requests: { cpu: '50m', memory: '96Mi' },
      limits: { cpu: '500m', memory: fluentdMemoryLimit() },
    },
    securityContext: hardenedSecurityContext(runtime.uid),
    startupProbe: { httpGet: { path: '/api/plugins.json', port: FLUENTD_MONITOR_PORT }, periodSeconds: 1, failureThreshold: 60 },
    volumeMounts: [...shipperMounts(ctx, configVolume, logDir), { name: TMP_VOLUME, mountPath: '/tmp' }],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

