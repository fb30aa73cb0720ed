// Shared harness of the chatd end-to-end suite: starting and stopping a
// real chatd process, minting tokens, Socket.IO clients that keep every
// event they receive, acks and REST calls with deadlines.
//
// Every wait is on something the server sends, bounded by a deadline;
// nothing sleeps. Every process started here is killed when the test
// process exits, whatever the outcome.
import { npmPackage } from "../../lib/needs.mjs";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHmac } from "node:crypto";

// The socket.io-client pinned for the interop tests; one lock file for both.
export const { io } = npmPackage(new URL("../../interop", import.meta.url).pathname, "socket.io-client");

export const BIN = process.env.CHATD;
export const SECRET = "e2e-jwt-secret-0123456789abcdef";
export const API_KEY = "e2e-api-key-fedcba9876543210";
export const WAIT_MS = 5000;

export function deadline(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

const running = new Set();
const dirs = [];
process.on("exit", () => {
  for (const p of running) p.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// Resolves once check() (which may be async) holds, polling every 50 ms, for
// a state that sends no event (a file on disk, /healthz); rejects naming
// `what` after `ms`.
export async function eventually(check, what, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), "chatd-e2e-"));
  dirs.push(dir);
  return dir;
}

// Runs chatd to completion (for options that make it exit at once).
export function runChatd(args, { env = {}, ms = 10000 } = {}) {
  if (!BIN) throw new Error("CHATD must name the chatd binary");
  const proc = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...cleanEnv(), ...env } });
  running.add(proc);
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d) => (stdout += d));
  proc.stderr.on("data", (d) => (stderr += d));
  return deadline(
    new Promise((resolve) => proc.on("close", (code, signal) => {
      running.delete(proc);
      resolve({ code, signal, stdout, stderr });
    })),
    ms,
    `chatd ${args.join(" ")} to exit`,
  ).catch((e) => {
    proc.kill("SIGKILL");
    throw e;
  });
}

// chatd reads CHATD_* variables; the suite must not inherit any.
function cleanEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("CHATD_")) delete env[k];
  return env;
}

// Starts chatd on an ephemeral loopback port with `store` (SQLite in
// `dataDir` unless told otherwise); resolves once the "chatd listening"
// line names the port. `env`: variables to add (the sanitizers' options, say).
export async function startChatd({ dataDir = tempDir(), args = [], dev = true, store = "sqlite", env = {} } = {}) {
  if (!BIN) throw new Error("CHATD must name the chatd binary");
  const argv = ["--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir, "--store", store,
    "--jwt-secret", SECRET, "--api-key", API_KEY,
    // A suite's bursts of calls are no abuse; the file that tests the limit sets its own.
    ...(args.includes("--rest-rate") ? [] : ["--rest-rate", "1000", "--rest-burst", "1000"]),
    ...(dev ? ["--dev"] : []),
    // E2E_THREADS=N: every chatd of the suite runs N loops (--threads).
    ...(process.env.E2E_THREADS && !args.includes("--threads") ? ["--threads", process.env.E2E_THREADS] : []), ...args];
  const proc = spawn(BIN, argv, { stdio: ["ignore", "ignore", "pipe"], env: { ...cleanEnv(), ...env } });
  running.add(proc);
  let log = "";
  const exited = new Promise((resolve) => proc.on("close", (code, signal) => {
    running.delete(proc);
    resolve({ code, signal });
  }));
  const port = await deadline(
    new Promise((resolve, reject) => {
      proc.stderr.on("data", (d) => {
        log += d;
        const m = log.match(/msg="chatd listening".* port=(\d+)/);
        if (m) resolve(Number(m[1]));
      });
      exited.then(({ code }) => reject(new Error(`chatd exited with ${code} before listening:\n${log}`)));
    }),
    15000,
    "chatd to listen",
  ).catch((e) => {
    proc.kill("SIGKILL");
    throw e;
  });
  const server = {
    proc,
    port,
    dataDir,
    url: `http://127.0.0.1:${port}`,
    log: () => log,
    // SIGTERM and wait; resolves with the exit code (null if killed).
    async stop(signal = "SIGTERM") {
      if (proc.exitCode !== null || proc.signalCode !== null) return (await exited).code;
      proc.kill(signal);
      const r = await deadline(exited, 15000, "chatd to stop").catch((e) => {
        proc.kill("SIGKILL");
        throw e;
      });
      return r.code;
    },
  };
  return server;
}

function b64url(v) {
  return Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
}

// An HS256 JWT signed here, so that tests can forge expired or badly
// signed tokens that the dev endpoint would never hand out.
export function signJwt(claims, secret = SECRET) {
  const head = b64url({ alg: "HS256", typ: "JWT" });
  const body = b64url(claims);
  const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

export function userToken(sub, name = sub, role = "user", ttlSec = 3600) {
  return signJwt({ sub, name, role, exp: Math.floor(Date.now() / 1000) + ttlSec });
}

// The response's status and its body (JSON when it parses, else text).
export async function rest(server, method, path, { token, body, headers = {}, raw } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let payload = raw;
  if (body !== undefined) {
    h["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await deadline(fetch(server.url + path, { method, headers: h, body: payload }), WAIT_MS, `${method} ${path}`)
    .catch((e) => {
      throw new Error(`${method} ${path}: ${e.message} (${e.cause?.message ?? "no cause"})`, { cause: e });
    });
  const buf = Buffer.from(await res.arrayBuffer());
  let json;
  try {
    json = JSON.parse(buf.toString("utf8"));
  } catch {
    json = undefined;
  }
  return { status: res.status, body: json, text: buf.toString("utf8"), bytes: buf, headers: res.headers };
}

export async function devToken(server, userId, name = userId, role = "user") {
  const r = await rest(server, "POST", "/api/dev/token", { body: { userId, name, role } });
  if (r.status !== 200) throw new Error(`dev token: ${r.status} ${r.text}`);
  return r.body.token;
}

// A Socket.IO client that records every event, so a test can wait for one
// that may already have arrived, or check that one never came.
export class Client {
  constructor(server, token, opts = {}) {
    // server.clientOptions: a test's defaults for every client of that server (transports, say).
    this.socket = io(server.url, { forceNew: true, reconnection: false, transports: ["websocket"], auth: { token },
      ...server.clientOptions, ...opts });
    this.events = [];
    this.waiters = [];
    this.socket.onAny((event, ...args) => {
      this.events.push({ event, args });
      this.#wake();
    });
  }

  #wake() {
    for (const w of [...this.waiters]) {
      const i = this.events.findIndex((e) => e.event === w.event && w.pred(...e.args));
      if (i >= 0) {
        const [e] = this.events.splice(i, 1);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(e.args[0]);
      }
    }
  }

  get id() {
    return this.socket.id;
  }

  get connected() {
    return this.socket.connected;
  }

  // Waits for the connection; rejects with the connect_error.
  ready(ms = WAIT_MS) {
    if (this.socket.connected) return Promise.resolve(this);
    return deadline(new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve(this));
      this.socket.once("connect_error", reject);
    }), ms, "connect");
  }

  // The first payload of the oldest unconsumed `event` for which pred holds.
  next(event, pred = () => true, ms = WAIT_MS) {
    return deadline(new Promise((resolve) => {
      this.waiters.push({ event, pred, resolve });
      this.#wake();
    }), ms, `event ${event}`).catch((e) => {
      this.waiters = this.waiters.filter((w) => w.event !== event || w.pred !== pred);
      throw e;
    });
  }

  // Unconsumed events of a name (a snapshot; consumes them).
  drain(event) {
    const out = this.events.filter((e) => e.event === event).map((e) => e.args[0]);
    this.events = this.events.filter((e) => e.event !== event);
    return out;
  }

  // Emits with an ack and resolves with the ack payload.
  call(event, payload, ms = WAIT_MS) {
    const args = payload === undefined ? [] : [payload];
    return deadline(this.socket.timeout(ms).emitWithAck(event, ...args), ms + 500, `ack of ${event}`);
  }

  // A round trip that every earlier broadcast to this socket precedes:
  // after it, an event that has not arrived was never sent.
  async barrier() {
    const r = await this.call("rooms:list", {});
    if (!r.ok) throw new Error(`barrier failed: ${JSON.stringify(r)}`);
  }

  close() {
    this.socket.disconnect();
  }
}

export async function connect(server, token, opts) {
  return new Client(server, token, opts).ready();
}

// Connects with `token` and expects CONNECT_ERROR "unauthorized".
export async function refusedAtConnect(server, token, opts = {}) {
  const c = new Client(server, token, opts);
  try {
    await c.ready().then(
      () => { throw new Error("expected the connection to be refused as unauthorized"); },
      (err) => { if (err.message !== "unauthorized") throw err; });
  } finally {
    c.close();
  }
}

// Asserts an ack is a failure with `code`.
export function failed(ack, code) {
  if (!ack || ack.ok !== false || !ack.error || ack.error.code !== code)
    throw new Error(`expected error ${code}, got ${JSON.stringify(ack)}`);
  if (typeof ack.error.message !== "string") throw new Error(`error without message: ${JSON.stringify(ack)}`);
}

export function ok(ack) {
  if (!ack || ack.ok !== true) throw new Error(`expected ok, got ${JSON.stringify(ack)}`);
  return ack;
}

export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let counter = 0;
// Room and user ids unique within a run, so tests of one file never collide.
export function uid(prefix) {
  counter += 1;
  return `${prefix}${counter}_${process.pid}`;
}

// A user for one test: a unique id from `n`, a display name ("ann" shows
// as "Ann" unless named), and a signed token with that name and role.
export function person(n, { name = n[0].toUpperCase() + n.slice(1), role = "user" } = {}) {
  const id = uid(n);
  return { id, name, token: userToken(id, name, role) };
}

// A loopback port the kernel just handed out (and took back): free unless
// someone grabs it in the instant before the caller's server binds it.
export async function freePort() {
  const s = createServer();
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}
