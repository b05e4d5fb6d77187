import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyConfig } from '../../src/proxy/config.js';
import { metrics, request, startBackend, startProxy, tempDir, waitFor, type Backend, type TestProxy } from './helpers/harness.js';
import { CLIENT_SPIFFE, createPki, SERVER_SPIFFE, type Pem, type Pki } from './helpers/pki.js';
import { SecretVolume } from './helpers/secret-volume.js';

let pki: Pki;
let volume: SecretVolume;
let backend: Backend;
let proxy: TestProxy;

beforeAll(async () => {
  pki = await createPki();
  volume = new SecretVolume(tempDir('sidecarctl-certs-'));
  volume.write({ 'tls.crt': pki.server.cert, 'tls.key': pki.server.key, 'ca.crt': pki.ca.cert });
  backend = await startBackend((req, res) => res.end(`hello ${String(req.headers['x-forwarded-proto'])}`));
});

afterAll(async () => {
  await backend?.close();
});

afterEach(async () => {
  await proxy?.close();
});

function inboundTls(mode: 'strict' | 'permissive', allowedPeers: string[] = [CLIENT_SPIFFE]): ProxyConfig {
  return {
    inbound: {
      port: 0,
      address: '127.0.0.1',
      target: { host: '127.0.0.1', port: backend.port },
      mtls: { mode, certFile: volume.path('tls.crt'), keyFile: volume.path('tls.key'), caFile: volume.path('ca.crt'), allowedPeers },
    },
    admin: { port: 0 },
    drainTimeoutMs: 500,
  };
}

interface TlsReply {
  status: number;
  body: string;
  serverCert: X509Certificate;
}

/** An HTTPS request with an optional client certificate; rejects on any TLS or socket error. */
function tlsRequest(port: number, client: Pem | null, ca = pki.ca.cert): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/', agent: false, ca, cert: client?.cert, key: client?.key, rejectUnauthorized: true },
      (res) => {
        let body = '';
        const serverCert = new X509Certificate((res.socket as TLSSocket).getPeerX509Certificate()!.raw);
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body, serverCert }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('inbound mTLS, strict', () => {
  it('accepts a client certificate from the CA whose SAN is allowed', async () => {
    proxy = await startProxy(inboundTls('strict'));
    const r = await tlsRequest(proxy.port('inbound'), pki.client);
    expect(r.status).toBe(200);
    expect(r.body).toBe('hello https');
  });

  it.each([
    ['no client certificate', () => null],
    ['a certificate from another CA', () => pki.clientWrongCa],
    ['an expired certificate', () => pki.clientExpired],
    ['a certificate whose SAN is not allowed', () => pki.clientWrongSan],
  ])('refuses %s', async (_name, pick) => {
    proxy = await startProxy(inboundTls('strict'));
    await expect(tlsRequest(proxy.port('inbound'), pick())).rejects.toThrow();
  });

  it('counts peers refused by the allow-list, and admits by DNS SAN or URI prefix', async () => {
    proxy = await startProxy(inboundTls('strict'));
    await expect(tlsRequest(proxy.port('inbound'), pki.clientWrongSan)).rejects.toThrow();
    const m = await metrics(proxy.adminUrl('/metrics'));
    expect(m.get('sidecarctl_proxy_tls_peers_rejected_total{listener="inbound"}')).toBe(1);
    await proxy.close();
    proxy = await startProxy(inboundTls('strict', ['spiffe://cluster.local/ns/other/*']));
    expect((await tlsRequest(proxy.port('inbound'), pki.clientWrongSan)).status).toBe(200);
    await expect(tlsRequest(proxy.port('inbound'), pki.client)).rejects.toThrow();
  });

  it('refuses plaintext HTTP', async () => {
    proxy = await startProxy(inboundTls('strict'));
    await expect(request(proxy.url('inbound'))).rejects.toThrow();
  });
});

describe('inbound mTLS, permissive', () => {
  it('serves plaintext and mutual TLS on the same port', async () => {
    proxy = await startProxy(inboundTls('permissive'));
    const port = proxy.port('inbound');
    const plain = await request(proxy.url('inbound'));
    expect(plain.status).toBe(200);
    expect(plain.body).toBe('hello http');
    const secure = await tlsRequest(port, pki.client);
    expect(secure.body).toBe('hello https');
    // TLS clients are still held to the mTLS rules.
    await expect(tlsRequest(port, null)).rejects.toThrow();
    // Keep-alive works on both kinds of connection.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 3; i++) expect((await request(proxy.url('inbound'), { agent })).status).toBe(200);
    agent.destroy();
  });
});

describe('TLS mode changes on reload', () => {
  it('switches off -> permissive -> strict on the same port without a restart', async () => {
    const config = inboundTls('strict');
    const off: ProxyConfig = { ...config, inbound: { ...config.inbound!, mtls: { mode: 'off' } } };
    proxy = await startProxy(off);
    const port = proxy.port('inbound');
    expect((await request(proxy.url('inbound'))).body).toBe('hello http');
    await expect(tlsRequest(port, pki.client)).rejects.toThrow();

    proxy.writeConfig(inboundTls('permissive'));
    const secure = await waitFor(() => tlsRequest(port, pki.client).catch(() => null), 5000, 'TLS after reload');
    expect(secure.body).toBe('hello https');
    expect((await request(proxy.url('inbound'))).body).toBe('hello http');

    proxy.writeConfig(inboundTls('strict'));
    await waitFor(() => request(proxy.url('inbound')).then(() => false, () => true), 5000, 'plaintext refused');
    expect((await tlsRequest(port, pki.client)).status).toBe(200);
    expect(proxy.port('inbound')).toBe(port);
  });
});

describe('certificate rotation', () => {
  it('serves a rotated server certificate to new connections without a restart', async () => {
    proxy = await startProxy(inboundTls('strict'));
    const port = proxy.port('inbound');
    const before = await tlsRequest(port, pki.client);
    const next = await pki.ca.issue({ cn: 'backend-rotated', ips: ['127.0.0.1'], dns: ['localhost'] });
    volume.write({ 'tls.crt': next.cert, 'tls.key': next.key, 'ca.crt': pki.ca.cert });
    try {
      const fingerprint = new X509Certificate(next.cert).fingerprint256;
      const after = await waitFor(async () => {
        const r = await tlsRequest(port, pki.client);
        return r.serverCert.fingerprint256 === fingerprint ? r : null;
      }, 5000, 'rotated certificate');
      expect(after.status).toBe(200);
      expect(before.serverCert.fingerprint256).not.toBe(fingerprint);
      const m = await metrics(proxy.adminUrl('/metrics'));
      expect(m.get('sidecarctl_proxy_certificate_reloads_total{result="ok"}')).toBeGreaterThanOrEqual(1);
    } finally {
      volume.write({ 'tls.crt': pki.server.cert, 'tls.key': pki.server.key, 'ca.crt': pki.ca.cert });
    }
  });

  it('keeps the old certificate when the new files do not match', async () => {
    proxy = await startProxy(inboundTls('strict'));
    const other = await pki.ca.issue({ cn: 'mismatch', ips: ['127.0.0.1'] });
    volume.write({ 'tls.crt': other.cert, 'tls.key': pki.server.key, 'ca.crt': pki.ca.cert });
    try {
      await waitFor(async () => (await metrics(proxy.adminUrl('/metrics'))).get('sidecarctl_proxy_certificate_reloads_total{result="failed"}'));
      const r = await tlsRequest(proxy.port('inbound'), pki.client);
      expect(r.serverCert.fingerprint256).toBe(new X509Certificate(pki.server.cert).fingerprint256);
    } finally {
      volume.write({ 'tls.crt': pki.server.cert, 'tls.key': pki.server.key, 'ca.crt': pki.ca.cert });
    }
  });
});

describe('outbound TLS origination', () => {
  let tlsBackend: https.Server;
  let tlsPort: number;
  const seenClients: string[] = [];
  let clientVolume: SecretVolume;

  beforeAll(async () => {
    tlsBackend = https.createServer(
      { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerX509Certificate();
        seenClients.push(peer?.fingerprint256 ?? 'none');
        res.end(`secure hello, ${peer?.subjectAltName}`);
      },
    );
    await new Promise<void>((r) => tlsBackend.listen(0, '127.0.0.1', r));
    tlsPort = (tlsBackend.address() as { port: number }).port;
    clientVolume = new SecretVolume(tempDir('sidecarctl-client-certs-'));
    clientVolume.write({ 'tls.crt': pki.client.cert, 'tls.key': pki.client.key, 'ca.crt': pki.ca.cert });
  });

  afterAll(() => {
    tlsBackend?.closeAllConnections();
    tlsBackend?.close();
  });

  const outbound = (tls: Record<string, unknown>): ProxyConfig => ({
    outbound: [
      {
        name: 'secure',
        port: 0,
        target: { host: '127.0.0.1', port: tlsPort },
        tls: { certFile: clientVolume.path('tls.crt'), keyFile: clientVolume.path('tls.key'), caFile: clientVolume.path('ca.crt'), ...tls },
      },
    ],
    admin: { port: 0 },
    drainTimeoutMs: 500,
  });

  it('presents the client certificate and verifies the server by name', async () => {
    proxy = await startProxy(outbound({ serverName: 'localhost' }));
    const r = await request(proxy.url('secure'));
    expect(r.status).toBe(200);
    expect(r.body).toBe(`secure hello, URI:${CLIENT_SPIFFE}`);
  });

  it('verifies the server by expected SAN, and refuses a server without it', async () => {
    proxy = await startProxy(outbound({ expectedSan: [SERVER_SPIFFE] }));
    expect((await request(proxy.url('secure'))).status).toBe(200);
    await proxy.close();
    proxy = await startProxy(outbound({ expectedSan: ['spiffe://cluster.local/ns/shop/sa/someone-else'] }));
    const refused = await request(proxy.url('secure'));
    expect(refused.status).toBe(503);
    expect(await waitFor(() => proxy.access()[0])).toMatchObject({ error: 'upstream-connect-failure' });
  });

  it('refuses a server whose certificate is not from the configured CA', async () => {
    const otherCaVolume = new SecretVolume(tempDir('sidecarctl-other-ca-'));
    otherCaVolume.write({ 'ca.crt': pki.otherCa.cert });
    proxy = await startProxy(outbound({ serverName: 'localhost', caFile: otherCaVolume.path('ca.crt') }));
    expect((await request(proxy.url('secure'))).status).toBe(503);
  });

  it('picks up a rotated client certificate without a restart', async () => {
    proxy = await startProxy(outbound({ serverName: 'localhost' }));
    expect((await request(proxy.url('secure'))).status).toBe(200);
    const next = await pki.ca.issue({ cn: 'frontend-2', uris: [CLIENT_SPIFFE], usage: 'client' });
    clientVolume.write({ 'tls.crt': next.cert, 'tls.key': next.key, 'ca.crt': pki.ca.cert });
    const fingerprint = new X509Certificate(next.cert).fingerprint256;
    await waitFor(async () => {
      await request(proxy.url('secure'));
      return seenClients.at(-1) === fingerprint;
    }, 5000, 'rotated client certificate');
  });
});
