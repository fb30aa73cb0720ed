// Interop: the real examples/socketio_echo binary driven by npm's
// socket.io-client (pinned in package-lock.json) over loopback.
//
// Run by ctest (label interop) as `node --test`, with SOCKETIO_ECHO set to
// the binary. One server per file on an ephemeral port; every wait is on an
// event with a deadline, never a sleep.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { npmPackage } from "../lib/needs.mjs";

const here = new URL(".", import.meta.url).pathname;
const { io } = npmPackage(here, "socket.io-client");
const WebSocket = npmPackage(here, "ws");

const BIN = process.env.SOCKETIO_ECHO;
let server;
let url;

function deadline(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

function next(emitter, event, ms = 5000) {
  return deadline(once(emitter, event), ms, event);
}

function client(nsp = "", opts = {}, base = url) {
  return io(base + nsp, { forceNew: true, reconnection: false, ...opts });
}

// Emits with an ack and resolves with every argument of the reply.
function ack(socket, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(5000).emit(...args, (err, ...reply) => (err ? reject(err) : resolve(reply)));
  });
}

async function connected(socket) {
  if (!socket.connected) await next(socket, "connect");
  return socket;
}

// Starts socketio_echo on an ephemeral loopback port; resolves with the
// process and its URL once it prints "listening on port N".
async function start_server(extra = []) {
  assert.ok(BIN, "SOCKETIO_ECHO must name the socketio_echo binary");
  const proc = spawn(BIN, ["--port", "0", "--host", "127.0.0.1", ...extra], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  const port = await deadline(
    new Promise((resolve, reject) => {
      proc.stdout.on("data", (d) => {
        out += d;
        const m = out.match(/listening on port (\d+)/);
        if (m) resolve(Number(m[1]));
      });
      proc.on("exit", (code) => reject(new Error(`server exited with ${code}`)));
    }),
    10000,
    "server start",
  );
  return { proc, url: `http://127.0.0.1:${port}` };
}

before(async () => {
  ({ proc: server, url } = await start_server());
});

after(() => {
  server?.kill("SIGTERM");
});

for (const [mode, opts] of [
  ["default", {}],
  ["websocket-only", { transports: ["websocket"] }],
  ["polling-only", { transports: ["polling"] }],
]) {
  test(`${mode}: auth event, events and acks both ways, binary both ways`, { timeout: 15000 }, async () => {
    const socket = client("", { ...opts, auth: { token: "123" } });
    const [auth] = await next(socket, "auth");
    assert.deepEqual(auth, { token: "123" });
    await connected(socket);
    assert.ok(socket.id);

    socket.emit("message", 1, "2", { 3: [true] });
    assert.deepEqual(await next(socket, "message-back"), [1, "2", { 3: [true] }]);

    const acked = await ack(socket, "message-with-ack", "a", { b: [null, 1.5] });
    assert.deepEqual(acked, ["a", { b: [null, 1.5] }]);

    const bytes = Uint8Array.from([1, 2, 3, 250]);
    socket.emit("message", bytes, { nested: Buffer.from([9, 8]) });
    const [b0, b1] = await next(socket, "message-back");
    assert.deepEqual([...new Uint8Array(b0)], [1, 2, 3, 250]);
    assert.deepEqual([...new Uint8Array(b1.nested)], [9, 8]);

    socket.on("question", (...args) => {
      const cb = args.pop();
      cb("reply", ...args, Buffer.from([7]));
    });
    socket.emit("ask", "q1", 2);
    const answer = await next(socket, "answer");
    assert.equal(answer[0], "reply");
    assert.deepEqual(answer.slice(1, 3), ["q1", 2]);
    assert.deepEqual([...new Uint8Array(answer[3])], [7]);

    if (mode === "default") {
      // The client starts on polling and upgrades to WebSocket.
      if (socket.io.engine.transport.name !== "websocket") await next(socket.io.engine, "upgrade");
      assert.equal(socket.io.engine.transport.name, "websocket");
      socket.emit("message", "after upgrade");
      assert.deepEqual(await next(socket, "message-back"), ["after upgrade"]);
    } else {
      assert.equal(socket.io.engine.transport.name, opts.transports[0]);
    }
    socket.disconnect();
  });
}

test("custom namespace gets its own auth event", { timeout: 10000 }, async () => {
  const socket = client("/custom", { auth: { token: "abc" } });
  const [auth] = await next(socket, "auth");
  assert.deepEqual(auth, { token: "abc" });
  socket.disconnect();
});

test("connect_error on rejected auth and on an unknown namespace", { timeout: 10000 }, async () => {
  const rejected = client("", { auth: { reject: true } });
  const [err] = await next(rejected, "connect_error");
  assert.equal(err.message, "rejected");
  assert.deepEqual(err.data, { reason: "test" });
  rejected.disconnect();

  const unknown = client("/random");
  const [err2] = await next(unknown, "connect_error");
  assert.equal(err2.message, "Invalid namespace");
  unknown.disconnect();
});

test("the client reconnects after the server drops its connection", { timeout: 15000 }, async () => {
  const socket = io(url, { forceNew: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
  await connected(socket);
  const firstId = socket.id;
  socket.emit("drop");
  const [reason] = await next(socket, "disconnect");
  // Not "io server disconnect", which would stop the client reconnecting.
  assert.ok(["transport close", "transport error", "ping timeout"].includes(reason), reason);
  await next(socket, "connect");
  assert.notEqual(socket.id, firstId);
  socket.emit("message", "back again");
  assert.deepEqual(await next(socket, "message-back"), ["back again"]);
  socket.disconnect();
});

test("a malformed packet closes only its own connection", { timeout: 10000 }, async () => {
  const good = await connected(client("", { transports: ["websocket"] }));
  const raw = new WebSocket(`${url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
  await next(raw, "message"); // Engine.IO open
  raw.send("40");
  await next(raw, "message"); // Socket.IO CONNECT reply
  const closed = next(raw, "close");
  raw.send("42{}"); // EVENT payload that is not an array
  await closed;
  assert.deepEqual(await ack(good, "message-with-ack", "ok", Buffer.from([1])), ["ok", Buffer.from([1])]);
  good.disconnect();
});

test("200 concurrent clients: acks and a room broadcast", { timeout: 30000 }, async () => {
  // Its own server with a relaxed heartbeat: the suite's 300/200 ms would
  // make this a test of the machine's load rather than of the server.
  const crowd = await start_server(["--ping-interval", "25000", "--ping-timeout", "20000"]);
  const n = 200;
  const sockets = Array.from({ length: n }, (_, i) =>
    client("", { transports: i % 10 === 0 ? ["polling"] : ["websocket"] }, crowd.url),
  );
  const reasons = [];
  for (const s of sockets) s.on("disconnect", (r) => reasons.push(r));
  try {
    await deadline(Promise.all(sockets.map(connected)), 20000, "200 connects");
    const ids = new Set(sockets.map((s) => s.id));
    assert.equal(ids.size, n);
    const joined = await deadline(Promise.all(sockets.map((s) => s.emitWithAck("join", "crowd"))), 10000, "joins");
    assert.ok(joined.every((j) => j === true), `joins ${JSON.stringify(joined)} ${reasons}`);

    const received = Promise.all(sockets.slice(1).map((s) => next(s, "room-message", 10000)));
    const reached = await deadline(sockets[0].emitWithAck("to-room", "crowd", { hello: "all" }), 5000, "to-room");
    assert.equal(reached, n - 1);
    for (const [payload] of await received) assert.deepEqual(payload, { hello: "all" });
  } finally {
    for (const s of sockets) s.disconnect();
    crowd.proc.kill("SIGTERM");
  }
});

// A raw WebSocket speaking Engine.IO v4 by hand, as the official protocol
// suite does: answers pings, queues every other message.
async function raw_socket() {
  const ws = new WebSocket(`${url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
  ws.binaryType = "nodebuffer";
  const queue = [];
  const waiters = [];
  ws.on("message", (data, isBinary) => {
    const m = isBinary ? [...data] : data.toString();
    if (m === "2") return ws.send("3");
    if (waiters.length) waiters.shift()(m);
    else queue.push(m);
  });
  ws.next = () =>
    deadline(new Promise((resolve) => (queue.length ? resolve(queue.shift()) : waiters.push(resolve))), 5000, "raw message");
  const open = await ws.next();
  assert.ok(open.startsWith("0{"), open);
  return ws;
}

test("official suite packets over a raw WebSocket", { timeout: 15000 }, async () => {
  const ws = await raw_socket();
  ws.send('40{"token":"123"}');
  assert.match(await ws.next(), /^40\{"sid":"[^"]+"\}$/);
  assert.equal(await ws.next(), '42["auth",{"token":"123"}]');

  ws.send("40/custom");
  assert.match(await ws.next(), /^40\/custom,\{"sid":"[^"]+"\}$/);
  assert.equal(await ws.next(), '42/custom,["auth",{}]');
  ws.send("41/custom");
  ws.send('42["message","message to main namespace"]');
  assert.equal(await ws.next(), '42["message-back","message to main namespace"]');

  ws.send("40/random");
  assert.equal(await ws.next(), '44/random,{"message":"Invalid namespace"}');

  ws.send('42456["message-with-ack",1,"2",{"3":[false]}]');
  assert.equal(await ws.next(), '43456[1,"2",{"3":[false]}]');

  ws.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
  ws.send(Uint8Array.from([1, 2, 3]));
  ws.send(Uint8Array.from([4, 5, 6]));
  assert.equal(await ws.next(), '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
  assert.deepEqual(await ws.next(), [1, 2, 3]);
  assert.deepEqual(await ws.next(), [4, 5, 6]);
  ws.close();

  for (const bad of ["4abc", "42{}", '42abc["message-with-ack",1]']) {
    const victim = await raw_socket();
    victim.send("40");
    await victim.next();
    await victim.next();
    const closed = next(victim, "close");
    victim.send(bad);
    await closed;
  }
});

test("a connection that never sends CONNECT is closed after connectTimeout", { timeout: 10000 }, async () => {
  const ws = await raw_socket();
  const started = Date.now();
  await next(ws, "close", 5000);
  assert.ok(Date.now() - started >= 900, "closed too early");
});
