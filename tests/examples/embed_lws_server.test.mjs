// examples/embed_lws_server as its users meet it: the real binary on an
// ephemeral loopback port, its own routes called with fetch(), the chat
// through the real socket.io-client (tests/interop's pinned copy, through
// the e2e harness), a real SQLite file across a restart, and SIGTERM ending
// it with exit 0. Registered in examples/CMakeLists.txt
// (example.embed_lws_server); EMBED_LWS_SERVER names the binary.
//
// Every wait is on something the server sends, bounded by a deadline.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { io, deadline, tempDir, WAIT_MS } from "../e2e/lib/harness.mjs";

const BIN = process.env.EMBED_LWS_SERVER;

const running = new Set();
process.on("exit", () => {
  for (const p of running) p.kill("SIGKILL");
});

// Starts the example; resolves once it prints the port it listens on.
async function start(args = []) {
  if (!BIN) throw new Error("EMBED_LWS_SERVER must name the embed_lws_server binary");
  const proc = spawn(BIN, ["--host", "127.0.0.1", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  running.add(proc);
  let stdout = "";
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => proc.on("close", (code, signal) => {
    running.delete(proc);
    resolve({ code, signal });
  }));
  const port = await deadline(new Promise((resolve, reject) => {
    proc.stdout.on("data", (d) => {
      stdout += d;
      const m = stdout.match(/listening on port (\d+)\n/);
      if (m) resolve(Number(m[1]));
    });
    exited.then(({ code }) => reject(new Error(`exited with ${code} before listening:\n${stderr}`)));
  }), 15000, "embed_lws_server to listen").catch((e) => {
    proc.kill("SIGKILL");
    throw e;
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stdout: () => stdout,
    stderr: () => stderr,
    // SIGTERM, then the exit status.
    async stop() {
      proc.kill("SIGTERM");
      return deadline(exited, 15000, "embed_lws_server to stop after SIGTERM").catch((e) => {
        proc.kill("SIGKILL");
        throw e;
      });
    },
  };
}

async function http(server, method, path, { body, token } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await deadline(fetch(server.url + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  }), WAIT_MS, `${method} ${path}`);
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, body: json, text };
}

async function login(server, user, name = user) {
  const r = await http(server, "POST", "/api/login", { body: { user, name } });
  assert.equal(r.status, 200, r.text);
  assert.equal(typeof r.body.token, "string");
  return r.body.token;
}

const sockets = [];
after(() => {
  for (const s of sockets) s.close();
});

// A connected socket, or the connect_error that refused it.
function connect(server, token, transports = ["websocket"]) {
  const socket = io(server.url, { forceNew: true, reconnection: false, transports, auth: { token } });
  sockets.push(socket);
  return deadline(new Promise((resolve) => {
    socket.once("connect", () => resolve({ socket }));
    socket.once("connect_error", (error) => resolve({ socket, error }));
  }), WAIT_MS, "connect");
}

async function connected(server, token, transports) {
  const { socket, error } = await connect(server, token, transports);
  assert.equal(error, undefined, `refused: ${error?.message}`);
  return socket;
}

function ack(socket, event, payload) {
  return socket.timeout(WAIT_MS).emitWithAck(event, payload);
}

// The next `event` whose payload satisfies `pred`.
function next(socket, event, pred = () => true) {
  return deadline(new Promise((resolve) => {
    const on = (payload) => {
      if (!pred(payload)) return;
      socket.off(event, on);
      resolve(payload);
    };
    socket.on(event, on);
  }), WAIT_MS, `${event} on ${socket.id}`);
}

test("the service's own routes and the chat share one port, and SIGTERM ends it with 0", async () => {
  const server = await start();

  const hello = await http(server, "GET", "/api/hello");
  assert.equal(hello.status, 200, hello.text);
  assert.deepEqual(hello.body, { hello: "world", chatConnections: 0 });
  assert.equal((await http(server, "GET", "/api/nothing-here")).status, 404);

  const bad = await http(server, "POST", "/api/login", { body: { user: "not a user id" } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, "bad_request");
  const annToken = await login(server, "ann", "Ann");
  const bobToken = await login(server, "bob", "Bob");

  // Ann comes through long-polling and upgrades; Bob straight over WebSocket.
  const ann = await connected(server, annToken, ["polling", "websocket"]);
  const bob = await connected(server, bobToken);
  assert.equal((await http(server, "GET", "/api/hello")).body.chatConnections, 2,
    "the service's route sees the chat's connections");
  // (After the count: a refused client closes its connection in its own time.)
  const refused = await connect(server, "made-up");
  assert.equal(refused.error?.message, "unauthorized", "a token the service never issued is refused");

  const created = await ack(ann, "room:create", { kind: "group", id: "lobby", members: ["bob"] });
  assert.equal(created.ok, true, JSON.stringify(created));
  for (const s of [ann, bob]) assert.equal((await ack(s, "room:join", { room: "lobby" })).ok, true);

  const heard = next(bob, "message:new", ({ message }) => message.text === "hi Bob");
  const sent = await ack(ann, "message:send", { room: "lobby", text: "hi Bob" });
  assert.equal(sent.ok, true, JSON.stringify(sent));
  const { message } = await heard;
  assert.equal(message.senderId, "ann");
  assert.equal(message.senderName, "Ann");
  assert.equal(message.seq, sent.message.seq);

  // The service's route that acts in the chat: Bob announces over HTTP,
  // Ann hears it on her socket.
  const announced = next(ann, "message:new", ({ message: m }) => m.text === "break in 5 minutes");
  const posted = await http(server, "POST", "/api/rooms/lobby/announce", { token: bobToken, body: { text: "break in 5 minutes" } });
  assert.equal(posted.status, 201, posted.text);
  assert.equal(posted.body.message.senderId, "bob");
  assert.equal((await announced).message.seq, sent.message.seq + 1);
  // The chat's rules hold over HTTP too.
  const noToken = await http(server, "POST", "/api/rooms/lobby/announce", { body: { text: "x" } });
  assert.equal(noToken.status, 401, noToken.text);
  const empty = await http(server, "POST", "/api/rooms/lobby/announce", { token: bobToken, body: { text: " " } });
  assert.equal(empty.status, 400, empty.text);
  const cyToken = await login(server, "cy");
  const outsider = await http(server, "POST", "/api/rooms/lobby/announce", { token: cyToken, body: { text: "hello?" } });
  assert.equal(outsider.status, 403, outsider.text);
  assert.equal(outsider.body.error.code, "forbidden");

  const gone = next(ann, "disconnect");
  const { code, signal } = await server.stop();
  assert.equal(signal, null, server.stderr());
  assert.equal(code, 0, server.stderr());
  assert.match(server.stdout(), /stopped\n$/);
  await gone;
});

test("with --db the messages are in a SQLite file and outlive a restart", async () => {
  const db = join(tempDir(), "chat.db");
  let server = await start(["--db", db]);
  let ann = await connected(server, await login(server, "ann"));
  assert.equal((await ack(ann, "room:create", { kind: "group", id: "kept" })).ok, true);
  const sent = await ack(ann, "message:send", { room: "kept", text: "still here after a restart" });
  assert.equal(sent.ok, true, JSON.stringify(sent));
  assert.equal((await server.stop()).code, 0, server.stderr());

  server = await start(["--db", db]);
  ann = await connected(server, await login(server, "ann"));
  const history = await ack(ann, "message:history", { room: "kept" });
  assert.equal(history.ok, true, JSON.stringify(history));
  assert.deepEqual(history.messages.map((m) => m.text), ["still here after a restart"]);
  assert.equal((await server.stop()).code, 0, server.stderr());
});

test("the session table is bounded: past --max-sessions the oldest session ends", async () => {
  const server = await start(["--max-sessions", "2"]);
  const first = await login(server, "ann");
  const second = await login(server, "bob");
  assert.equal((await connect(server, first)).error, undefined, "within the bound the first session works");
  await login(server, "cy");
  assert.equal((await connect(server, first)).error?.message, "unauthorized", "the oldest session ended");
  assert.equal((await connect(server, second)).error, undefined, "the newer ones still work");
  const announce = await http(server, "POST", "/api/rooms/any/announce", { token: first, body: { text: "x" } });
  assert.equal(announce.status, 401, announce.text);
  assert.equal((await server.stop()).code, 0, server.stderr());
});
