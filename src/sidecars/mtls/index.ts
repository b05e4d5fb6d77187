/** mTLS pieces shared by every proxy kind: the certificate source of a workload and identities. */
export {
  certificateFor,
  certificateSource,
  issuerRef,
  needsCertificate,
  secretNameFor,
  CA_KEY,
  CERT_KEY,
  DEFAULT_SECRET_SUFFIX,
  KEY_KEY,
  MTLS_MOUNT_PATH,
  MTLS_VOLUME,
  type CertificateSource,
} from './source.js';
export { namespaceOf, peerIdentities, serviceDnsNames, spiffeId, trustDomainPrefix, upstreamIdentity, workloadIdentity } from './identity.js';
