// End-to-end: how a real chatd takes HTTP requests it should not take
// whole. Refusals come on the headers, before the body is sent (an
// unauthenticated or non-member upload, an unknown route, a chunked body),
// a body has one deadline (--body-timeout), bodies in memory are capped per
// client address and in total, and the REST rate limit is per caller for
// every route with the API key's bucket apart from every user's.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { startChatd, rest, userToken, signJwt, uid, API_KEY, deadline } from "./lib/harness.mjs";

let server;
before(async () => {
  server = await startChatd({
    args: ["--body-timeout", "500", "--max-body-bytes", "2000", "--max-buffered-bytes", "4000",
      "--max-buffered-bytes-per-address", "3000"],
  });
});
after(async () => {
  assert.equal(await server?.stop(), 0);
});

const T = { timeout: 20000 };

// A raw HTTP/1.1 connection: send bytes when the test says so, read the
// status line and headers of the answer, and see whether it closed.
class Raw {
  constructor(srv, localAddress) {
    this.data = "";
    this.closed = false;
    this.waiters = [];
    this.socket = net.connect({ host: "127.0.0.1", port: srv.port, localAddress });
    this.socket.on("data", (d) => { this.data += d.toString("latin1"); this.#wake(); });
    this.socket.on("close", () => { this.closed = true; this.#wake(); });
    this.socket.on("error", () => {});
    this.connected = new Promise((resolve) => this.socket.once("connect", resolve));
  }
  #wake() {
    for (const w of [...this.waiters]) if (w.done()) { this.waiters.splice(this.waiters.indexOf(w), 1); w.resolve(); }
  }
  #until(done, ms, what) {
    return deadline(new Promise((resolve) => { this.waiters.push({ done, resolve }); this.#wake(); }), ms, what);
  }
  async send(s) {
    await this.connected;
    if (!this.closed) this.socket.write(s);
  }
  // Resolves with {status, headers, text} once the head of an answer and
  // the Content-Length bytes of its body are in (the body may arrive in a
  // later packet than the head).
  async answer(ms = 2000) {
    const complete = () => {
      const end = this.data.indexOf("\r\n\r\n");
      if (end < 0) return false;
      const length = this.data.slice(0, end).match(/\r\ncontent-length:\s*(\d+)/i);
      return !length || Buffer.byteLength(this.data.slice(end + 4), "latin1") >= Number(length[1]);
    };
    await this.#until(() => complete() || this.closed, ms, "an answer");
    const [head, ...rest] = this.data.split("\r\n\r\n");
    const [line, ...lines] = head.split("\r\n");
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
    return { status: Number(line.split(" ")[1]), headers, text: rest.join("\r\n\r\n") };
  }
  async hasAnswer(ms) {
    try {
      await this.#until(() => this.data.includes("\r\n\r\n") || this.closed, ms, "an answer");
      return true;
    } catch {
      return false;
    }
  }
  untilClosed(ms = 2000) {
    return this.#until(() => this.closed, ms, "the server to close");
  }
  close() {
    this.socket.destroy();
  }
}

const head = (method, path, length, extra = "") =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Content-Length: ${length}\r\n\r\n`;

// Regression: every POST body up to the attachment limit was read (for any
// path, before authentication) and only then refused.
test("refusals come on the headers: a 10 MiB upload without a token, by a non-member, to an unknown route", T, async () => {
  const owner = userToken(uid("owner")), stranger = userToken(uid("stranger"));
  const room = (await rest(server, "POST", "/api/rooms", { token: owner, body: { kind: "group" } })).body.room;
  const cases = [
    [head("POST", `/api/rooms/${room.id}/attachments`, 10 << 20, "Content-Type: image/png\r\n"), 401],
    [head("POST", `/api/rooms/${room.id}/attachments`, 10 << 20, `Authorization: Bearer ${stranger}\r\nContent-Type: image/png\r\n`), 403],
    [head("POST", `/api/rooms/${room.id}/attachments`, 11 << 20, `Authorization: Bearer ${owner}\r\n`), 413],
    [head("POST", "/api/no-such-route", 10 << 20), 404],
    [head("POST", "/api/rooms", 10 << 20, `Authorization: Bearer ${owner}\r\n`), 413],
  ];
  const conns = cases.map(() => new Raw(server));
  try {
    for (const [i, [request, status]] of cases.entries()) {
      await conns[i].send(request);  // and never the body
      const a = await conns[i].answer();
      assert.equal(a.status, status, request.split("\r\n")[0]);
      assert.equal(a.headers.connection, "close");
    }
    // Each closes after 2 s of waiting for a body that never comes.
    await Promise.all(conns.map((c) => c.untilClosed(4000)));
  } finally {
    for (const c of conns) c.close();
  }
});

// Regression: a chunked body got no answer at all.
test("a chunked request body is answered 411", T, async () => {
  const c = new Raw(server);
  try {
    await c.send(`POST /api/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${userToken("u")}\r\n` +
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
    const a = await c.answer();
    assert.equal(a.status, 411);
    assert.match(a.text, /Content-Length/);
  } finally {
    c.close();
  }
});

// Regression: lws's timeout restarted with every chunk.
test("a body dripped a byte at a time is cut at --body-timeout (408)", T, async () => {
  const c = new Raw(server);
  try {
    const start = Date.now();
    await c.send(head("POST", "/api/rooms", 1000, `Authorization: Bearer ${userToken("u")}\r\n`));
    let answered = false;
    for (let i = 0; i < 60 && !answered; i++) {  // up to 6 s of drip, far past the 500 ms deadline
      await c.send("x");
      answered = await c.hasAnswer(100);
    }
    assert.ok(answered, "the drip was never cut");
    const a = await c.answer();
    assert.equal(a.status, 408);
    const took = Date.now() - start;
    assert.ok(took >= 450 && took < 3000, `cut after ${took} ms`);
  } finally {
    c.close();
  }
});

test("bodies in memory: --max-buffered-bytes-per-address (429) and --max-buffered-bytes (503)", T, async () => {
  const token = userToken("u");
  const held = [];
  try {
    // 1500 + 1500 of this address's 3000: the next one is refused.
    for (const from of ["127.0.0.1", "127.0.0.1"]) {
      const c = new Raw(server, from);
      held.push(c);
      await c.send(head("POST", "/api/rooms", 1500, `Authorization: Bearer ${token}\r\n`) + "{");
    }
    assert.equal(await held[1].hasAnswer(200), false, "held bodies are not answered");
    const third = new Raw(server, "127.0.0.1");
    held.push(third);
    await third.send(head("POST", "/api/rooms", 100, `Authorization: Bearer ${token}\r\n`));
    assert.equal((await third.answer()).status, 429);
    // Another address has room, until the 4000 in total.
    const other = new Raw(server, "127.0.0.2");
    held.push(other);
    await other.send(head("POST", "/api/rooms", 1000, `Authorization: Bearer ${token}\r\n`) + "{");
    assert.equal(await other.hasAnswer(200), false);
    const full = new Raw(server, "127.0.0.3");
    held.push(full);
    await full.send(head("POST", "/api/rooms", 100, `Authorization: Bearer ${token}\r\n`));
    assert.equal((await full.answer()).status, 503);
  } finally {
    for (const c of held) c.close();
  }
});

test("REST rate limit: every route (ice-servers too), and the API key's bucket apart from any user's", T, async () => {
  const limited = await startChatd({ args: ["--rest-rate", "0.01", "--rest-burst", "2", "--turn-urls", "turn:t.example",
    "--turn-secret", "s"] });
  try {
    // Regression: /api/ice-servers (which mints TURN credentials) had no limit.
    const ann = userToken(uid("ann"));
    const ice = [];
    for (let i = 0; i < 3; i++) ice.push((await rest(limited, "GET", "/api/ice-servers", { token: ann })).status);
    assert.deepEqual(ice, [200, 200, 429]);
    // Regression: a user whose id was the service's bucket name shared the
    // API key's bucket (and could exhaust it).
    for (let i = 0; i < 2; i++) assert.equal((await rest(limited, "GET", "/api/rooms?userId=x", { token: API_KEY })).status, 200);
    assert.equal((await rest(limited, "GET", "/api/rooms?userId=x", { token: API_KEY })).status, 429);
    const lookalike = signJwt({ sub: "\u0001service", exp: Math.floor(Date.now() / 1000) + 600 });
    assert.equal((await rest(limited, "GET", "/api/rooms", { token: lookalike })).status, 200);
  } finally {
    assert.equal(await limited.stop(), 0);
  }
});

// Regression (found by the soak): chatd closed idle keep-alive connections
// without saying when, so a pooling client could send a request into a
// socket the server was closing and get no answer.
test("keep-alive answers announce the idle timeout, and the connection lives that long", T, async () => {
  const short = await startChatd({ args: ["--http-keepalive-timeout", "2"] });
  const c = new Raw(short);
  try {
    await c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const a = await c.answer();
    assert.equal(a.status, 200);
    assert.equal(a.headers["keep-alive"], "timeout=2");
    const answeredAt = Date.now();
    await c.untilClosed(6000);
    const idle = Date.now() - answeredAt;
    assert.ok(idle >= 1900, `closed after ${idle} ms, before the announced 2 s`);
    // An answer that closes its connection announces nothing.
    const d = new Raw(short);
    try {
      await d.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
      const b = await d.answer();
      assert.equal(b.headers.connection, "close");
      assert.equal(b.headers["keep-alive"], undefined);
    } finally {
      d.close();
    }
  } finally {
    c.close();
    assert.equal(await short.stop(), 0);
  }
});
