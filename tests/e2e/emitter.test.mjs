// End-to-end: an application backend talks to chatd's sockets through the
// stock @socket.io/redis-emitter (with a node-redis client), on the Redis
// that two chatd nodes share as their bus (--bus; PostgreSQL as the shared
// store, lib/pg.mjs; a throwaway redis-server, lib/redis.mjs). Stock
// socket.io-clients on both nodes.
// - emitter.emit() reaches every socket on both nodes;
// - emitter.to("room:<id>") reaches exactly the sockets that joined chat
//   room <id>, on both nodes (not a member who never joined, not a socket
//   in another room); to([...]) several rooms; except() leaves rooms out;
// - emitter.of("/other") reaches nobody on "/";
// - what chatd cannot deliver (binary arguments, bytes that are no emitter
//   message) reaches nobody and leaves both nodes serving.
// "Never arrived" is proven by a later broadcast (a marker) that every
// socket receives: one emitter connection publishes in order, and a node
// delivers what it reads from Redis in order.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { npmPackage } from "../lib/needs.mjs";
import { startChatd, connect, ok, rest, person, uid, eventually, deadline } from "./lib/harness.mjs";
import { startPostgres } from "./lib/pg.mjs";
import { startRedis } from "./lib/redis.mjs";

const interop = new URL("../interop", import.meta.url).pathname;
const { Emitter } = npmPackage(interop, "@socket.io/redis-emitter");
const { createClient } = npmPackage(interop, "redis");

const T = { timeout: 60000 };

let pg;
let redis;
let nodes = [];
let client;   // the backend's node-redis connection
let emitter;

before(async () => {
  pg = await startPostgres();
  await pg.sql("CREATE DATABASE e2e_emitter");
  redis = await startRedis();
  const args = (id) => ["--pg-url", pg.url("e2e_emitter"), "--bus", redis.url, "--node-id", id];
  // One after the other: the first creates the schema.
  nodes.push(await startChatd({ store: "postgres", args: args("node-a") }));
  nodes.push(await startChatd({ store: "postgres", args: args("node-b") }));
  client = createClient({ url: redis.url });
  client.on("error", () => {});  // reported by the failing command instead
  await deadline(client.connect(), 5000, "node-redis to connect");
  emitter = new Emitter(client);
});

after(async () => {
  await client?.quit().catch(() => {});
  for (const n of nodes) assert.equal(await n.stop(), 0, "chatd exits cleanly");
  await redis?.close();
  await pg?.close();
});

// Resolves once `n` Redis connections subscribe to `channel` (each node
// subscribes once it has a socket that needs it).
async function subscribed(channel, n) {
  await eventually(async () => {
    const [, count] = await client.sendCommand(["PUBSUB", "NUMSUB", channel]);
    return Number(count) >= n;
  }, `${n} chatd nodes to subscribe to ${channel}`, 10000);
}

// Every argument of the next `event` to `sock` (Client.next gives the first).
function argsOf(sock, event) {
  return deadline(new Promise((resolve) => sock.socket.once(event, (...args) => resolve(args))), 5000, `event ${event}`);
}

// Everybody on "/" receives the marker; events emitted before it that a
// socket has not received by then were never sent to it.
let markers = 0;
async function settle(sockets) {
  await subscribed("socket.io#/#", 2);
  const n = ++markers;
  emitter.emit("marker", n);
  await Promise.all(sockets.map((s) => s.next("marker", (m) => m === n)));
}

// ann, bob: members of room r1, ann joined on node a, bob on node b.
// cat: joined room r2 on node a. dan: member of r2 (never joined) on node b.
async function cast() {
  const [a, b] = nodes;
  const ann = person("ann"), bob = person("bob"), cat = person("cat"), dan = person("dan");
  const s = {
    ann: await connect(a, ann.token),
    bob: await connect(b, bob.token),
    cat: await connect(a, cat.token),
    dan: await connect(b, dan.token),
  };
  const r1 = ok(await s.ann.call("room:create", { kind: "group", id: uid("course-"), members: [bob.id] })).room.id;
  const r2 = ok(await s.cat.call("room:create", { kind: "group", id: uid("club-"), members: [dan.id] })).room.id;
  ok(await s.ann.call("room:join", { room: r1 }));
  ok(await s.bob.call("room:join", { room: r1 }));  // node b: the room is in the shared store
  ok(await s.cat.call("room:join", { room: r2 }));
  await subscribed(`socket.io#/#room:${r1}#`, 2);
  await subscribed(`socket.io#/#room:${r2}#`, 1);
  const all = Object.values(s);
  return { s, r1, r2, all, close: () => all.forEach((c) => c.close()) };
}

test("emitter.emit() reaches every socket on both nodes, with every argument", T, async () => {
  const c = await cast();
  try {
    await subscribed("socket.io#/#", 2);
    const payload = { text: "maintenance at 22:00", minutes: 15, ratio: 0.5, tags: ["ops", "é"], none: null, on: true };
    const got = c.all.map((sock) => argsOf(sock, "announce"));
    emitter.emit("announce", payload, 2, "two", [1, [2]]);
    for (const args of await Promise.all(got)) assert.deepEqual(args, [payload, 2, "two", [1, [2]]]);
    emitter.volatile.emit("volatile", "dropped only under pressure");
    await Promise.all(c.all.map((sock) => sock.next("volatile")));
  } finally {
    c.close();
  }
});

test("emitter.to(\"room:<id>\") reaches the sockets that joined that chat room, on both nodes, and nobody else", T, async () => {
  const c = await cast();
  const { ann, bob, cat, dan } = c.s;
  try {
    emitter.to(`room:${c.r1}`).emit("lesson", { starts: "now" });
    assert.deepEqual(await ann.next("lesson"), { starts: "now" });
    assert.deepEqual(await bob.next("lesson"), { starts: "now" });
    await settle(c.all);
    assert.deepEqual(cat.drain("lesson"), [], "a socket in another room");
    assert.deepEqual(dan.drain("lesson"), [], "a socket in no room");

    emitter.to(`room:${c.r2}`).emit("club", 1);
    assert.equal(await cat.next("club"), 1);
    await settle(c.all);
    assert.deepEqual(dan.drain("club"), [], "a member of the room who never joined it");
    assert.deepEqual(ann.drain("club"), []);
    assert.deepEqual(bob.drain("club"), []);

    // Several rooms: published on the broadcast channel with the room list.
    emitter.to([`room:${c.r1}`, `room:${c.r2}`]).emit("both", "x");
    await Promise.all([ann, bob, cat].map((sock) => sock.next("both")));
    await settle(c.all);
    assert.deepEqual(dan.drain("both"), []);
    for (const sock of [ann, bob, cat]) assert.deepEqual(sock.drain("both"), [], "delivered once");
  } finally {
    c.close();
  }
});

test("emitter.except(\"room:<id>\") leaves that room's sockets out, on both nodes", T, async () => {
  const c = await cast();
  const { ann, bob, cat, dan } = c.s;
  try {
    emitter.except(`room:${c.r1}`).emit("notice", "not for r1");
    assert.equal(await cat.next("notice"), "not for r1");
    assert.equal(await dan.next("notice"), "not for r1");
    await settle(c.all);
    assert.deepEqual(ann.drain("notice"), []);
    assert.deepEqual(bob.drain("notice"), []);

    emitter.to([`room:${c.r1}`, `room:${c.r2}`]).except(`room:${c.r2}`).emit("narrow", 1);
    await ann.next("narrow");
    await bob.next("narrow");
    await settle(c.all);
    assert.deepEqual(cat.drain("narrow"), []);
    assert.deepEqual(dan.drain("narrow"), []);
  } finally {
    c.close();
  }
});

test("emitter.of(\"/other\") reaches nobody on \"/\"", T, async () => {
  const c = await cast();
  try {
    emitter.of("/other").emit("elsewhere", 1);
    emitter.of("/other").to(`room:${c.r1}`).emit("elsewhere", 2);
    // The packet names its namespace too: "/other" published on "/"'s
    // channels (a publisher that mixes them up) still reaches nobody.
    const misrouted = new Emitter({ publish: (ch, msg) => client.publish(ch.replace("#/other#", "#/#"), msg) });
    misrouted.of("/other").emit("elsewhere", 3);
    misrouted.of("/other").to(`room:${c.r1}`).emit("elsewhere", 4);
    await settle(c.all);
    for (const sock of c.all) assert.deepEqual(sock.drain("elsewhere"), []);
  } finally {
    c.close();
  }
});

test("binary arguments and bytes that are no emitter message reach nobody; both nodes keep serving", T, async () => {
  const c = await cast();
  try {
    await subscribed("socket.io#/#", 2);
    emitter.emit("file", Buffer.from([1, 2, 3]));
    await client.publish("socket.io#/#", Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]));
    await client.publish("socket.io#/#", "not msgpack at all");
    await client.publish(`socket.io#/#room:${c.r1}#`, Buffer.from([0x93, 0xc1]));
    await settle(c.all);
    for (const sock of c.all) assert.deepEqual(sock.drain("file"), []);
    for (const n of nodes) {
      const h = await rest(n, "GET", "/healthz");
      assert.equal(h.status, 200, h.text);
    }
    // And the room still works across nodes.
    emitter.to(`room:${c.r1}`).emit("after", "ok");
    await c.s.ann.next("after");
    await c.s.bob.next("after");
  } finally {
    c.close();
  }
});
