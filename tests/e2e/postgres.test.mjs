// End-to-end on PostgreSQL: real chatd processes on one throwaway server
// (lib/pg.mjs), stock socket.io-clients sending with clientMsgIds.
// - three chatd processes accept messages for the same rooms at once, and
//   every client reads the same gapless history;
// - chatd killed with SIGKILL while clients send, PostgreSQL restarted in
//   immediate mode (a crash) while they send, and PostgreSQL stopped and
//   started again: no acknowledged message is lost or stored twice, seq
//   stays gapless, calls answer `unavailable` within a bound meanwhile,
//   /healthz says degraded, and chatd resumes by itself;
// - an unreachable server at start: bounded retries, then exit 1 naming
//   the server; the password in the URL never reaches a log.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { once } from "node:events";
import { startChatd, runChatd, connect, userToken, ok, rest, deadline, tempDir, uid, eventually } from "./lib/harness.mjs";
import { startPostgres } from "./lib/pg.mjs";

const T = { timeout: 120000 };
const PASSWORD = "pw-not-for-logs";

let pg;
before(async () => {
  pg = await startPostgres();
});
after(async () => {
  await pg?.close();
});

let databases = 0;
async function freshDatabase() {
  const name = `e2e_${++databases}`;
  await pg.sql(`CREATE DATABASE ${name}`);
  return name;
}

// Sends are limited per socket; these tests are no abuse.
const NO_LIMITS = ["--message-rate", "100000", "--message-burst", "100000"];
function chatdOn(db, extra = []) {
  return startChatd({ store: "postgres", args: ["--pg-url", pg.url(db, PASSWORD), ...NO_LIMITS, ...extra] });
}


async function healthz(server) {
  return (await rest(server, "GET", "/healthz")).status;
}

// The whole history of a room, page by page.
async function fullHistory(client, room) {
  const out = [];
  let after = 0;
  for (let page = 0; page < 1000; ++page) {
    const r = ok(await client.call("message:history", { room, after, limit: 200 }));
    out.push(...r.messages);
    if (!r.hasMore || r.messages.length === 0) break;
    after = r.messages.at(-1).seq;
  }
  return out;
}

// Seq 1..n without a gap, each clientMsgId once, and every acknowledged
// message there with the id and seq its ack gave.
function checkHistory(messages, acked) {
  messages.forEach((m, i) => assert.equal(m.seq, i + 1, `gap or disorder at position ${i}`));
  const byClientId = new Map();
  for (const m of messages) {
    assert.ok(!byClientId.has(m.clientMsgId), `${m.clientMsgId} stored twice`);
    byClientId.set(m.clientMsgId, m);
  }
  for (const [clientMsgId, a] of acked) {
    const m = byClientId.get(clientMsgId);
    assert.ok(m, `${clientMsgId}, acknowledged as seq ${a.seq}, is not stored`);
    assert.equal(m.seq, a.seq, clientMsgId);
    assert.equal(m.id, a.id, clientMsgId);
  }
}

// A chat client's sending loop: `total` messages to `room`, `window` in
// flight, each with its own clientMsgId and sent again with the same one
// after a failure (an `unavailable` answer, a timeout, a dead socket),
// through whichever client use() last gave it.
class Sender {
  constructor({ room, prefix, total, window }) {
    Object.assign(this, { room, prefix, total, window });
    this.next = 0;
    this.retry = [];
    this.acked = new Map();  // clientMsgId -> {id, seq}
    this.unavailable = [];   // ms each `unavailable` answer took
    this.failures = 0;       // attempts that had to be sent again
    this.client = null;
    this.clientWaiters = [];
    this.ackWaiters = [];
  }

  use(client) {
    this.client = client;
    for (const w of this.clientWaiters.splice(0)) w();
  }

  // Resolves when `n` messages are acknowledged.
  acks(n, ms = 60000) {
    if (this.acked.size >= n) return Promise.resolve();
    return deadline(new Promise((resolve) => this.ackWaiters.push({ n, resolve })), ms, `${n} acks`);
  }

  run() {
    return Promise.all(Array.from({ length: this.window }, () => this.#worker()));
  }

  async #worker() {
    for (;;) {
      const i = this.retry.length ? this.retry.shift() : this.next < this.total ? this.next++ : -1;
      if (i < 0) return;
      const clientMsgId = `${this.prefix}-${i}`;
      for (;;) {
        const c = this.client;
        if (!c || !c.connected) {
          await new Promise((resolve) => this.clientWaiters.push(resolve));
          continue;
        }
        const t0 = Date.now();
        const ack = await c.call("message:send", { room: this.room, text: `${this.prefix} ${i}`, clientMsgId }, 4000)
          .catch(() => null);
        if (ack?.ok) {
          this.acked.set(clientMsgId, { id: ack.message.id, seq: ack.message.seq });
          for (const w of this.ackWaiters.filter((w) => this.acked.size >= w.n)) {
            this.ackWaiters.splice(this.ackWaiters.indexOf(w), 1);
            w.resolve();
          }
          break;
        }
        ++this.failures;
        if (ack) {
          assert.equal(ack.error.code, "unavailable", JSON.stringify(ack));
          this.unavailable.push(Date.now() - t0);
        }
      }
    }
  }
}

test("three chatd processes on one database accept messages for the same rooms at once; every client reads the same gapless history", T, async () => {
  const db = await freshDatabase();
  const servers = await Promise.all([0, 1, 2].map(() => chatdOn(db)));
  try {
    const users = [1, 2, 3, 4, 5, 6].map((i) => uid(`p${i}_`));
    const clients = await Promise.all(users.map((u, i) => connect(servers[i % 3], userToken(u))));
    const rooms = [uid("shared_a"), uid("shared_b")];
    for (const id of rooms) ok(await clients[0].call("room:create", { kind: "group", id, members: users.slice(1) }));
    // Every client sends 40 messages to each room, all at once, each
    // through its own chatd.
    const acked = rooms.map(() => new Map());
    await Promise.all(clients.flatMap((c, ci) => rooms.map((room, ri) => Promise.all(
      Array.from({ length: 40 }, async (_, k) => {
        const clientMsgId = `${users[ci]}-${ri}-${k}`;
        const a = ok(await c.call("message:send", { room, text: `${ci}:${k}`, clientMsgId }, 20000));
        acked[ri].set(clientMsgId, { id: a.message.id, seq: a.message.seq });
      })))));
    // A retry through another process finds the first message.
    const sameUserElsewhere = await connect(servers[1], userToken(users[0]));
    const [retryId, first] = [...acked[0]].find(([cmid]) => cmid.startsWith(users[0]));
    const retry = ok(await sameUserElsewhere.call("message:send", { room: rooms[0], text: "again", clientMsgId: retryId }));
    assert.equal(retry.duplicate, true);
    assert.equal(retry.message.id, first.id);
    assert.equal(retry.message.seq, first.seq);
    for (const [ri, room] of rooms.entries()) {
      const histories = await Promise.all(clients.map((c) => fullHistory(c, room)));
      assert.equal(histories[0].length, users.length * 40);
      checkHistory(histories[0], acked[ri]);
      const view = (h) => h.map((m) => `${m.seq}:${m.id}:${m.clientMsgId}`);
      for (const h of histories.slice(1)) assert.deepEqual(view(h), view(histories[0]));
    }
    for (const c of [...clients, sameUserElsewhere]) c.close();
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
});

test("SIGKILL of chatd while clients send: every acknowledged message is stored exactly once, seq stays gapless", T, async () => {
  const db = await freshDatabase();
  const user = uid("killer");
  const room = uid("kill");
  let server = await chatdOn(db);
  let client = await connect(server, userToken(user));
  ok(await client.call("room:create", { kind: "group", id: room }));
  const sender = new Sender({ room, prefix: "k", total: 1200, window: 20 });
  sender.use(client);
  const sending = sender.run();
  for (let kill = 0; kill < 3; ++kill) {
    await sender.acks(sender.acked.size + 150);
    await server.stop("SIGKILL");
    client.close();
    server = await chatdOn(db);
    client = await connect(server, userToken(user));
    sender.use(client);
  }
  await deadline(sending, 60000, "every message to be acknowledged");
  assert.ok(sender.failures > 0, "the kills hit sends in flight");
  const history = await fullHistory(client, room);
  assert.equal(history.length, 1200);
  checkHistory(history, sender.acked);
  client.close();
  assert.equal(await server.stop(), 0);
});

test("PostgreSQL restarted in immediate mode while clients send: nothing acknowledged is lost", T, async () => {
  const db = await freshDatabase();
  const user = uid("crash");
  const room = uid("crash");
  const server = await chatdOn(db, ["--pg-request-timeout", "2000", "--pg-connect-timeout", "1000"]);
  const client = await connect(server, userToken(user));
  ok(await client.call("room:create", { kind: "group", id: room }));
  const sender = new Sender({ room, prefix: "c", total: 1500, window: 30 });
  sender.use(client);
  const sending = sender.run();
  for (let round = 0; round < 3; ++round) {
    await sender.acks(sender.acked.size + 200);
    // pg_ctl restart -m immediate
    await pg.stop("immediate");
    await pg.start();
  }
  await deadline(sending, 60000, "every message to be acknowledged");
  assert.ok(sender.failures > 0, "the restarts hit sends in flight");
  const history = await fullHistory(client, room);
  assert.equal(history.length, 1500);
  checkHistory(history, sender.acked);
  client.close();
  assert.equal(await server.stop(), 0);
});

test("PostgreSQL stopped and started while clients send: unavailable within a bound, /healthz degraded, resumes by itself", T, async () => {
  const db = await freshDatabase();
  const user = uid("outage");
  const room = uid("outage");
  const requestMs = 1000;
  const connectMs = 500;
  const server = await chatdOn(db, ["--pg-request-timeout", String(requestMs), "--pg-connect-timeout", String(connectMs)]);
  const client = await connect(server, userToken(user));
  ok(await client.call("room:create", { kind: "group", id: room }));
  assert.equal(await healthz(server), 200);
  const sender = new Sender({ room, prefix: "o", total: 600, window: 10 });
  sender.use(client);
  const sending = sender.run();
  await sender.acks(100);
  await pg.stop("fast");
  await eventually(async () => (await healthz(server)) === 503, "/healthz to say degraded", 15000);
  const degraded = await rest(server, "GET", "/healthz");
  assert.equal(degraded.body.status, "degraded");
  await eventually(() => sender.unavailable.length >= 5, "sends to be answered unavailable", 15000);
  // postgres_store.h: connect_timeout + 2 * request_timeout, plus slack
  // for a loaded machine.
  for (const ms of sender.unavailable) assert.ok(ms <= connectMs + 2 * requestMs + 2000, `unavailable after ${ms} ms`);
  await pg.start();
  await eventually(async () => (await healthz(server)) === 200, "/healthz to be ok again", 20000);
  await deadline(sending, 60000, "every message to be acknowledged");
  const history = await fullHistory(client, room);
  assert.equal(history.length, 600);
  checkHistory(history, sender.acked);
  client.close();
  assert.equal(await server.stop(), 0);
  assert.match(server.log(), /msg="store unreachable/);
  assert.match(server.log(), /msg="store reachable again"/);
  assert.match(server.log(), new RegExp(`127\\.0\\.0\\.1:${pg.port}`));
  assert.doesNotMatch(server.log(), new RegExp(PASSWORD));
});

test("PostgreSQL unreachable at start: chatd retries for --pg-start-timeout, then exits 1 naming the server, never the password", T, async () => {
  const blocker = createServer();
  blocker.listen(0, "127.0.0.1");
  await once(blocker, "listening");
  const port = blocker.address().port;
  blocker.close();  // nothing listens there now
  const t0 = Date.now();
  const r = await runChatd(["--dev", "--host", "127.0.0.1", "--port", "0", "--data-dir", tempDir(), "--store", "postgres",
    "--pg-start-timeout", "1500"], { env: { CHATD_PG_URL: `postgresql://chat:pw-at-start@127.0.0.1:${port}/chat` }, ms: 30000 });
  const took = Date.now() - t0;
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${port}.*cannot connect`));
  assert.doesNotMatch(r.stdout + r.stderr, /pw-at-start/);
  assert.ok(took >= 1000, `gave up after ${took} ms`);
  // --store postgres without a URL is a usage error.
  const bare = await runChatd(["--dev", "--data-dir", tempDir(), "--store", "postgres"]);
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /--pg-url/);
});
