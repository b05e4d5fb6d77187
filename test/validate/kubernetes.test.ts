import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateKubernetesObject } from '../../src/validate/kubernetes.js';

type Path = (string | number)[];
type Obj = Record<string, any>;

// --- valid objects (fresh copies, so tests can plant defects in them) -------------------------------------------

function podSpec(): Obj {
  return {
    serviceAccountName: 'web',
    restartPolicy: 'Always',
    securityContext: { runAsNonRoot: true, fsGroup: 2000 },
    initContainers: [
      {
        // A native sidecar: restartPolicy Always is valid here, and so are probes and lifecycle hooks.
        name: 'proxy',
        image: 'envoyproxy/envoy:v1.31.0',
        restartPolicy: 'Always',
        args: ['-c', '/etc/envoy/envoy.yaml'],
        ports: [{ containerPort: 15006, name: 'proxy-in' }, { containerPort: 15000, name: 'admin' }],
        readinessProbe: { httpGet: { path: '/ready', port: 'admin' }, periodSeconds: 5 },
        startupProbe: { tcpSocket: { port: 15006 }, failureThreshold: 30 },
        lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
        resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: 0.5, memory: '1Gi' } },
        securityContext: {
          runAsNonRoot: true,
          runAsUser: 1337,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        },
        volumeMounts: [{ name: 'proxy-config', mountPath: '/etc/envoy', readOnly: true }],
      },
    ],
    containers: [
      {
        name: 'app',
        image: 'nginx:1.27',
        imagePullPolicy: 'IfNotPresent',
        ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }],
        env: [
          { name: 'MODE', value: 'prod' },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ],
        envFrom: [{ configMapRef: { name: 'web-env' } }],
        livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, initialDelaySeconds: 3 },
        readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
        resources: { requests: { cpu: '250m', memory: '128Mi', 'ephemeral-storage': '1Gi' }, limits: { memory: '256Mi' } },
        volumeMounts: [
          { name: 'logs', mountPath: '/var/log/app' },
          { name: 'certs', mountPath: '/etc/certs', readOnly: true },
          { name: 'bundle', mountPath: '/etc/bundle' },
        ],
      },
    ],
    volumes: [
      { name: 'logs', emptyDir: { sizeLimit: '500Mi' } },
      { name: 'proxy-config', configMap: { name: 'web-proxy', items: [{ key: 'envoy.yaml', path: 'envoy.yaml' }] } },
      { name: 'certs', secret: { secretName: 'web-tls', defaultMode: 0o400 } },
      {
        name: 'bundle',
        projected: {
          sources: [{ configMap: { name: 'ca' } }, { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } }],
        },
      },
    ],
  };
}

function deployment(): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      labels: { app: 'web', 'app.kubernetes.io/part-of': 'shop' },
      annotations: { 'sidecarctl.io/proxy': 'envoy' },
      creationTimestamp: null, // as kubectl prints it; the API server reads null as absent
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: 'web' }, annotations: { 'sidecarctl.io/config-hash': 'abc123' } },
        spec: podSpec(),
      },
    },
  };
}

function statefulSet(): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db' },
    spec: {
      serviceName: 'db',
      replicas: 3,
      selector: { matchLabels: { app: 'db' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['data'] }] },
      template: {
        metadata: { labels: { app: 'db', tier: 'data' } },
        spec: {
          containers: [{ name: 'db', image: 'postgres:16', volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql' }] }],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'pgdata' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
        },
      ],
    },
  };
}

function cronJob(): Obj {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'report' },
    spec: {
      schedule: '*/5 * * * *',
      concurrencyPolicy: 'Forbid',
      jobTemplate: {
        spec: {
          backoffLimit: 2,
          template: {
            spec: {
              restartPolicy: 'OnFailure',
              containers: [{ name: 'report', image: 'busybox:1.36', command: ['sh', '-c', 'date'] }],
            },
          },
        },
      },
    },
  };
}

function pod(): Obj {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', labels: { app: 'web' } }, spec: podSpec() };
}

function service(): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: {
      type: 'ClusterIP',
      selector: { app: 'web' },
      ports: [
        { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }, // int-or-string: a name...
        { name: 'metrics', port: 9090, targetPort: 15000 }, // ...or a number
      ],
    },
  };
}

function configMap(): Obj {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'web-proxy' },
    data: { 'envoy.yaml': 'static_resources: {}\n', LOG_LEVEL: 'info', '.hidden_file-1': '' },
    binaryData: { 'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64') },
  };
}

function certificate(): Obj {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: 'web-mtls', namespace: 'shop' },
    spec: {
      secretName: 'web-mtls',
      duration: '2160h',
      renewBefore: '360h',
      commonName: 'web.shop.svc',
      dnsNames: ['web.shop.svc', 'web.shop.svc.cluster.local'],
      usages: ['server auth', 'client auth'],
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      issuerRef: { name: 'mesh-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
    },
  };
}

function list(): Obj {
  return { apiVersion: 'v1', kind: 'List', metadata: {}, items: [service(), deployment()] };
}

/** Other built-in kinds, to show the schema lookup is not limited to the workloads above. */
const OTHER_VALID: Obj[] = parseAllDocuments(`
apiVersion: batch/v1
kind: Job
metadata: { name: once }
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: c, image: busybox }]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent }
spec:
  selector: { matchLabels: { a: b } }
  template:
    metadata: { labels: { a: b } }
    spec: { containers: [{ name: c, image: "fluent/fluent-bit:3.1" }] }
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: { name: rs }
spec:
  selector: { matchLabels: { a: b } }
  template:
    metadata: { labels: { a: b } }
    spec: { containers: [{ name: c, image: i }] }
---
apiVersion: v1
kind: ReplicationController
metadata: { name: rc }
spec:
  selector: { a: b }
  template:
    metadata: { labels: { a: b } }
    spec: { containers: [{ name: c, image: i }] }
---
apiVersion: v1
kind: Namespace
metadata: { name: shop, labels: { istio-injection: disabled } }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: web }
automountServiceAccountToken: false
---
apiVersion: v1
kind: Secret
metadata: { name: web-tls }
type: kubernetes.io/tls
data: { tls.crt: Y2VydA==, tls.key: a2V5 }
stringData: { ca.crt: ca }
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: data }
spec:
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 1Gi } }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: np }
spec:
  podSelector: {}
  ingress: [{ ports: [{ port: http }, { port: 8080 }] }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: in }
spec:
  rules:
    - host: a.example.com
      http:
        paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: r }
rules: [{ apiGroups: [""], resources: [pods], verbs: [get] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: b }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r }
subjects: [{ kind: ServiceAccount, name: web, namespace: shop }]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: pdb }
spec: { minAvailable: 1, selector: { matchLabels: { app: web } } }
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: hpa }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web }
  minReplicas: 1
  maxReplicas: 5
  metrics: [{ type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: 70 } } }]
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: { name: selfsigned }
spec: { selfSigned: {} }
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: { name: mesh-ca }
spec: { ca: { secretName: mesh-ca } }
`).map((doc) => doc.toJS());

// --- helpers ---------------------------------------------------------------------------------------------------

function issuesOf(obj: unknown) {
  const result = validateKubernetesObject(obj);
  expect(result.known).toBe(true);
  return result.issues;
}

/** The one issue at `path`; fails listing every issue when there is none. */
function issueAt(obj: unknown, path: Path) {
  const issues = issuesOf(obj);
  const found = issues.filter((i) => JSON.stringify(i.path) === JSON.stringify(path));
  expect(found, JSON.stringify(issues, null, 2)).toHaveLength(1);
  return found[0]!;
}

/** Sets obj at path (the parent must exist). */
function plant(obj: Obj, path: Path, value: unknown): void {
  const parent = path.slice(0, -1).reduce((node: any, key) => node[key], obj);
  parent[path.at(-1)!] = value;
}

function onlyIssueAt(obj: unknown, path: Path) {
  const issues = issuesOf(obj);
  expect(issues.map((i) => i.path)).toEqual([path]);
  return issues[0]!;
}

const POD = ['spec', 'template', 'spec'];
const APP = [...POD, 'containers', 0];
const PROXY = [...POD, 'initContainers', 0];

// --- tests -----------------------------------------------------------------------------------------------------

describe('valid objects give no issues', () => {
  it.each([
    ['Deployment', deployment()],
    ['StatefulSet', statefulSet()],
    ['CronJob', cronJob()],
    ['Pod', pod()],
    ['Service', service()],
    ['ConfigMap', configMap()],
    ['Certificate', certificate()],
    ['List', list()],
    ...OTHER_VALID.map((o) => [`${o.apiVersion} ${o.kind}`, o] as [string, Obj]),
  ])('%s', (_, obj) => {
    expect(validateKubernetesObject(obj)).toEqual({ known: true, issues: [] });
  });

  it('accepts both forms of int-or-string fields', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].livenessProbe.httpGet.port = 'http';
    d.spec.template.spec.containers[0].readinessProbe.httpGet.port = 8080;
    expect(issuesOf(d)).toEqual([]);
    const s = service();
    s.spec.ports[0].targetPort = 8080;
    s.spec.ports[1].targetPort = 'metrics';
    expect(issuesOf(s)).toEqual([]);
  });

  it('accepts the quantity forms the API server parses', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].resources = {
      requests: { cpu: 0.25, memory: '1e8', 'ephemeral-storage': '2G' },
      limits: { cpu: '1', memory: '0.5Gi', 'ephemeral-storage': '2Gi' },
    };
    expect(issuesOf(d)).toEqual([]);
  });
});

describe('schema errors are reported at the offending value', () => {
  it('wrong type', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].ports[0].containerPort = '8080';
    const found = onlyIssueAt(d, [...APP, 'ports', 0, 'containerPort']);
    expect(found.message).toBe(
      'spec.template.spec.containers[0].ports[0].containerPort: must be integer (got string "8080")',
    );
  });

  it('a YAML boolean or number where a string belongs says to quote it', () => {
    const d = deployment();
    d.metadata.annotations['prometheus.io/scrape'] = true;
    d.spec.template.spec.containers[0].env[0].value = 8080;
    expect(issueAt(d, ['metadata', 'annotations', 'prometheus.io/scrape']).message).toContain(
      'must be string (got boolean true); annotation values are strings: quote it in YAML: "true"',
    );
    expect(issueAt(d, [...APP, 'env', 0, 'value']).message).toContain('quote it in YAML: "8080"');
  });

  it('missing required field points at its parent', () => {
    const d = deployment();
    delete d.spec.template.spec.containers[0].name;
    expect(onlyIssueAt(d, APP).message).toBe('spec.template.spec.containers[0]: missing required field "name"');
  });

  it('enum values are listed', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].imagePullPolicy = 'always';
    expect(onlyIssueAt(d, [...APP, 'imagePullPolicy']).message).toContain(
      'must be one of "Always", "IfNotPresent", "Never" (got string "always")',
    );
  });

  it('int-or-string rejects other types with one message', () => {
    const s = service();
    s.spec.ports[0].targetPort = true;
    const found = onlyIssueAt(s, ['spec', 'ports', 0, 'targetPort']);
    expect(found.message).toBe('spec.ports[0].targetPort: must be string or integer (got boolean true)');
  });

  it('null is an absent field, as for the API server', () => {
    const d = deployment();
    d.spec.template.spec.restartPolicy = null; // an enum would reject null
    d.spec.template.spec.containers[0].ports = null;
    d.spec.template.metadata.annotations = null;
    expect(issuesOf(d)).toEqual([]);
  });

  it('a value of the wrong shape gives one issue, not a cascade', () => {
    const d = deployment();
    d.spec.template.spec.containers = { name: 'app', image: 'nginx' };
    const found = onlyIssueAt(d, [...POD, 'containers']);
    expect(found.message).toBe('spec.template.spec.containers: must be array (got mapping)');
  });

  it('cert-manager schema', () => {
    const c = certificate();
    c.spec.dnsNames = 'web.shop.svc';
    expect(onlyIssueAt(c, ['spec', 'dnsNames']).message).toContain('must be array');
  });
});

describe('unknown fields', () => {
  // [where, path of the planted key, the field it should suggest]
  const cases: [string, Path, string?][] = [
    ['container', [...APP, 'imagePullPolicyy'], 'imagePullPolicy'],
    ['pod spec', [...POD, 'restartpolicy'], 'restartPolicy'],
    ['volumeMount', [...APP, 'volumeMounts', 1, 'readonly'], 'readOnly'],
    ['initContainer securityContext', [...PROXY, 'securityContext', 'runAsNonroot'], 'runAsNonRoot'],
    ['capabilities', [...PROXY, 'securityContext', 'capabilities', 'remove']],
    ['resources', [...APP, 'resources', 'request'], 'requests'],
    ['probe', [...APP, 'livenessProbe', 'initialDelay']],
    ['probe httpGet', [...APP, 'livenessProbe', 'httpGet', 'paht'], 'path'],
    ['port', [...APP, 'ports', 0, 'containerport'], 'containerPort'],
    ['env', [...APP, 'env', 0, 'valeu'], 'value'],
    ['env valueFrom', [...APP, 'env', 1, 'valueFrom', 'fieldRef', 'path']],
    ['lifecycle', [...PROXY, 'lifecycle', 'prestop'], 'preStop'],
    ['volume', [...POD, 'volumes', 0, 'emptydir'], 'emptyDir'],
    ['emptyDir', [...POD, 'volumes', 0, 'emptyDir', 'size']],
    ['configMap volume', [...POD, 'volumes', 1, 'configMap', 'item'], 'items'],
    ['secret volume', [...POD, 'volumes', 2, 'secret', 'name']],
    ['projected volume', [...POD, 'volumes', 3, 'projected', 'sources', 1, 'serviceAccountToken', 'audiences'], 'audience'],
    ['metadata', ['metadata', 'label'], 'labels'],
    ['template metadata', ['spec', 'template', 'metadata', 'annotation'], 'annotations'],
    ['deployment spec', ['spec', 'replica'], 'replicas'],
    ['top level', ['specs'], 'spec'],
  ];
  it.each(cases)('in a %s', (_, path, hint) => {
    const d = deployment();
    plant(d, path, 'x');
    const found = onlyIssueAt(d, path);
    expect(found.message).toContain(`unknown field "${String(path.at(-1))}"`);
    if (hint) expect(found.message).toContain(`(did you mean "${hint}"?)`);
    else expect(found.message).not.toContain('did you mean');
  });

  it('in a frozen input too', () => {
    const deepFreeze = (v: unknown): unknown => {
      if (v && typeof v === 'object') Object.values(Object.freeze(v)).forEach(deepFreeze);
      return v;
    };
    const d = deployment();
    d.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    d.spec.template.spec.restartPolicy = null;
    expect(issuesOf(deepFreeze(d)).map((i) => i.path)).toEqual([[...APP, 'imagePullPolicyy']]);
  });

  it('in every place a pod spec appears', () => {
    const p = pod();
    p.spec.hostnetwork = true;
    expect(onlyIssueAt(p, ['spec', 'hostnetwork']).message).toContain('did you mean "hostNetwork"');
    const c = cronJob();
    c.spec.jobTemplate.spec.template.spec.containers[0].comand = ['x'];
    const path = ['spec', 'jobTemplate', 'spec', 'template', 'spec', 'containers', 0, 'comand'];
    expect(onlyIssueAt(c, path).message).toContain('did you mean "command"');
  });

  it('in a Service spec and its ports', () => {
    const s = service();
    s.spec.sessionAfinity = 'None';
    s.spec.ports[1].target_port = 1;
    expect(issuesOf(s).map((i) => i.message)).toEqual([
      'spec.ports[1].target_port: unknown field "target_port" (did you mean "targetPort"?)',
      'spec.sessionAfinity: unknown field "sessionAfinity" (did you mean "sessionAffinity"?)',
    ]);
  });

  it('not in maps: labels, annotations, ConfigMap data, resource lists, nodeSelector', () => {
    const d = deployment();
    d.spec.template.spec.nodeSelector = { 'kubernetes.io/os': 'linux' };
    d.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu'] = 1;
    d.metadata.labels.anything = 'goes';
    expect(issuesOf(d)).toEqual([]);
    const cm = configMap();
    cm.data.anyKey = 'x';
    expect(issuesOf(cm)).toEqual([]);
  });

  it('in CRD schemas, except in their free-form fields', () => {
    const issuer = parseAllDocuments(`
      apiVersion: cert-manager.io/v1
      kind: Issuer
      metadata: { name: acme }
      spec:
        acme:
          server: https://acme.example/directory
          privateKeySecretRef: { name: acme-key }
          solvers:
            - dns01:
                webhook:
                  groupName: acme.example
                  solverName: s
                  config: { anything: { goes: here } } # x-kubernetes-preserve-unknown-fields
    `)[0]!.toJS();
    expect(issuesOf(issuer)).toEqual([]);
    issuer.spec.acme.solvers[0].dns01.webhook.solvername = 's';
    const found = onlyIssueAt(issuer, ['spec', 'acme', 'solvers', 0, 'dns01', 'webhook', 'solvername']);
    expect(found.message).toContain('did you mean "solverName"');
  });
});

describe('what the API server checks beyond the schema', () => {
  it('duplicate container name, across containers and initContainers', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].name = 'proxy';
    expect(onlyIssueAt(d, [...PROXY, 'name']).message).toBe(
      'spec.template.spec.initContainers[0].name: duplicate container name "proxy" (also at spec.template.spec.containers[0].name)',
    );
  });

  it('container name must be a DNS-1123 label', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].name = 'My_App';
    expect(onlyIssueAt(d, [...APP, 'name']).message).toContain('DNS-1123 label');
  });

  it('mount of an undeclared volume', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].volumeMounts[0].name = 'log';
    expect(onlyIssueAt(d, [...APP, 'volumeMounts', 0, 'name']).message).toBe(
      `spec.template.spec.containers[0].volumeMounts[0].name: volume "log" is not declared in the pod's volumes`,
    );
  });

  it('duplicate volume name and duplicate mountPath', () => {
    const d = deployment();
    d.spec.template.spec.volumes[1].name = 'logs';
    d.spec.template.spec.initContainers[0].volumeMounts[0].name = 'logs';
    d.spec.template.spec.containers[0].volumeMounts[2].mountPath = '/etc/certs';
    expect(issuesOf(d).map((i) => i.message)).toEqual([
      'spec.template.spec.volumes[1].name: duplicate volume name "logs" (also at spec.template.spec.volumes[0].name)',
      'spec.template.spec.containers[0].volumeMounts[2].mountPath: "/etc/certs" is already mounted by volumeMounts[1]',
    ]);
  });

  it('bad quantity: one the schema rejects, and one only the API server rejects', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].resources.requests.cpu = '1 core';
    d.spec.template.spec.containers[0].resources.requests.memory = '1h'; // "h" (hecto) passes the schema's format
    d.spec.template.spec.volumes[0].emptyDir.sizeLimit = '1GB';
    expect(issuesOf(d).map((i) => i.message)).toEqual([
      'spec.template.spec.containers[0].resources.requests.cpu: must be a quantity such as 100m, 0.5, 64Mi or 1Gi (got string "1 core")',
      'spec.template.spec.volumes[0].emptyDir.sizeLimit: must be a quantity such as 100m, 0.5, 64Mi or 1Gi (got string "1GB")',
      'spec.template.spec.containers[0].resources.requests.memory: must be a quantity such as 100m, 0.5, 64Mi or 1Gi (got string "1h")',
    ]);
  });

  it('requests above limits', () => {
    const d = deployment();
    d.spec.template.spec.initContainers[0].resources.requests.memory = '2Gi';
    const found = onlyIssueAt(d, [...PROXY, 'resources', 'requests', 'memory']);
    expect(found.message).toContain('must be less than or equal to the memory limit (1Gi)');
  });

  it('restartPolicy Always on a regular container', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].restartPolicy = 'Always';
    expect(onlyIssueAt(d, [...APP, 'restartPolicy']).message).toContain('may only be set on initContainers');
  });

  it('init container: restartPolicy other than Always, and probes without it', () => {
    const d = deployment();
    d.spec.template.spec.initContainers[0].restartPolicy = 'OnFailure';
    const issues = issuesOf(d);
    expect(issues.map((i) => i.path)).toEqual([
      [...PROXY, 'restartPolicy'],
      [...PROXY, 'readinessProbe'],
      [...PROXY, 'startupProbe'],
      [...PROXY, 'lifecycle'],
    ]);
    expect(issues[0]!.message).toContain('must be "Always" on an init container');
  });

  it('probe handlers and thresholds', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].livenessProbe.tcpSocket = { port: 8080 };
    d.spec.template.spec.containers[0].livenessProbe.successThreshold = 2;
    d.spec.template.spec.containers[0].readinessProbe.httpGet.port = 'not_a_port_name';
    expect(issuesOf(d).map((i) => i.path)).toEqual([
      [...APP, 'livenessProbe'],
      [...APP, 'livenessProbe', 'successThreshold'],
      [...APP, 'readinessProbe', 'httpGet', 'port'],
    ]);
  });

  it('port range and port names', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].ports.push({ containerPort: 70000, name: 'http' });
    expect(issuesOf(d).map((i) => i.message)).toEqual([
      'spec.template.spec.containers[0].ports[1].containerPort: must be a port number between 1 and 65535 (got 70000)',
      'spec.template.spec.containers[0].ports[1].name: duplicate port name "http" in this container',
    ]);
  });

  it('Service ports: names required when several, unique, valid targetPort', () => {
    const s = service();
    delete s.spec.ports[0].name;
    s.spec.ports[1].targetPort = 0x10000;
    expect(issuesOf(s).map((i) => i.path)).toEqual([
      ['spec', 'ports', 0],
      ['spec', 'ports', 1, 'targetPort'],
    ]);
  });

  it('selector must match the pod template labels', () => {
    const d = deployment();
    d.spec.template.metadata.labels = { app: 'webapp' };
    expect(onlyIssueAt(d, ['spec', 'selector']).message).toContain('does not match the pod template labels');
    const s = statefulSet();
    s.spec.template.metadata.labels.tier = 'cache';
    expect(onlyIssueAt(s, ['spec', 'selector'])).toBeDefined();
  });

  it('label and annotation keys and values', () => {
    const d = deployment();
    d.metadata.labels['bad key'] = 'x';
    d.metadata.labels.version = 'v1.0+build';
    d.spec.template.metadata.annotations['Example.COM/ok'] = 'annotation keys are checked lower-cased';
    d.spec.template.metadata.annotations['-bad'] = 'x';
    expect(issuesOf(d).map((i) => i.path)).toEqual([
      ['metadata', 'labels', 'bad key'],
      ['metadata', 'labels', 'version'],
      ['spec', 'template', 'metadata', 'annotations', '-bad'],
    ]);
  });

  it('annotations over 256 KiB in total', () => {
    const d = deployment();
    d.spec.template.metadata.annotations['sidecarctl.io/a'] = 'x'.repeat(128 * 1024);
    d.spec.template.metadata.annotations['sidecarctl.io/b'] = 'x'.repeat(128 * 1024);
    expect(onlyIssueAt(d, ['spec', 'template', 'metadata', 'annotations']).message).toContain('256 KiB');
    d.spec.template.metadata.annotations['sidecarctl.io/b'] = 'x'.repeat(127 * 1024);
    expect(issuesOf(d)).toEqual([]);
  });

  it('ConfigMap keys, duplicates across data and binaryData, 1 MiB in total', () => {
    const cm = configMap();
    cm.data['config/envoy.yaml'] = 'x';
    cm.data['logo.png'] = 'x';
    expect(issuesOf(cm).map((i) => i.path)).toEqual([
      ['data', 'config/envoy.yaml'],
      ['binaryData', 'logo.png'],
    ]);
    const big = configMap();
    big.data['envoy.yaml'] = 'é'.repeat(512 * 1024); // 2 bytes each in UTF-8: the limit is in bytes
    expect(onlyIssueAt(big, []).message).toContain('1 MiB');
  });

  it('a Pod spec is checked in Pods, CronJobs and StatefulSets too', () => {
    const p = pod();
    p.spec.containers[0].volumeMounts[0].name = 'nope';
    expect(onlyIssueAt(p, ['spec', 'containers', 0, 'volumeMounts', 0, 'name'])).toBeDefined();
    const c = cronJob();
    c.spec.jobTemplate.spec.template.spec.containers.push({ name: 'report', image: 'x' });
    expect(onlyIssueAt(c, ['spec', 'jobTemplate', 'spec', 'template', 'spec', 'containers', 1, 'name'])).toBeDefined();
    const s = statefulSet();
    s.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '10 GiB';
    expect(onlyIssueAt(s, ['spec', 'volumeClaimTemplates', 0, 'spec', 'resources', 'requests', 'storage'])).toBeDefined();
  });
});

describe('kinds and Lists', () => {
  it('a CRD without a schema is unknown', () => {
    const vs = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', spec: { hosts: ['x'] } };
    expect(validateKubernetesObject(vs)).toEqual({ known: false, issues: [] });
    expect(validateKubernetesObject({ apiVersion: 'apps.openshift.io/v1', kind: 'DeploymentConfig' }).known).toBe(false);
  });

  it('a typo in a built-in kind is reported, not taken for a CRD', () => {
    const d = deployment();
    d.kind = 'Deploymnet';
    expect(validateKubernetesObject(d)).toEqual({
      known: true,
      issues: [{ path: ['kind'], message: 'kind: "Deploymnet" is not a kind of apps/v1 (did you mean "Deployment"?)' }],
    });
  });

  it('a List validates each item under items[i]', () => {
    const l = list();
    l.items[1].spec.template.spec.containers[0].ports[0].containerPort = '80';
    l.items.push({ apiVersion: 'example.com/v1', kind: 'Widget', spec: { anything: 1 } }, null);
    expect(validateKubernetesObject(l)).toEqual({
      known: true,
      issues: [
        {
          path: ['items', 1, ...APP, 'ports', 0, 'containerPort'],
          message: 'items[1].spec.template.spec.containers[0].ports[0].containerPort: must be integer (got string "80")',
        },
        { path: ['items', 3], message: 'items[3]: must be a mapping with apiVersion and kind' },
      ],
    });
  });

  it('not an object, or no kind', () => {
    expect(validateKubernetesObject('kind: Pod')).toMatchObject({ known: false, issues: [{ path: [] }] });
    expect(validateKubernetesObject({ apiVersion: 'v1', metadata: { name: 'x' } })).toMatchObject({
      known: false,
      issues: [{ path: [], message: expect.stringContaining('"kind"') }],
    });
  });
});

// --- the corpus of real manifests ------------------------------------------------------------------------------

const CORPUS = '/work/shared/corpus';

const NO_SELECTOR = { why: 'apps/v1 Deployment without the required spec.selector', paths: [['spec']] };

/** Documents (file#index) that are not clean, and why: each is a genuine problem the API server would reject. */
const NOT_CLEAN: Record<string, { why: string; paths: Path[] }> = {
  'peers/linkerd/inject_contour.input.yml#0': {
    why: 'envoy and its init container mount volume "contour-config", which the pod never declares',
    paths: [
      [...POD, 'containers', 1, 'volumeMounts', 0, 'name'],
      [...POD, 'initContainers', 0, 'volumeMounts', 0, 'name'],
    ],
  },
  'peers/linkerd/inject_emojivoto_list_empty_resources.input.yml#0': {
    why: 'the List ends with two null items ("- null")',
    paths: [['items', 2], ['items', 3]],
  },
  'peers/linkerd/inject_gettest_deployment.good.input.yml#0': NO_SELECTOR,
  'peers/linkerd/inject_gettest_deployment.good.input.yml#1': NO_SELECTOR,
  'peers/linkerd/inject_gettest_deployment.bad.input.yml#0': NO_SELECTOR,
};

/** Documents with no schema: OpenShift's DeploymentConfig, under the legacy `apiVersion: v1`. */
const UNKNOWN = new Set(['peers/istio/deploymentconfig-with-canonical-service-label.yaml#0']);

/** Documents that are not YAML at all (deliberately: a test of the peer's error handling). */
const UNPARSABLE = new Set(['peers/linkerd/inject_gettest_deployment.bad.input.yml#1']);

function corpusDocuments(): { id: string; value: unknown; parseError: boolean }[] {
  const dirs = [
    { dir: 'apps', ext: '.yaml' },
    { dir: 'peers/istio', ext: '.yaml' },
    { dir: 'peers/linkerd', ext: '.yml' },
  ];
  return dirs.flatMap(({ dir, ext }) =>
    readdirSync(join(CORPUS, dir))
      .filter((f) => f.endsWith(ext))
      .sort()
      .flatMap((file) =>
        parseAllDocuments(readFileSync(join(CORPUS, dir, file), 'utf8')).map((doc, i) => ({
          id: `${dir}/${file}#${i}`,
          parseError: doc.errors.length > 0,
          value: doc.errors.length > 0 ? undefined : doc.toJS(),
        })),
      ),
  );
}

describe('real manifests', () => {
  // Empty documents (a stray `---`) are no objects.
  const documents = corpusDocuments().filter((d) => d.parseError || (d.value !== null && d.value !== undefined));

  it('reads the whole corpus', () => {
    expect(documents.length).toBeGreaterThan(150);
    expect(new Set(documents.filter((d) => d.parseError).map((d) => d.id))).toEqual(UNPARSABLE);
  });

  it('validates clean, except the documents listed with their reasons', () => {
    let clean = 0;
    for (const { id, value, parseError } of documents) {
      if (parseError) continue;
      const result = validateKubernetesObject(value);
      expect(result.known, id).toBe(!UNKNOWN.has(id));
      const expected = NOT_CLEAN[id]?.paths ?? [];
      expect(result.issues.map((i) => i.path), `${id}: ${JSON.stringify(result.issues)}`).toEqual(expected);
      if (result.known && result.issues.length === 0) clean++;
    }
    const validated = documents.length - UNPARSABLE.size;
    const withIssues = Object.keys(NOT_CLEAN).length;
    console.info(`corpus: ${validated} objects, ${clean} clean, ${withIssues} with issues, ${UNKNOWN.size} unknown kind`);
    expect(clean).toBe(validated - Object.keys(NOT_CLEAN).length - UNKNOWN.size);
  });
});
