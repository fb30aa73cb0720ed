// End-to-end: one chatd with --threads 3 (SQLite) behaves like one chatd,
// whichever loop each connection lands on:
// - every story of docs/protocol.md section 8 with the clients forced to
//   HTTP long-polling (each poll a new connection, routed by its sid to the
//   loop that holds the session), then with the default polling ->
//   WebSocket upgrade; the sessions are spread over all three loops;
// - an attachment uploaded to the loop that keeps the files is sent by a
//   socket on another loop and downloaded again;
// - the acceptor's bounds: a connection that sends no request line, or only
//   part of one, is closed after the first-line timeout; a line longer
//   than the peek limit is still answered (refused by the loop), never held;
// - /metrics sums the loops, whichever one answers;
// - --threads with TLS, and out of range, refused with exit 2; SIGTERM
//   stops every loop with exit 0.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect as tcpConnect } from "node:net";
import { once } from "node:events";
import { startChatd, runChatd, connect, rest, ok, person, deadline, tempDir, API_KEY } from "./lib/harness.mjs";
import { stories } from "./lib/stories.mjs";

const T = { timeout: 60000 };
const LOOPS = 3;
// The first-line timeout of the acceptor is --body-timeout.
const FIRST_LINE_MS = 1000;

let chatd;
before(async () => {
  chatd = await startChatd({ args: ["--threads", String(LOOPS), "--body-timeout", String(FIRST_LINE_MS),
    "--message-rate", "100000", "--message-burst", "100000", "--stun-urls", "stun:stun.l.google.com:19302"] });
});
after(async () => {
  assert.equal(await chatd?.stop(), 0, "every loop stops cleanly on SIGTERM");
});

const polling = () => ({ ...chatd, clientOptions: { transports: ["polling"] } });
const upgrading = () => ({ ...chatd, clientOptions: { transports: ["polling", "websocket"] } });

for (const [name, play] of stories) {
  test(`long-polling only, sessions on every loop: ${name}`, T, () => play(() => polling()));
}
for (const [name, play] of stories) {
  test(`polling upgraded to WebSocket: ${name}`, T, () => play(() => upgrading()));
}

test("polling sessions land on every loop and each request finds its own", T, async () => {
  const who = person("spread");
  const clients = [];
  try {
    for (let i = 0; i < 3 * LOOPS; ++i) clients.push(await connect(polling(), who.token));
    // The first character of a sid names the loop that holds the session.
    const loops = new Set(clients.map((c) => c.socket.io.engine.id[0]));
    assert.equal(loops.size, LOOPS, `sids ${clients.map((c) => c.socket.io.engine.id).join(" ")}`);
    // Every session keeps working through many polls (each a new connection).
    for (const c of clients) assert.ok(ok(await c.call("rooms:list", {})).rooms);
    assert.ok(clients.every((c) => c.socket.io.engine.transport.name === "polling"));
    // /metrics sums every loop, whichever loop answers the scrape.
    for (let i = 0; i < LOOPS; ++i) {
      const m = (await rest(chatd, "GET", "/metrics", { token: API_KEY })).text;
      assert.match(m, new RegExp(`^chatd_loops ${LOOPS}$`, "m"));
      assert.match(m, new RegExp(`^chatd_connections ${clients.length}$`, "m"));
    }
  } finally {
    for (const c of clients) c.close();
  }
});

test("an attachment is kept by one loop and sent from a socket on another", T, async () => {
  const ann = person("ann"), bob = person("bob");
  const room = (await rest(chatd, "POST", "/api/rooms", { token: ann.token, body: { kind: "group", title: "files", members: [bob.id] } })).body.room;
  const up = await rest(chatd, "POST", `/api/rooms/${room.id}/attachments?name=note.txt`, {
    token: ann.token, raw: "threads attach", headers: { "content-type": "text/plain" },
  });
  assert.equal(up.status, 201, up.text);
  const att = up.body.attachment;
  // Ann has a socket on every loop: all but one are not the files' loop.
  const socks = [];
  try {
    const b = await connect(polling(), bob.token);
    socks.push(b);
    ok(await b.call("room:join", { room: room.id }));
    const anns = [];
    while (new Set(anns.map((s) => s.socket.io.engine.id[0])).size < LOOPS && anns.length < 10 * LOOPS) {
      const s = await connect(polling(), ann.token);
      anns.push(s);
      socks.push(s);
    }
    assert.equal(new Set(anns.map((s) => s.socket.io.engine.id[0])).size, LOOPS);
    for (const [i, s] of anns.entries()) {
      ok(await s.call("room:join", { room: room.id }));
      const sent = ok(await s.call("message:send", { room: room.id, type: "file", text: `file ${i}`, attachment: att })).message;
      assert.equal(sent.attachment.url, att.url);
      assert.equal((await b.next("message:new", (e) => e.message.text === `file ${i}`)).message.attachment.url, att.url);
    }
    const down = await rest(chatd, "GET", att.url, { token: bob.token });
    assert.equal(down.status, 200);
    assert.equal(down.text, "threads attach");
  } finally {
    for (const s of socks) s.close();
  }
});

// A raw TCP connection to chatd; resolves with what it received once the
// server closed it (a reset counts: the server may close with bytes unread).
async function rawUntilClosed(send, ms) {
  const sock = tcpConnect(chatd.port, "127.0.0.1");
  let got = "";
  sock.on("data", (d) => (got += d));
  const closed = new Promise((resolve) => sock.on("close", resolve));
  sock.on("error", () => {});
  await once(sock, "connect");
  if (send) sock.write(send);
  await deadline(closed, ms, "chatd to close the connection").finally(() => sock.destroy());
  return got;
}

test("the acceptor closes a connection that sends no request line, or half of one, after the timeout", T, async () => {
  const started = Date.now();
  assert.equal(await rawUntilClosed("", FIRST_LINE_MS + 4000), "");
  assert.ok(Date.now() - started >= FIRST_LINE_MS - 100, "not before the timeout");
  assert.equal(await rawUntilClosed("GET /socket.io/?EIO=4&transport=pol", FIRST_LINE_MS + 4000), "");
  // Still serving.
  assert.equal((await rest(chatd, "GET", "/healthz")).status, 200);
});

test("a request line longer than the acceptor peeks at goes to a loop, which closes it: never held", T, async () => {
  const long = `GET /socket.io/?EIO=4&transport=polling&x=${"a".repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`;
  const started = Date.now();
  await rawUntilClosed(long, 5000);
  assert.ok(Date.now() - started < FIRST_LINE_MS, "closed by the loop, not by the first-line timeout");
  assert.equal((await rest(chatd, "GET", "/healthz")).status, 200);
});

test("--threads: with TLS and out of range, refused with exit 2 and the reason", T, async () => {
  for (const [args, reason] of [
    [["--threads", "2", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"], /--threads above 1 serves plain HTTP only/],
    [["--threads", "65"], /--threads must be 0 \(one per core\) to 64/],
    [["--threads", "-1"], /--threads must be 0 \(one per core\) to 64/],
  ]) {
    const r = await runChatd(["--dev", "--port", "0", "--host", "127.0.0.1", "--data-dir", tempDir(), ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, reason);
  }
});
