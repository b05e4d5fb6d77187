/**
 * Test certificates made with @peculiar/x509: a CA, a server certificate and client certificates
 * (valid, signed by another CA, with an unexpected SAN, expired). EC P-256 keeps it fast.
 */
import '../../../src/certs/reflect-shim.js';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface Pem {
  cert: string;
  key: string;
}

export interface CertAuthority extends Pem {
  name: string;
  issue(opts: LeafOptions): Promise<Pem>;
}

export interface LeafOptions {
  cn: string;
  dns?: string[];
  uris?: string[];
  ips?: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** server (serverAuth) or client (clientAuth) certificate; both by default. */
  usage?: 'server' | 'client' | 'both';
}

let serial = 1;

function nextSerial(): string {
  return (serial++).toString(16).padStart(4, '0') + Date.now().toString(16);
}

async function pemKey(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

export async function createCa(name: string): Promise<CertAuthority> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const ca: CertAuthority = {
    name,
    cert: cert.toString('pem'),
    key: await pemKey(keys.privateKey),
    issue: async (opts) => {
      const leafKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
      const sans: x509.JsonGeneralName[] = [
        ...(opts.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
        ...(opts.uris ?? []).map((value) => ({ type: 'url' as const, value })),
        ...(opts.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
      ];
      const usages =
        opts.usage === 'server'
          ? [x509.ExtendedKeyUsage.serverAuth]
          : opts.usage === 'client'
            ? [x509.ExtendedKeyUsage.clientAuth]
            : [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: nextSerial(),
        subject: `CN=${opts.cn}`,
        issuer: cert.subject,
        notBefore: opts.notBefore ?? new Date(Date.now() - DAY),
        notAfter: opts.notAfter ?? new Date(Date.now() + 10 * DAY),
        signingKey: keys.privateKey,
        publicKey: leafKeys.publicKey,
        signingAlgorithm: ALG,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
          new x509.ExtendedKeyUsageExtension(usages),
          new x509.SubjectAlternativeNameExtension(sans),
          await x509.AuthorityKeyIdentifierExtension.create(cert),
        ],
      });
      return { cert: leaf.toString('pem'), key: await pemKey(leafKeys.privateKey) };
    },
  };
  return ca;
}

export interface Pki {
  ca: CertAuthority;
  otherCa: CertAuthority;
  server: Pem;
  /** Client certificate with SAN URI spiffe://cluster.local/ns/shop/sa/frontend. */
  client: Pem;
  /** Signed by otherCa. */
  clientWrongCa: Pem;
  /** Valid, but SAN spiffe://cluster.local/ns/other/sa/intruder. */
  clientWrongSan: Pem;
  clientExpired: Pem;
}

export const CLIENT_SPIFFE = 'spiffe://cluster.local/ns/shop/sa/frontend';
export const SERVER_SPIFFE = 'spiffe://cluster.local/ns/shop/sa/backend';

export async function createPki(): Promise<Pki> {
  const ca = await createCa('sidecarctl test CA');
  const otherCa = await createCa('some other CA');
  const [server, client, clientWrongCa, clientWrongSan, clientExpired] = await Promise.all([
    ca.issue({ cn: 'backend', dns: ['localhost', 'backend.shop.svc'], ips: ['127.0.0.1'], uris: [SERVER_SPIFFE] }),
    ca.issue({ cn: 'frontend', uris: [CLIENT_SPIFFE], usage: 'client' }),
    otherCa.issue({ cn: 'frontend', uris: [CLIENT_SPIFFE], usage: 'client' }),
    ca.issue({ cn: 'intruder', uris: ['spiffe://cluster.local/ns/other/sa/intruder'], usage: 'client' }),
    ca.issue({
      cn: 'frontend',
      uris: [CLIENT_SPIFFE],
      usage: 'client',
      notBefore: new Date(Date.now() - 20 * DAY),
      notAfter: new Date(Date.now() - 10 * DAY),
    }),
  ]);
  return { ca, otherCa, server, client, clientWrongCa, clientWrongSan, clientExpired };
}
