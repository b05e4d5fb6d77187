/**
 * WebSocket and other `Connection: Upgrade` requests: the handshake is forwarded as HTTP, and once
 * the upstream answers 101 the two sockets are piped to each other as raw bytes.
 *
 * Each upgrade gets its own upstream connection (an upgraded connection can never go back to a
 * keep-alive pool). Rate limiting and an open circuit apply as for other requests; the tunnel is
 * closed after `idleMs` without traffic in either direction.
 */
import { STATUS_CODES, type ClientRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { responseHeaders, scanRequestHeaders, type RequestHead } from './headers.js';
import type { InboundRequest, ListenerState } from './forward.js';

export function handleUpgrade(state: ListenerState, req: InboundRequest, client: Duplex, head: Buffer): void {
  const route = state.route;
  const config = route.config;
  const startedAt = performance.now();
  const socket = req.socket as TLSSocket;
  const info: RequestHead = { upstreamHeaders: [], contentLength: -1, chunked: false, requestId: '', retryOptIn: false, duplicateHost: false };
  scanRequestHeaders(req.rawHeaders, info, socket.remoteAddress ?? '', socket.encrypted ? 'https' : 'http', config.hostRewrite, route.defaultHost, true);

  let status = 0;
  let error: string | null = null;
  let bytesReceived = 0;
  let bytesSent = 0;
  let logged = false;
  const log = () => {
    if (logged) return;
    logged = true;
    const durationMs = performance.now() - startedAt;
    route.upstream.metrics.observe(status || 499, durationMs / 1000);
    state.accessLog.write({
      listener: state.name,
      method: req.method!,
      path: req.url!,
      status: status || 499,
      bytesReceived,
      bytesSent,
      durationMs,
      upstream: route.upstream.id,
      attempts: 1,
      requestId: info.requestId,
      error,
    });
  };
  const reject = (code: number, reason: string, extra = '') => {
    status = code;
    error = reason;
    if (client.writable) {
      const response = `HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\nconnection: close\r\ncontent-length: ${reason.length + 1}\r\n${extra}\r\n${reason}\n`;
      client.end(response, () => client.destroy());
    } else {
      client.destroy();
    }
    log();
  };
  client.on('error', () => {}); // errors end in 'close', handled below

  if (req.url!.charCodeAt(0) !== 0x2f) return reject(400, 'absolute-form-rejected');
  if (info.duplicateHost) return reject(400, 'duplicate-host');
  if (info.contentLength > 0 || info.chunked) return reject(400, 'upgrade-with-body');
  if (route.limiter !== null) {
    const retryAfter = route.limiter.take(startedAt);
    if (retryAfter > 0) {
      state.metrics.rateLimited++;
      return reject(429, 'rate-limited', `retry-after: ${retryAfter}\r\n`);
    }
  }
  if (route.upstream.breaker.isOpen()) return reject(503, 'circuit-open', 'x-sidecarctl-overflow: circuit-open\r\n');

  const upstream = route.upstream;
  let upReq: ClientRequest;
  try {
    upReq = upstream.upgradeRequest(req.method!, req.url!, info.upstreamHeaders);
  } catch {
    return reject(502, 'upstream-request-invalid');
  }
  const timer = setTimeout(() => {
    upReq.destroy();
    reject(504, 'upstream-timeout');
  }, config.timeouts.requestMs);

  client.on('close', () => {
    clearTimeout(timer);
    upReq.destroy();
    if (status === 0) error = 'client-closed';
    log();
  });

  upReq.on('error', () => {
    clearTimeout(timer);
    if (status === 0) reject(502, 'upstream-connect-failure');
    else client.destroy();
  });

  upReq.on('response', (upRes) => {
    // The upstream declined the upgrade: relay its answer, then close.
    clearTimeout(timer);
    status = upRes.statusCode!;
    client.write(rawHead(status, responseHeaders(upRes.rawHeaders, false, true)));
    upRes.on('data', (chunk: Buffer) => {
      bytesSent += chunk.length;
    });
    upRes.pipe(client);
  });

  upReq.on('upgrade', (upRes, upSocket: Duplex, upHead: Buffer) => {
    clearTimeout(timer);
    status = upRes.statusCode!;
    if (!client.writable) {
      upSocket.destroy();
      return;
    }
    client.write(rawHead(status, responseHeaders(upRes.rawHeaders, true, false)));
    if (upHead.length > 0) client.write(upHead);
    if (head.length > 0) upSocket.write(head);
    tunnel(client, upSocket, config.timeouts.idleMs, (n) => (bytesReceived += n), (n) => (bytesSent += n));
  });
  upReq.end();
}

/** Pipes two sockets into each other; either side closing or idling closes both. */
function tunnel(a: Duplex, b: Duplex, idleMs: number, countAtoB: (n: number) => void, countBtoA: (n: number) => void): void {
  const closeBoth = () => {
    a.destroy();
    b.destroy();
  };
  for (const s of [a, b]) {
    s.on('error', closeBoth);
    s.on('close', closeBoth);
    (s as Duplex & { setTimeout?: (ms: number, cb: () => void) => void }).setTimeout?.(idleMs, closeBoth);
  }
  a.on('data', (chunk: Buffer) => countAtoB(chunk.length));
  b.on('data', (chunk: Buffer) => countBtoA(chunk.length));
  a.pipe(b);
  b.pipe(a);
}

function rawHead(status: number, headers: string[]): string {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n`;
}
