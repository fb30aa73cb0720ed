// End-to-end: reactions across the nodes of a cluster (lib/cluster.mjs;
// with CLUSTER_THREADS=2 every node runs two loops, each a node of its
// own, so this also crosses loops of one process). A reaction made through
// one node reaches the room's sockets on every node, each with `me` filled
// in for its own user by the node it is on; history read through another
// node shows the same summary; changes made at once through every node
// end, on every socket, with the summary history shows. Single-node cases:
// reactions.test.mjs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect, rest, ok, person, uid, eventually, API_KEY } from "./lib/harness.mjs";
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

// Waits for message:reactions of `id` showing `reactions` on `c`.
const shows = (c, id, reactions) => {
  const want = JSON.stringify(reactions);
  return c.next("message:reactions", (e) => e.id === id && JSON.stringify(e.reactions) === want);
};

test("a reaction through one node reaches every node's sockets, with `me` for each socket's user", T, async () => {
  const ann = person("ann"), bob = person("bob"), cy = person("cy");
  const r = await rest(node(1), "POST", "/api/rooms", {
    token: API_KEY, body: { kind: "group", id: uid("creact-"), createdBy: ann.id, members: [bob.id, cy.id] },
  });
  assert.equal(r.status, 201, r.text);
  const room = r.body.room.id;
  const a = await connect(node(1), ann.token);
  const b = await connect(node(2), bob.token);
  const c3 = await connect(node(3), cy.token);
  const c1 = await connect(node(1), cy.token); // Cy's second tab, on Ann's node
  const clients = [a, b, c3, c1];
  try {
    for (const c of clients) ok(await c.call("room:join", { room }));
    const { id } = ok(await a.call("message:send", { room, text: "across" })).message;
    for (const c of [b, c3, c1]) await c.next("message:new", (e) => e.message.id === id);

    ok(await a.call("reaction:add", { id, emoji: "👍" }));
    const one = { room, id, reactions: [{ emoji: "👍", count: 1 }] };
    assert.deepEqual(await shows(a, id, [{ emoji: "👍", count: 1, me: true }]),
      { room, id, reactions: [{ emoji: "👍", count: 1, me: true }] });
    assert.deepEqual(await shows(b, id, one.reactions), one, "node 2");
    assert.deepEqual(await shows(c3, id, one.reactions), one, "node 3");
    assert.deepEqual(await shows(c1, id, one.reactions), one, "node 1, another user");

    ok(await b.call("reaction:add", { id, emoji: "👍" }));
    ok(await b.call("reaction:add", { id, emoji: ":tada:" }));
    const both = [{ emoji: "👍", count: 2, me: true }, { emoji: ":tada:", count: 1 }];
    await shows(a, id, both);
    await shows(b, id, [{ emoji: "👍", count: 2, me: true }, { emoji: ":tada:", count: 1, me: true }]);
    await shows(c3, id, [{ emoji: "👍", count: 2 }, { emoji: ":tada:", count: 1 }]);

    // Cy reacts through node 3; both his tabs see it as his.
    ok(await c3.call("reaction:add", { id, emoji: "👍" }));
    const cys = [{ emoji: "👍", count: 3, me: true }, { emoji: ":tada:", count: 1 }];
    await shows(c3, id, cys);
    await shows(c1, id, cys);
    await shows(a, id, cys);

    // History through node 3 for Bob, and for Ann through node 2.
    const seen = async (user, on) => {
      const c = await connect(node(on), user.token);
      try {
        return ok(await c.call("message:history", { room })).messages.find((m) => m.id === id).reactions;
      } finally {
        c.close();
      }
    };
    assert.deepEqual(await seen(bob, 3), [{ emoji: "👍", count: 3, me: true }, { emoji: ":tada:", count: 1, me: true }]);
    assert.deepEqual(await seen(ann, 2), cys);

    ok(await a.call("reaction:remove", { id, emoji: "👍" }));
    await shows(b, id, [{ emoji: "👍", count: 2, me: true }, { emoji: ":tada:", count: 1, me: true }]);
    await shows(c3, id, [{ emoji: "👍", count: 2, me: true }, { emoji: ":tada:", count: 1 }]);
    await shows(a, id, [{ emoji: "👍", count: 2 }, { emoji: ":tada:", count: 1 }]);
  } finally {
    for (const c of clients) c.close();
  }
});

test("reactions made at once through three nodes end, on every socket, with the summary history shows", T, async () => {
  const users = [person("ann"), person("bob"), person("cy")];
  const r = await rest(node(1), "POST", "/api/rooms", {
    token: API_KEY, body: { kind: "group", id: uid("crace-"), createdBy: users[0].id, members: [users[1].id, users[2].id] },
  });
  assert.equal(r.status, 201, r.text);
  const room = r.body.room.id;
  const clients = await Promise.all(users.map((u, i) => connect(node(i + 1), u.token)));
  try {
    for (const c of clients) ok(await c.call("room:join", { room }));
    const { id } = ok(await clients[0].call("message:send", { room, text: "race" })).message;
    for (const c of clients.slice(1)) await c.next("message:new", (e) => e.message.id === id);
    // Rounds of three changes at the same instant, one through each node.
    const emojis = ["👍", "🎉", "❤️", ":a:", ":b:", ":c:"];
    for (let round = 0; round < 30; ++round) {
      await Promise.all(clients.map(async (c, i) => {
        const emoji = emojis[(round + i) % emojis.length];
        ok(await c.call(round % 3 === 2 ? "reaction:remove" : "reaction:add", { id, emoji }));
      }));
    }
    // The last event each socket got (not just one of them) is the final state.
    for (const [i, c] of clients.entries()) {
      const final = JSON.stringify(ok(await c.call("message:history", { room })).messages.find((m) => m.id === id).reactions ?? []);
      const last = () => c.events.filter((e) => e.event === "message:reactions" && e.args[0].id === id).at(-1)?.args[0].reactions;
      await eventually(() => JSON.stringify(last()) === final,
        `node ${i + 1}: the last message:reactions to show ${final}, as history does`);
    }
  } finally {
    for (const c of clients) c.close();
  }
});
