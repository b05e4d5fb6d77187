/**
 * Where a workload's certificate comes from, for any proxy kind: a cert-manager Certificate we add
 * beside the workload (--mtls-issuer), or a kubernetes.io/tls Secret the user made (--mtls-secret, or
 * `sidecarctl certs` in development). Either way the proxy sees the same three files in a Secret
 * volume, which Kubernetes updates in place on renewal, so proxies that watch the directory rotate
 * without a restart.
 */
import { UserError } from '../../errors.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../../inject/status.js';
import { WORKLOAD_PLACEHOLDER } from '../../settings/options.js';
import type { Settings } from '../../settings/types.js';
import { isDnsSubdomain } from '../../units.js';
import type { Json, WorkloadContext } from '../types.js';
import { namespaceOf, workloadIdentity } from './identity.js';

export const MTLS_VOLUME = 'sidecarctl-mtls';
/** Not under /etc/sidecarctl: that is the ConfigMap's mount, and mounts may not nest in it. */
export const MTLS_MOUNT_PATH = '/var/run/sidecarctl/certs';
/** The key names of a kubernetes.io/tls Secret (and of the Secret cert-manager writes). */
export const CERT_KEY = 'tls.crt';
export const KEY_KEY = 'tls.key';
export const CA_KEY = 'ca.crt';
/** The Secret name `sidecarctl certs` writes and a Certificate asks for: `<workload>-sidecarctl-mtls`. */
export const DEFAULT_SECRET_SUFFIX = '-sidecarctl-mtls';
/**
 * Lifetime of issued certificates: short enough that a leaked key soon stops working, with three
 * days of margin so a cert-manager outage over a weekend does not expire the mesh.
 */
export const CERT_DURATION = '168h';
export const CERT_RENEW_BEFORE = '72h';
/**
 * World-readable inside the mount: the kubelet writes Secret files as root (group: the pod's fsGroup
 * if any), and the proxy runs as its own non-root user, so 0440 would lock it out. Only the proxy
 * container mounts this volume, which is what keeps the key from the app.
 */
export const SECRET_FILE_MODE = 0o444;

export interface CertificateSource {
  kind: 'issuer' | 'secret';
  /** The kubernetes.io/tls Secret the files come from. */
  secretName: string;
  /** The pod volume (a `secret` volume of that Secret). */
  volume: Json;
  /** The mount for the proxy container. */
  volumeMount: Json;
  mountPath: string;
  certFile: string;
  keyFile: string;
  caFile: string;
  /** The workload's SPIFFE identity, as in its certificate. */
  identity: string;
  /** Objects to add beside the workload: the cert-manager Certificate, when issuer. */
  objects: Json[];
  /** Lines for the report. */
  notes: string[];
}

/** Does this workload's proxy need a certificate: inbound mTLS, or mTLS to an upstream? */
export function needsCertificate(settings: Settings): boolean {
  return (settings.mtls !== 'off' || settings.upstreamMtls.length > 0) && (settings.mtlsIssuer !== undefined || settings.mtlsSecret !== undefined);
}

/** `--mtls-secret` with `{workload}` filled in, or the name a Certificate/`sidecarctl certs` uses. */
export function secretNameFor(workload: string, template = `${WORKLOAD_PLACEHOLDER}${DEFAULT_SECRET_SUFFIX}`): string {
  const name = template.replaceAll(WORKLOAD_PLACEHOLDER, workload);
  // The workload's own name is checked where it belongs (the API server refuses the workload itself);
  // what we add to it must not be what makes the name invalid.
  if (name.length > 253 || !isDnsSubdomain(template.replaceAll(WORKLOAD_PLACEHOLDER, 'w'))) {
    throw new UserError(`Secret name "${name}" (for workload "${workload}") is not a valid name: at most 253 lowercase letters, digits, "-" and "."`);
  }
  return name;
}

/** `clusterissuer/NAME` is a ClusterIssuer; `NAME` or `issuer/NAME` an Issuer of the workload's namespace. */
export function issuerRef(raw: string): { name: string; kind: 'Issuer' | 'ClusterIssuer'; group: 'cert-manager.io' } {
  const match = /^(clusterissuer|issuer)\/(.*)$/i.exec(raw);
  const kind = match && match[1]!.toLowerCase() === 'clusterissuer' ? 'ClusterIssuer' : 'Issuer';
  return { name: match ? match[2]! : raw, kind, group: 'cert-manager.io' };
}

function label(value: string): string {
  // Label values: at most 63 characters, starting and ending alphanumeric.
  return value.slice(0, 63).replace(/[^a-z0-9A-Z]+$/, '');
}

/** The cert-manager Certificate of a workload: its SPIFFE ID and its Services' DNS names. */
export function certificateFor(ctx: WorkloadContext, issuer: string, secretName: string): Json {
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY, 'sidecarctl.io/workload': label(ctx.name) };
  const dnsNames = [...new Set(ctx.serviceDnsNames ?? [])];
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: secretName, ...(ctx.namespace ? { namespace: ctx.namespace } : {}), labels },
    spec: {
      secretName,
      secretTemplate: { labels },
      duration: CERT_DURATION,
      renewBefore: CERT_RENEW_BEFORE,
      // A fresh key on every renewal: a key that leaked once stays useless after the next one.
      privateKey: { algorithm: 'ECDSA', size: 256, encoding: 'PKCS8', rotationPolicy: 'Always' },
      usages: ['digital signature', 'server auth', 'client auth'],
      uris: [workloadIdentity(ctx)],
      ...(dnsNames.length > 0 ? { dnsNames } : {}),
      issuerRef: issuerRef(issuer),
    },
  };
}

/** The certificate source of a workload; undefined when its proxy needs none. */
export function certificateSource(ctx: WorkloadContext): CertificateSource | undefined {
  const s = ctx.settings;
  if (!needsCertificate(s)) return undefined;
  const kind = s.mtlsIssuer !== undefined ? 'issuer' : 'secret';
  const secretName = kind === 'issuer' ? secretNameFor(ctx.name) : secretNameFor(ctx.name, s.mtlsSecret);
  const notes: string[] = [];
  if (!ctx.namespace) {
    notes.push(`warning: no metadata.namespace: its identity assumes namespace "${namespaceOf(ctx)}" (${workloadIdentity(ctx)}); set the namespace in the manifest`);
  }
  const objects = kind === 'issuer' ? [certificateFor(ctx, s.mtlsIssuer!, secretName)] : [];
  if (kind === 'issuer') notes.push(`Certificate/${secretName} from ${issuerRef(s.mtlsIssuer!).kind} ${issuerRef(s.mtlsIssuer!).name} (the issuer must put ca.crt into the Secret, as CA and Vault issuers do)`);
  else notes.push(`certificates from Secret/${secretName} (kubernetes.io/tls with ca.crt)`);
  return {
    kind,
    secretName,
    volume: { name: MTLS_VOLUME, secret: { secretName, defaultMode: SECRET_FILE_MODE } },
    volumeMount: { name: MTLS_VOLUME, mountPath: MTLS_MOUNT_PATH, readOnly: true },
    mountPath: MTLS_MOUNT_PATH,
    certFile: `${MTLS_MOUNT_PATH}/${CERT_KEY}`,
    keyFile: `${MTLS_MOUNT_PATH}/${KEY_KEY}`,
    caFile: `${MTLS_MOUNT_PATH}/${CA_KEY}`,
    identity: workloadIdentity(ctx),
    objects,
    notes,
  };
}
