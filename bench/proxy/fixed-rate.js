// Fixed-rate HTTP/1.1 load generator (wrk2 is not packaged in Debian; h2load has no percentiles).
//   node bench/proxy/fixed-rate.js URL RPS SECONDS [CONNECTIONS] [WARMUP_SECONDS]
//
// Requests go out on a fixed schedule (not one after the other) over keep-alive connections, so a
// stall of the server shows up as many slow requests instead of silently lowering the rate.
// Latency is measured from the actual send time: node timers have ~1 ms resolution, so measuring
// from the scheduled time would add generator jitter to every target alike; `lateMs` reports how
// far behind schedule the generator ran. Raw sockets and a minimal response parser (the bench
// backend always answers with Content-Length) keep the generator's own overhead and GC noise low.
// Prints one JSON object on stdout.
import net from 'node:net';

const [url, rpsArg, secondsArg, connArg = '32', warmupArg = '1'] = process.argv.slice(2);
const { hostname, port, pathname } = new URL(url);
const rps = Number(rpsArg);
const total = Math.round(rps * (Number(secondsArg) + Number(warmupArg)));
const skip = Math.round(rps * Number(warmupArg));
const intervalNs = 1e9 / rps;
const request = Buffer.from(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
const latencies = new Float64Array(total);
let measured = 0;
let errors = 0;
let done = 0;
let next = 0;
let lateMs = 0;
const idle = [];
const backlog = [];
const start = process.hrtime.bigint();

function connection() {
  const socket = net.connect(Number(port), hostname);
  socket.setNoDelay(true);
  const c = { socket, pending: Buffer.alloc(0), current: -1, sent: 0n };
  socket.on('connect', () => release(c));
  socket.on('data', (chunk) => {
    c.pending = c.pending.length ? Buffer.concat([c.pending, chunk]) : chunk;
    const end = c.pending.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = c.pending.toString('latin1', 0, end);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? -1);
    if (length < 0 || c.pending.length < end + 4 + length) {
      if (length < 0) errors++;
      return;
    }
    c.pending = c.pending.subarray(end + 4 + length);
    if (c.current >= skip) {
      latencies[measured++] = Number(process.hrtime.bigint() - c.sent) / 1e6;
      if (!head.startsWith('HTTP/1.1 200')) errors++;
    }
    c.current = -1;
    finish();
    release(c);
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    // The server closed the connection: a request in flight on it is lost; open another one.
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    if (c.current >= 0) {
      if (c.current >= skip) errors++;
      c.current = -1;
      finish();
    }
    if (done < total) connection();
  });
}

function release(c) {
  const i = backlog.shift();
  if (i === undefined) idle.push(c);
  else send(c, i);
}

function send(c, i) {
  c.current = i;
  c.sent = process.hrtime.bigint();
  c.socket.write(request);
}

function finish() {
  if (++done === total) report();
}

function tick() {
  const now = process.hrtime.bigint();
  while (next < total) {
    const due = start + BigInt(Math.round(next * intervalNs));
    if (due > now) break;
    if (next >= skip) lateMs = Math.max(lateMs, Number(now - due) / 1e6);
    const c = idle.pop();
    if (c) send(c, next);
    else backlog.push(next);
    next++;
  }
  if (next < total) {
    const wait = Number(start + BigInt(Math.round(next * intervalNs)) - process.hrtime.bigint()) / 1e6;
    setTimeout(tick, Math.max(0, wait - 0.2));
  }
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function report() {
  const s = Array.from(latencies.subarray(0, measured)).sort((a, b) => a - b);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(
    `${JSON.stringify({ requests: s.length, errors, achievedRps: total / elapsed, p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), p999: pct(s, 99.9), max: s[s.length - 1], lateMs })}\n`,
  );
  process.exit(0);
}

for (let i = 0; i < Number(connArg); i++) connection();
setTimeout(tick, 100); // let the connections open first
