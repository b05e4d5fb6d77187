// A deterministic, realistic multi-document manifest stream for the CLI benchmark: every workload kind,
// with Services in front of most of them, ConfigMaps beside some, comments, flow and block collections,
// quoted and plain scalars, and a few workloads that inject skips on purpose (no port, another mesh).
// Same seed, same bytes: runs are comparable across machines and commits.

/** mulberry32: a tiny seeded PRNG, enough to vary shapes without Math.random's irreproducibility. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KINDS = ['Deployment', 'Deployment', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob', 'Pod'];
const API_VERSION = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  ReplicationController: 'v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  Pod: 'v1',
};
const NAMESPACES = ['shop', 'payments', 'search', 'platform', 'data'];
const IMAGES = ['ghcr.io/example/api', 'docker.io/library/nginx', 'registry.k8s.io/pause', 'quay.io/example/worker'];

/** Indent every line of a block by `n` spaces. */
function indent(text, n) {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((line) => (line ? pad + line : line))
    .join('\n');
}

function container(rand, name, port) {
  const image = IMAGES[Math.floor(rand() * IMAGES.length)];
  const quoted = rand() < 0.5 ? `"${image}:1.${Math.floor(rand() * 30)}.0"` : `${image}:1.${Math.floor(rand() * 30)}.0`;
  const lines = [`- name: ${name}`, `  image: ${quoted}`];
  if (port) {
    lines.push('  ports:', `    - name: http`, `      containerPort: ${port}`);
    // Multi-port pods: gRPC beside HTTP, an opaque well-known port, a UDP port, an unnamed one.
    if (rand() < 0.3) lines.push(`    - {name: grpc, containerPort: ${port + 1}}`);
    if (rand() < 0.15) lines.push('    - {name: redis, containerPort: 6379}');
    if (rand() < 0.1) lines.push('    - {name: statsd, containerPort: 8125, protocol: UDP}');
    if (rand() < 0.2) lines.push(`    - containerPort: ${port + 2}`);
  }
  lines.push(
    '  env:',
    `    - name: LOG_LEVEL`,
    `      value: ${rand() < 0.5 ? 'info' : "'debug'"}`,
    `    - name: REGION # set per cluster`,
    `      value: "eu-west-1"`,
  );
  if (port) lines.push('  readinessProbe:', `    httpGet: {path: /healthz, port: http}`, `    periodSeconds: ${5 + Math.floor(rand() * 10)}`);
  lines.push(
    '  resources:',
    '    requests: {cpu: 100m, memory: 128Mi}',
    '    limits:',
    `      memory: ${128 + 64 * Math.floor(rand() * 4)}Mi`,
  );
  if (rand() < 0.4) lines.push('  volumeMounts:', '    - name: cache', '      mountPath: /var/cache/app');
  return lines.join('\n');
}

function podSpec(rand, name, kind) {
  const port = rand() < 0.9 ? 8000 + Math.floor(rand() * 1000) : undefined;
  const lines = [];
  if (kind === 'Job' || kind === 'CronJob') lines.push('restartPolicy: OnFailure');
  if (rand() < 0.5) lines.push(`serviceAccountName: ${name}`);
  lines.push('containers:', indent(container(rand, name, port), 2));
  if (rand() < 0.3) lines.push('# a second container the app talks to over localhost', 'initContainers:', indent(container(rand, `${name}-migrate`, undefined), 2));
  lines.push('volumes:', '  - name: cache', '    emptyDir: {}');
  return { text: lines.join('\n'), port };
}

function podTemplate(rand, name, kind) {
  const { text, port } = podSpec(rand, name, kind);
  const annotations = [];
  if (rand() < 0.3) annotations.push(`sidecarctl.io/retries: "${1 + Math.floor(rand() * 3)}"`);
  if (rand() < 0.1) annotations.push('sidecarctl.io/inject: "false"');
  if (rand() < 0.05) annotations.push('sidecar.istio.io/inject: "true"');
  if (rand() < 0.2) annotations.push("prometheus.io/scrape: 'true'");
  const meta = ['metadata:', '  labels:', `    app: ${name}`, `    tier: ${rand() < 0.5 ? 'backend' : 'frontend'}`];
  if (annotations.length > 0) meta.push('  annotations:', ...annotations.map((a) => `    ${a}`));
  return { text: [...meta, 'spec:', indent(text, 2)].join('\n'), port };
}

function workload(rand, kind, name, namespace) {
  const head = [`apiVersion: ${API_VERSION[kind]}`, `kind: ${kind}`, 'metadata:', `  name: ${name}`, `  namespace: ${namespace}`];
  if (rand() < 0.5) head.push(`  labels: {app: ${name}, team: "${namespace}"}`);
  if (kind === 'Pod') {
    const { text, port } = podSpec(rand, name, kind);
    return { text: [...head, 'spec:', indent(text, 2)].join('\n'), port };
  }
  const template = podTemplate(rand, name, kind);
  const body = [];
  if (kind === 'CronJob') {
    body.push(`schedule: "${Math.floor(rand() * 60)} * * * *"`, 'jobTemplate:', '  spec:', '    template:', indent(template.text, 6));
  } else if (kind === 'Job') {
    body.push('backoffLimit: 3', 'template:', indent(template.text, 2));
  } else {
    if (kind !== 'DaemonSet') body.push(`replicas: ${1 + Math.floor(rand() * 5)}`);
    if (kind === 'StatefulSet') body.push(`serviceName: ${name}`);
    body.push('selector:', kind === 'ReplicationController' ? `  app: ${name}` : `  matchLabels:\n    app: ${name}`, 'template:', indent(template.text, 2));
  }
  return { text: [...head, 'spec:', indent(body.join('\n'), 2)].join('\n'), port: template.port };
}

function service(rand, name, namespace) {
  const targetPort = rand() < 0.6 ? 'http' : '8080';
  return [
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    'spec:',
    '  selector:',
    `    app: ${name}`,
    '  ports:',
    '    - name: http',
    '      port: 80',
    `      targetPort: ${targetPort}   # the container's port`,
  ].join('\n');
}

function configMap(rand, name, namespace) {
  return [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    `  name: ${name}-settings`,
    `  namespace: ${namespace}`,
    'data:',
    `  FEATURE_FLAGS: "search,checkout"`,
    '  app.properties: |',
    `    threads=${1 + Math.floor(rand() * 16)}`,
    '    # cache tuning',
    '    cache.ttl=30s',
  ].join('\n');
}

/**
 * `workloads` workload documents (cycling through every kind), most with a Service, some with a
 * ConfigMap, each introduced by a comment. Returns the text and counts for the report.
 */
export function generateStream(workloads = 1000, seed = 42) {
  const rand = prng(seed);
  const docs = [];
  let services = 0;
  let configMaps = 0;
  for (let i = 0; i < workloads; i++) {
    const kind = KINDS[i % KINDS.length];
    const namespace = NAMESPACES[Math.floor(rand() * NAMESPACES.length)];
    const name = `${kind.toLowerCase()}-${i}`;
    if (rand() < 0.25) {
      docs.push(configMap(rand, name, namespace));
      configMaps++;
    }
    const { text, port } = workload(rand, kind, name, namespace);
    docs.push(`# ${kind} ${i}: generated by bench/cli/generate.js\n${text}`);
    if (port && kind !== 'Job' && kind !== 'CronJob' && rand() < 0.7) {
      docs.push(service(rand, name, namespace));
      services++;
    }
  }
  return { text: docs.join('\n---\n') + '\n', documents: docs.length, services, configMaps };
}
