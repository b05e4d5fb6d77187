/**
 * Admin listener (127.0.0.1 by default): /metrics in Prometheus text format, /ready for the
 * readiness probe (503 before the listeners are bound and while draining), /live for liveness.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AdminHooks {
  ready(): boolean;
  metrics(): string;
}

export class AdminServer {
  private readonly server: http.Server;

  constructor(private readonly hooks: AdminHooks) {
    this.server = http.createServer({ maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) =>
      this.handle(req, res),
    );
    this.server.keepAliveTimeout = 5_000;
  }

  listen(address: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: address, port, exclusive: true }, () => {
        this.server.removeListener('error', reject);
        resolve();
      });
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
    switch (path) {
      case '/metrics':
        return send(res, 200, this.hooks.metrics(), 'text/plain; version=0.0.4; charset=utf-8');
      case '/ready':
        return this.hooks.ready() ? send(res, 200, 'ready\n') : send(res, 503, 'not ready\n');
      case '/live':
        return send(res, 200, 'live\n');
      default:
        return send(res, 404, 'not found\n');
    }
  }
}

function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}
