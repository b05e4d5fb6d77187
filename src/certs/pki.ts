/**
 * A development CA and workload certificates (X.509-SVIDs: one SPIFFE URI SAN, plus DNS names),
 * made with @peculiar/x509 over Node's WebCrypto. No crypto of our own: we only choose the fields.
 * EC P-256 keys: small, fast to make, and accepted by Envoy, Node and every mainstream TLS stack.
 */
import './reflect-shim.js';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Certificates start a little in the past, so a node whose clock runs behind accepts them too. */
const BACKDATE_MS = 5 * 60_000;

export const CA_NAME = 'CN=sidecarctl development CA (not for production),O=sidecarctl';

export interface PemPair {
  cert: string;
  key: string;
}

export interface DevCa extends PemPair {
  certificate: x509.X509Certificate;
  privateKey: webcrypto.CryptoKey;
}

export interface LeafRequest {
  /** The SPIFFE ID: the certificate's only URI SAN. */
  identity: string;
  dnsNames: string[];
  /** Subject common name, for people reading the certificate (clients go by the SANs). */
  commonName: string;
  days: number;
}

type KeyPair = { publicKey: webcrypto.CryptoKey; privateKey: webcrypto.CryptoKey };

async function newKeyPair(): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as KeyPair;
}

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** A self-signed CA that may sign leaf certificates only (path length 0). */
export async function createDevCa(days: number, now = new Date()): Promise<DevCa> {
  const keys = await newKeyPair();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: CA_NAME,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    // A day longer than its leaves, so none outlives the CA that vouches for it.
    notAfter: new Date(now.getTime() + (days + 1) * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate, privateKey: keys.privateKey, cert: certificate.toString('pem'), key: await pkcs8Pem(keys.privateKey) };
}

/** `CN=` value escaped for an X.500 name string, within the 64-character limit. */
function commonName(text: string): string {
  return text.slice(0, 64).replace(/([,+"\\<>;=#])/g, '\\$1');
}

/** A workload certificate for both ends of mTLS: server auth (inbound) and client auth (outbound). */
export async function issueLeaf(ca: DevCa, request: LeafRequest, now = new Date()): Promise<PemPair> {
  const keys = await newKeyPair();
  const names: x509.JsonGeneralName[] = [{ type: 'url', value: request.identity }, ...request.dnsNames.map((value) => ({ type: 'dns' as const, value }))];
  const certificate = await x509.X509CertificateGenerator.create({
    subject: `CN=${commonName(request.commonName)}`,
    issuer: ca.certificate.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + request.days * DAY_MS),
    signingKey: ca.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      // ECDSA keys sign; they never encipher keys, so digitalSignature alone (as X.509-SVIDs require).
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
    ],
  });
  return { cert: certificate.toString('pem'), key: await pkcs8Pem(keys.privateKey) };
}
