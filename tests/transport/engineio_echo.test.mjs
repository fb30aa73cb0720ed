// Integration tests of the lws transport through the real engineio_echo
// binary: the checks the official Engine.IO protocol suite makes (handshake,
// error JSON, polling and WebSocket echo, upgrade, heartbeat) plus the bad
// inputs of issue 3 (oversized, malformed, floods, a client that never
// reads). Run by ctest: node engineio_echo.test.mjs with ECHO_BIN set.
// Every wait is on an event with a deadline; no sleeps.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { npmPackage } from '../lib/needs.mjs';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const interop = process.env.INTEROP_DIR ?? path.join(here, '..', 'interop');
const WebSocket = npmPackage(interop, 'ws');
const EioSocket = npmPackage(interop, 'engine.io-client').Socket;

const BIN = process.env.ECHO_BIN;
assert.ok(BIN, 'ECHO_BIN must name the engineio_echo binary');
const T = { timeout: 10000 };

let server;
let base;
let wsBase;
// The load tests run against a second server with a relaxed heartbeat: on
// a loaded CI machine a client busy for 200 ms would (rightly) miss a pong.
let relaxed;
let relaxedWs;

function startServer(args = []) {
  const proc = spawn(BIN, ['--port', '0', '--host', '127.0.0.1', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start')), 5000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, port: Number(m[1]) });
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

function stopServer(s) {
  return new Promise((resolve) => {
    if (s.proc.exitCode !== null) return resolve(s.proc.exitCode);
    s.proc.on('exit', (code) => resolve(code));
    s.proc.kill('SIGTERM');
  });
}

before(async () => {
  server = await startServer();
  base = `http://127.0.0.1:${server.port}/engine.io/`;
  wsBase = `ws://127.0.0.1:${server.port}/engine.io/`;
  relaxed = await startServer(['--ping-interval', '5000', '--ping-timeout', '5000']);
  relaxedWs = `ws://127.0.0.1:${relaxed.port}/engine.io/`;
});
after(async () => {
  // A clean exit on SIGTERM is part of the contract (stop() from a signal).
  assert.equal(await stopServer(server), 0);
  assert.equal(await stopServer(relaxed), 0);
});

// Races p against a deadline; the timer is cleared so it never holds the
// process open after the tests are done.
function withTimeout(p, ms, what) {
  let timer;
  const deadline = new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms); });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

async function req(method, query, body, headers = {}, url = base) {
  const res = await fetch(`${url}?${query}`, { method, body, headers });
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, text: buf.toString('latin1') };
}

async function handshake() {
  const r = await req('GET', 'EIO=4&transport=polling');
  assert.equal(r.status, 200);
  assert.equal(r.text[0], '0');
  return JSON.parse(r.text.slice(1));
}

// A raw WebSocket with an inbox: next() resolves with the next message.
function rawWs(query, url = wsBase) {
  const ws = new WebSocket(`${url}?${query}`);
  const inbox = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    const m = isBinary ? Buffer.from(data) : data.toString();
    const w = waiters.shift();
    if (w) w(m); else inbox.push(m);
  });
  ws.next = (ms = 3000) =>
    withTimeout(new Promise((resolve) => (inbox.length ? resolve(inbox.shift()) : waiters.push(resolve))), ms, 'ws message');
  ws.opened = withTimeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 3000, 'ws open');
  ws.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('error', () => {});
  return ws;
}

test('polling handshake has the fields and values the suite expects', T, async () => {
  const r = await req('GET', 'EIO=4&transport=polling');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; charset=UTF-8$/);
  const open = JSON.parse(r.text.slice(1));
  assert.equal(typeof open.sid, 'string');
  assert.ok(open.sid.length >= 16);
  assert.deepEqual(open.upgrades, ['websocket']);
  assert.equal(open.pingInterval, 300);
  assert.equal(open.pingTimeout, 200);
  assert.equal(open.maxPayload, 1000000);
});

test('websocket handshake sends the open packet with no upgrades', T, async () => {
  const ws = rawWs('EIO=4&transport=websocket');
  const first = await ws.next();
  assert.equal(first[0], '0');
  const open = JSON.parse(first.slice(1));
  assert.deepEqual(open.upgrades, []);
  assert.equal(open.pingInterval, 300);
  ws.close();
});

test('bad EIO, transport, sid and method give 400 with the engine.io error JSON', T, async () => {
  const cases = [
    ['GET', 'transport=polling', 5, 'Unsupported protocol version'],
    ['GET', 'EIO=abc&transport=polling', 5, 'Unsupported protocol version'],
    ['GET', 'EIO=3&transport=polling', 5, 'Unsupported protocol version'],
    ['GET', 'EIO=4&transport=abc', 0, 'Transport unknown'],
    ['GET', 'EIO=4', 0, 'Transport unknown'],
    ['GET', 'EIO=4&transport=polling&sid=nope', 1, 'Session ID unknown'],
    ['POST', 'EIO=4&transport=polling', 2, 'Bad handshake method'],
    ['PUT', 'EIO=4&transport=polling', 2, 'Bad handshake method'],
    ['GET', 'EIO=4&transport=websocket', 3, 'Bad request'],  // no Upgrade header
    ['GET', 'EIO=4&transport=websocket&sid=nope', 1, 'Session ID unknown'],
  ];
  for (const [method, query, code, message] of cases) {
    const r = await req(method, query, method === 'GET' ? undefined : '4x');
    assert.equal(r.status, 400, `${method} ${query}`);
    assert.deepEqual(JSON.parse(r.text), { code, message }, `${method} ${query}`);
  }
});

test('websocket with a bad EIO or transport is refused', T, async () => {
  for (const q of ['EIO=3&transport=websocket', 'EIO=4&transport=polling', 'transport=websocket', 'EIO=4&transport=websocket&sid=nope']) {
    const ws = rawWs(q);
    await assert.rejects(ws.opened, undefined, q);
  }
});

test('polling echoes text, binary and batches', T, async () => {
  const { sid } = await handshake();
  const post = await req('POST', `EIO=4&transport=polling&sid=${sid}`, '4hello\x1ebAQIDBA==\x1e4\u00e9t\u00e9');
  assert.equal(post.status, 200);
  assert.equal(post.text, 'ok');
  let got = '';
  for (let i = 0; i < 5 && got.split('\x1e').length < 3; i++) {
    const r = await req('GET', `EIO=4&transport=polling&sid=${sid}`);
    assert.equal(r.status, 200);
    got += (got ? '\x1e' : '') + Buffer.from(r.text, 'latin1').toString('utf8');
  }
  assert.equal(got, '4hello\x1ebAQIDBA==\x1e4\u00e9t\u00e9');
});

test('websocket echoes text and binary', T, async () => {
  const ws = rawWs('EIO=4&transport=websocket');
  await ws.next();
  ws.send('4hello');
  assert.equal(await ws.next(), '4hello');
  ws.send(Buffer.from([1, 2, 3, 4]));
  assert.deepEqual(await ws.next(), Buffer.from([1, 2, 3, 4]));
  ws.close();
});

// The server frames queued packets itself and writes them together: every
// length encoding (7, 16 and 64 bits) and a burst that leaves in one write.
test('websocket echoes every frame length and a burst, in order', T, async () => {
  const ws = rawWs('EIO=4&transport=websocket');
  await ws.next();
  const sizes = [0, 1, 124, 125, 126, 65534, 65535, 65536, 70000, 300000];
  for (const n of sizes) ws.send('4' + 'z'.repeat(n));
  for (const n of sizes) {
    let m = await ws.next();
    while (m === '2') { ws.send('3'); m = await ws.next(); }
    assert.equal(m.length, n + 1, `echo of ${n} bytes`);
    assert.equal(m, '4' + 'z'.repeat(n));
  }
  const bin = Buffer.alloc(70000, 7);
  ws.send(bin);
  let b = await ws.next();
  while (b === '2') { ws.send('3'); b = await ws.next(); }
  assert.deepEqual(b, bin);
  ws.close();
});

for (const transports of [['websocket'], ['polling'], ['polling', 'websocket']]) {
  test(`engine.io-client (${transports}) echoes text and binary`, T, async () => {
    const s = new EioSocket(`ws://127.0.0.1:${server.port}`, { path: '/engine.io/', transports });
    const got = [];
    const upgraded = transports.length > 1 ? new Promise((r) => s.once('upgrade', r)) : Promise.resolve();
    await withTimeout(new Promise((r) => s.once('open', r)), 3000, 'open');
    const done = new Promise((resolve) => s.on('message', (m) => { got.push(m); if (got.length === 2) resolve(); }));
    s.send('hi');
    s.send(new Uint8Array([7, 8, 9]));
    await withTimeout(done, 3000, 'echo');
    assert.equal(got[0], 'hi');
    assert.deepEqual([...new Uint8Array(got[1])], [7, 8, 9]);
    await withTimeout(upgraded, 3000, 'upgrade');
    assert.equal(s.transport.name, transports.at(-1));
    s.close();
  });
}

test('upgrade: 2probe/3probe, the held poll gets a noop, 5 switches, polling is refused after', T, async () => {
  const { sid } = await handshake();
  const held = req('GET', `EIO=4&transport=polling&sid=${sid}`);
  const ws = rawWs(`EIO=4&transport=websocket&sid=${sid}`);
  await ws.opened;
  ws.send('2probe');
  assert.equal(await ws.next(), '3probe');
  const poll = await withTimeout(held, 3000, 'held poll');
  assert.equal(poll.status, 200);
  assert.equal(poll.text, '6');
  ws.send('5');
  ws.send('4after');
  assert.equal(await ws.next(), '4after');
  const late = await req('GET', `EIO=4&transport=polling&sid=${sid}`);
  assert.equal(late.status, 400);
  // engine.io accepts the handshake and closes the socket at once.
  const again = rawWs(`EIO=4&transport=websocket&sid=${sid}`);
  assert.equal(await withTimeout(again.closed, 3000, 'second socket closed'), 1000);
  ws.close();
});

test('heartbeat over polling: ping after pingInterval, closed after pingTimeout without pong', T, async () => {
  const { sid } = await handshake();
  const t0 = Date.now();
  const ping = await req('GET', `EIO=4&transport=polling&sid=${sid}`);
  assert.equal(ping.text, '2');
  const tPing = Date.now();
  assert.ok(tPing - t0 >= 250, `ping came after ${tPing - t0} ms`);
  const last = await req('GET', `EIO=4&transport=polling&sid=${sid}`);
  assert.equal(last.text, '1');
  const waited = Date.now() - tPing;
  assert.ok(waited >= 150 && waited < 1500, `closed ${waited} ms after the ping`);
  const gone = await req('GET', `EIO=4&transport=polling&sid=${sid}`);
  assert.equal(gone.status, 400);
});

test('heartbeat over websocket: pong keeps it open, silence closes it', T, async () => {
  const ws = rawWs('EIO=4&transport=websocket');
  await ws.next();
  for (let i = 0; i < 3; i++) {
    assert.equal(await ws.next(1500), '2');
    ws.send('3');
  }
  assert.equal(await ws.next(1500), '2');
  const tPing = Date.now();
  await withTimeout(ws.closed, 2000, 'close after ping timeout');
  const waited = Date.now() - tPing;
  assert.ok(waited >= 150 && waited < 1500, `closed ${waited} ms after the ping`);
});

test('client close packet releases the held poll with a noop and ends the session', T, async () => {
  const { sid } = await handshake();
  const held = req('GET', `EIO=4&transport=polling&sid=${sid}`);
  const post = await req('POST', `EIO=4&transport=polling&sid=${sid}`, '1');
  assert.equal(post.status, 200);
  const poll = await withTimeout(held, 3000, 'held poll');
  assert.equal(poll.text, '6');
  assert.equal((await req('GET', `EIO=4&transport=polling&sid=${sid}`)).status, 400);
});

test('concurrent GETs on one sid: 400 and the session is closed', T, async () => {
  const { sid } = await handshake();
  const [a, b] = await Promise.all([
    req('GET', `EIO=4&transport=polling&sid=${sid}`),
    req('GET', `EIO=4&transport=polling&sid=${sid}`),
  ]);
  const statuses = [a.status, b.status].sort();
  assert.deepEqual(statuses, [200, 400]);
  assert.equal((a.status === 200 ? a : b).text, '1');
  assert.equal((await req('GET', `EIO=4&transport=polling&sid=${sid}`)).status, 400);
});

test('maxPayload: websocket over the limit is closed with 1009', T, async () => {
  const ws = rawWs('EIO=4&transport=websocket');
  await ws.next();
  ws.send('4' + 'x'.repeat(1000000));
  assert.equal(await withTimeout(ws.closed, 3000, 'close'), 1009);
});

test('maxPayload: polling POST over the limit gets 413', T, async () => {
  const { sid } = await handshake();
  const r = await req('POST', `EIO=4&transport=polling&sid=${sid}`, '4' + 'x'.repeat(1000001));
  assert.equal(r.status, 413);
});

test('malformed packets close only that connection', T, async () => {
  const good = rawWs('EIO=4&transport=websocket');
  await good.next();
  const bad = rawWs('EIO=4&transport=websocket');
  await bad.next();
  bad.send('9nonsense');
  await withTimeout(bad.closed, 3000, 'bad closed');
  const { sid } = await handshake();
  const r = await req('POST', `EIO=4&transport=polling&sid=${sid}`, 'zzz');
  assert.equal(r.status, 400);
  assert.equal((await req('GET', `EIO=4&transport=polling&sid=${sid}`)).status, 400);
  good.send('4still here');
  assert.equal(await good.next(), '4still here');
  good.close();
});

test('a flood of tiny packets is served in order (websocket and polling)', T, async () => {
  const ws = rawWs('EIO=4&transport=websocket', relaxedWs);
  await ws.next();
  const n = 20000;
  // Batches with a yield between them: a client that blocks its own event
  // loop longer than pingTimeout cannot pong, and is rightly dropped.
  const sending = (async () => {
    for (let b = 0; b < n; b += 500) {
      for (let i = b; i < b + 500; i++) ws.send(`4${i}`);
      await new Promise((r) => setImmediate(r));
    }
  })();
  for (let i = 0; i < n; i++) {
    let m = await ws.next();
    while (m === '2') { ws.send('3'); m = await ws.next(); }
    assert.equal(m, `4${i}`);
  }
  await sending;
  ws.close();
  const relaxedHttp = `http://127.0.0.1:${relaxed.port}/engine.io/`;
  const open = await req('GET', 'EIO=4&transport=polling', undefined, {}, relaxedHttp);
  const { sid } = JSON.parse(open.text.slice(1));
  const body = Array.from({ length: 5000 }, (_, i) => `4${i}`).join('\x1e');
  assert.equal((await req('POST', `EIO=4&transport=polling&sid=${sid}`, body, {}, relaxedHttp)).status, 200);
  const r = await req('GET', `EIO=4&transport=polling&sid=${sid}`, undefined, {}, relaxedHttp);
  // No assert.equal on 30 kB strings: a failure report should stay readable.
  assert.ok(r.text === body, `polling echo differs: ${r.text.length} bytes, starts ${JSON.stringify(r.text.slice(0, 40))}`);
});

test('a client that never reads is closed once its queue passes the cap; others keep being served', { timeout: 30000 }, async () => {
  const slow = rawWs('EIO=4&transport=websocket', relaxedWs);
  await slow.next();
  slow._socket.pause();  // stop reading: the server's writes back up
  const other = rawWs('EIO=4&transport=websocket', relaxedWs);
  await other.next();
  const chunk = '4' + 'y'.repeat(100000);
  let closed = false;
  slow.closed.then(() => { closed = true; });
  // 40 MB at most: far past kernel buffers plus the 4 MiB default cap.
  for (let i = 0; i < 400 && !closed; i++) {
    slow.send(chunk);
    if (i % 50 === 0) {
      other.send(`4ping${i}`);
      let m = await other.next();
      while (m === '2') { other.send('3'); m = await other.next(); }
      assert.equal(m, `4ping${i}`);
      await new Promise((r) => slow._socket.write('', r));  // let the send buffer drain to the server
    }
  }
  slow._socket.resume();
  await withTimeout(slow.closed, 10000, 'slow client closed');
  other.send('4after');
  let m = await other.next();
  while (m === '2') { other.send('3'); m = await other.next(); }
  assert.equal(m, '4after');
  other.close();
});

// The example allows origin "*": any page may read, never with credentials
// (a "*" that echoed the origin with credentials would let every site act
// with the user's cookies).
test('CORS: "*" lets any origin read polling answers, without credentials; OPTIONS preflight answered', T, async () => {
  const r = await req('GET', 'EIO=4&transport=polling', undefined, { origin: 'http://example.test' });
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  assert.equal(r.headers.get('access-control-allow-credentials'), null);
  const pre = await fetch(`${base}?EIO=4&transport=polling`, {
    method: 'OPTIONS',
    headers: { origin: 'http://example.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), '*');
  assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
});

// The official suites, run in a browser, send a PUT handshake and expect to
// read its 400: the preflight must allow PUT (as the reference server does).
test('CORS: preflight allows PUT, so a browser sees the 400 of a PUT handshake', T, async () => {
  const pre = await fetch(`${base}?EIO=4&transport=polling`, {
    method: 'OPTIONS',
    headers: { origin: 'http://example.test', 'access-control-request-method': 'PUT' },
  });
  assert.equal(pre.status, 204);
  assert.match(pre.headers.get('access-control-allow-methods'), /\bPUT\b/);
  const r = await req('PUT', 'EIO=4&transport=polling', undefined, { origin: 'http://example.test' });
  assert.equal(r.status, 400);
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
});
