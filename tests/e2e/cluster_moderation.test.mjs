// End-to-end: moderation across three chatd nodes on one PostgreSQL and
// one Redis (lib/cluster.mjs; CLUSTER_THREADS=2 runs each node with two
// loops, each a node of its own):
// - a moderator made on one node deletes on another at once (the refusal
//   a cached room would give is checked again against the store);
// - a mute given on one node silences the member on the others, and an
//   unmute lets them speak again at once;
// - slow mode set on one node holds on another;
// - a ban through one node's REST drops the user's sockets on every node
//   and every node refuses them until the ban is lifted.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client, connect, deadline, rest, ok, failed, person, uid, eventually, API_KEY } from "./lib/harness.mjs";
import { startCluster } from "./lib/cluster.mjs";

const T = { timeout: 60000 };

let cluster;
before(async () => {
  cluster = await startCluster({ nodes: 3 });
});
after(async () => {
  assert.deepEqual(await cluster?.close(), [0, 0, 0], "every node stops cleanly");
});

const node = (i) => cluster.node(i);

// A group room of `owner` (on node 1) and the others (on nodes 2, 3, ...),
// everyone joined and having read the room once on their node.
async function spreadRoom(owner, ...others) {
  const id = uid("cmod");
  const sockets = [await connect(node(1), owner.token)];
  ok(await sockets[0].call("room:create", { id, kind: "group", members: others.map((u) => u.id) }));
  for (const [k, u] of others.entries()) sockets.push(await connect(node(2 + (k % 2)), u.token));
  for (const s of sockets) ok(await s.call("room:join", { room: id }));
  return { id, sockets };
}

test("a moderator made on node 1 deletes someone's message on node 2 at once", T, async () => {
  const [ann, bob, cy] = [person("ann"), person("bob"), person("cy")];
  const { id, sockets } = await spreadRoom(ann, bob, cy);
  const [a, b, c] = sockets;
  try {
    const m = ok(await c.call("message:send", { room: id, text: "spam" })).message;
    failed(await b.call("message:delete", { id: m.id }), "forbidden");
    ok(await a.call("member:role", { room: id, userId: bob.id, role: "moderator" }));
    ok(await b.call("message:delete", { id: m.id }));
    await c.next("message:deleted", (d) => d.id === m.id);
    const log = ok(await a.call("moderation:log", { room: id }));
    assert.deepEqual(log.entries.map((e) => [e.action, e.by]), [["delete", bob.id], ["role", ann.id]]);
  } finally {
    sockets.forEach((s) => s.close());
  }
});

test("a mute on node 1 silences the member on node 2; an unmute on node 3 lets them speak at once", T, async () => {
  const [ann, bob, cy] = [person("ann"), person("bob"), person("cy")];
  const { id, sockets } = await spreadRoom(ann, bob, cy);
  const [a, b, c] = sockets;
  try {
    // Node 2 has read the room's moderation (nothing) before the mute.
    ok(await b.call("message:send", { room: id, text: "before" }));
    ok(await a.call("member:mute", { room: id, userId: bob.id, seconds: 600 }));
    await c.next("notification", (n) => n.type === "member-muted" && n.userId === bob.id);
    await eventually(async () => (await b.call("typing", { room: id, typing: true })).error?.code === "forbidden",
      "node 2 to refuse the muted member's typing");
    failed(await b.call("message:send", { room: id, text: "muted" }), "forbidden");
    // The owner unmutes through node 3; node 2 may still hold the mute,
    // but a refusal is checked again against the store.
    const a3 = await connect(node(3), ann.token);
    try {
      ok(await a3.call("member:unmute", { room: id, userId: bob.id }));
    } finally {
      a3.close();
    }
    ok(await b.call("message:send", { room: id, text: "free" }));
  } finally {
    sockets.forEach((s) => s.close());
  }
});

test("slow mode set on node 1 holds for a member on node 2", T, async () => {
  const [ann, bob] = [person("ann"), person("bob")];
  const { id, sockets } = await spreadRoom(ann, bob);
  const [a, b] = sockets;
  try {
    ok(await b.call("message:send", { room: id, text: "warm" }));
    ok(await a.call("room:slowmode", { room: id, seconds: 60 }));
    // Within a few sends node 2 has heard of it (a bounded number: each
    // allowed send starts the 60 s window, so the next is refused).
    let refused = null;
    for (let i = 0; i < 20 && !refused; ++i) {
      const r = await b.call("message:send", { room: id, text: `try ${i}` });
      if (!r.ok) refused = r;
    }
    failed(refused, "rate_limited");
    assert.match(refused.error.message, /slow mode/);
  } finally {
    sockets.forEach((s) => s.close());
  }
});

test("a ban through node 2 drops the user's sockets on every node; every node refuses them until lifted", T, async () => {
  const eve = person("eve");
  const tabs = [];
  for (let i = 1; i <= 3; ++i) tabs.push(await connect(node(i), eve.token));
  try {
    const gone = Promise.all(tabs.map((t) => new Promise((r) => t.socket.once("disconnect", r))));
    const r = await rest(node(2), "POST", `/api/users/${eve.id}/ban`, { token: API_KEY, body: { reason: "abuse" } });
    assert.equal(r.status, 200);
    assert.deepEqual(await deadline(gone, 5000, "the banned user's sockets to be dropped"), ["io server disconnect", "io server disconnect", "io server disconnect"]);
    // Every node (and, with --threads, every loop: several connects each) refuses.
    for (let i = 1; i <= 3; ++i) {
      for (let k = 0; k < 4; ++k) {
        const c = new Client(node(i), eve.token);
        try {
          await assert.rejects(c.ready(), (err) => err.message === "forbidden" && /banned: abuse/.test(err.data.message));
        } finally {
          c.close();
        }
      }
      assert.equal((await rest(node(i), "GET", "/api/rooms", { token: eve.token })).status, 403);
    }
    assert.equal((await rest(node(3), "DELETE", `/api/users/${eve.id}/ban`, { token: API_KEY })).status, 200);
    // The server's ban log (in PostgreSQL) is the same on every node.
    const log = await rest(node(1), "GET", "/api/bans/audit", { token: API_KEY });
    assert.deepEqual(log.body.entries.filter((e) => e.target === eve.id).map((e) => e.action), ["unban", "ban"]);
    for (let i = 1; i <= 3; ++i) {
      await eventually(async () => {
        const c = new Client(node(i), eve.token);
        try {
          await c.ready();
          return true;
        } catch {
          return false;
        } finally {
          c.close();
        }
      }, `node ${i} to let eve in again`);
    }
  } finally {
    tabs.forEach((t) => t.close());
  }
});
