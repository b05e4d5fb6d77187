/**
 * A gRPC app and client on @grpc/grpc-js, on raw bytes (no .proto): unary, server-streaming,
 * client-streaming and bidirectional echo methods, for the proxy's HTTP/2 and gRPC tests.
 */
import * as grpc from '@grpc/grpc-js';

const same = (b: Buffer) => b;
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: same,
  requestDeserialize: same,
  responseSerialize: same,
  responseDeserialize: same,
});
/** A service on raw bytes (no .proto needed): what the proxy sees is the same. */
export const ECHO = {
  unary: method('Unary', false, false),
  serverStream: method('ServerStream', false, true),
  clientStream: method('ClientStream', true, false),
  bidi: method('Bidi', true, true),
} satisfies grpc.ServiceDefinition;
export const EchoClient = grpc.makeGenericClientConstructor(ECHO, 'Echo');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- grpc-js types generic clients' methods loosely
export type Method = (...args: any[]) => any;
export type Echo = InstanceType<typeof EchoClient> & { unary: Method; serverStream: Method; clientStream: Method; bidi: Method };

const BIG = 16 * 1024 * 1024;
const CHANNEL = { 'grpc.max_receive_message_length': BIG, 'grpc.max_send_message_length': BIG };

export interface GrpcApp {
  port: number;
  calls: number;
  /** Unary calls fail with this status this many more times. */
  failNext: { code: grpc.status; times: number };
  cancelled: number;
  close(): Promise<void>;
}

export async function startGrpcApp(): Promise<GrpcApp> {
  const server = new grpc.Server(CHANNEL);
  const app: GrpcApp = { port: 0, calls: 0, failNext: { code: grpc.status.OK, times: 0 }, cancelled: 0, close: async () => {} };
  server.addService(ECHO, {
    unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      app.calls++;
      if (app.failNext.times > 0) {
        app.failNext.times--;
        return cb({ code: app.failNext.code, details: 'try again' });
      }
      const text = call.request.toString();
      if (text.startsWith('sleep:')) {
        setTimeout(() => cb(null, Buffer.from('late')), Number(text.slice(6)));
        return;
      }
      const trailer = new grpc.Metadata();
      trailer.set('x-app-trailer', 'kept');
      cb(null, call.request, trailer);
    },
    serverStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      app.calls++;
      const n = Number(call.request.toString());
      let i = 0;
      call.on('cancelled', () => app.cancelled++);
      const tick = () => {
        if (call.cancelled) return;
        if (i === n) return call.end();
        call.write(Buffer.from(`msg ${i++}`));
        setTimeout(tick, n > 10 ? 20 : 1);
      };
      tick();
    },
    clientStream: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      app.calls++;
      let total = 0;
      call.on('data', (b: Buffer) => (total += b.length));
      call.on('end', () => cb(null, Buffer.from(String(total))));
    },
    bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      app.calls++;
      call.on('data', (b: Buffer) => call.write(Buffer.from(`echo ${b.toString()}`)));
      call.on('end', () => call.end());
    },
  });
  app.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  app.close = () => new Promise((r) => server.tryShutdown(() => r()));
  return app;
}

export function client(port: number, creds = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}): Echo {
  return new EchoClient(`127.0.0.1:${port}`, creds, { ...CHANNEL, ...options }) as Echo;
}

export function unary(c: Echo, body: string | Buffer, options: grpc.CallOptions = {}): Promise<{ reply?: Buffer; error?: grpc.ServiceError; trailers?: grpc.Metadata }> {
  return new Promise((resolve) => {
    let trailers: grpc.Metadata | undefined;
    const call = c.unary(Buffer.from(body), new grpc.Metadata(), options, (error: grpc.ServiceError | null, reply?: Buffer) =>
      // 'status' comes just before or after the callback: wait a tick for it.
      setImmediate(() => resolve(error ? { error, trailers } : { reply, trailers })),
    ) as grpc.ClientUnaryCall;
    call.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
  });
}

