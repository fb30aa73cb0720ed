// End-to-end: three chatd nodes on one PostgreSQL and one Redis
// (lib/cluster.mjs) behave like one chatd to stock socket.io-clients
// spread over them:
// - every story of docs/protocol.md section 8 (lib/stories.mjs), each
//   participant on another node: room broadcasts, receipts, system
//   messages, member notifications to both of a user's tabs on two nodes,
//   typing, session:state, rtc:* to a sid on another node, rtc:peer-left,
//   session:ended on every node, replay after switching node;
// - presence counted cluster-wide: presence:join/leave `online`, the join
//   ack's peers and presence, presence:list (online, lastSeen) the same on
//   every node, a user with tabs on two nodes online until both are gone;
// - session:state participants and session:ended across all three nodes;
// - replay with afterSeq on another node while messages keep coming: no
//   gap, no duplicate;
// - what one node acknowledged, the next request on any node sees: a
//   member added through node 1 joins through node 3 at once, a room
//   created on one node is joined on another, an acked message is in
//   history on every node;
// - each node names itself (log, /healthz, /metrics) and counts the others;
// - --bus needs a shared store: sqlite and memory are refused.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { runChatd, connect, rest, ok, failed, person, uid, tempDir, eventually, API_KEY, ISO_MS } from "./lib/harness.mjs";
import { startCluster, THREADS } from "./lib/cluster.mjs";
import { stories } from "./lib/stories.mjs";

const T = { timeout: 60000 };

let cluster;
before(async () => {
  cluster = await startCluster({ nodes: 3, args: ["--stun-urls", "stun:stun.l.google.com:19302"] });
});
after(async () => {
  assert.deepEqual(await cluster?.close(), [0, 0, 0], "every node stops cleanly");
});

const node = (i) => cluster.node(i);

// Participant i of a story talks to node i+1 (mod 3): every event crosses nodes.
for (const [name, play] of stories) test(`across nodes: ${name}`, T, () => play((i) => node(1 + (i % 3))));

// With --threads N each loop is a node of its own, named <node>-<loop>.
test("each node names itself in its log, /healthz and /metrics, and counts the other live nodes", T, async () => {
  const others = 3 * THREADS - 1;
  for (let i = 1; i <= 3; ++i) {
    const id = THREADS > 1 ? `n${i}-\\d+` : `n${i}`;
    assert.match(node(i).log(), new RegExp(`\\bnode=n${i}\\b`), "the startup log names the node");
    const h = await cluster.healthz(i);
    assert.equal(h.status, 200);
    assert.equal(h.body.status, "ok");
    assert.equal(h.body.bus, "up");
    assert.match(h.body.node, new RegExp(`^${id}$`));
    await eventually(async () => {
      const m = (await rest(node(i), "GET", "/metrics")).text;
      return new RegExp(`^chatd_node_info\\{node="${id}"\\} 1$`, "m").test(m) && /^chatd_bus_up 1$/m.test(m) &&
        new RegExp(`^chatd_cluster_nodes ${others}$`, "m").test(m);
    }, `node ${i}'s /metrics: its node id, the bus up, ${others} other nodes`);
  }
});

// A group room of `owner` with `members`, created through node `on`.
async function groupRoom(owner, members, on = 1) {
  const r = await rest(node(on), "POST", "/api/rooms", {
    token: API_KEY, body: { kind: "group", id: uid("grp-"), createdBy: owner.id, members: members.map((m) => m.id) },
  });
  assert.equal(r.status, 201, r.text);
  return r.body.room;
}

const onlineIds = (presence) => presence.filter((p) => p.online).map((p) => p.userId).sort();

test("presence is cluster-wide: online counts, join ack peers and presence, presence:list on every node, tabs on two nodes", T, async () => {
  const ann = person("ann"), bob = person("bob"), cy = person("cy"), dee = person("dee");
  const room = await groupRoom(ann, [bob, cy, dee]);
  const a = await connect(node(1), ann.token);
  const b = await connect(node(2), bob.token);
  const c1 = await connect(node(3), cy.token);
  const c2 = await connect(node(1), cy.token); // Cy's second tab, on another node
  const clients = [a, b, c1, c2];
  try {
    const aj = ok(await a.call("room:join", { room: room.id }));
    assert.deepEqual(aj.peers.map((p) => p.sid), [a.id]);
    // Node 2 learns of Ann's join over the bus, perhaps an instant after
    // her ack (docs/cluster.md): once it has, its answers include her.
    await eventually(async () => ok(await b.call("presence:list", { room: room.id })).presence.find((p) => p.userId === ann.id).online,
      "node 2 to count Ann online");
    const bj = ok(await b.call("room:join", { room: room.id }));
    assert.deepEqual(bj.peers.map((p) => p.sid).sort(), [a.id, b.id].sort(), "peers on node 1 are in node 2's ack");
    assert.deepEqual(onlineIds(bj.presence), [ann.id, bob.id].sort());
    assert.deepEqual(await a.next("presence:join"), { room: room.id, peer: { sid: b.id, userId: bob.id, name: "Bob", role: "member" }, online: 2 });

    const cj = ok(await c1.call("room:join", { room: room.id }));
    assert.deepEqual(cj.peers.map((p) => p.sid).sort(), [a.id, b.id, c1.id].sort());
    assert.deepEqual(onlineIds(cj.presence), [ann.id, bob.id, cy.id].sort());
    assert.equal(cj.presence.find((p) => p.userId === dee.id).online, false);
    for (const x of [a, b]) assert.equal((await x.next("presence:join", (e) => e.peer.sid === c1.id)).online, 3);

    // Cy's second tab: a socket more, the same three users.
    const c2j = ok(await c2.call("room:join", { room: room.id }));
    assert.equal(c2j.peers.length, 4);
    for (const x of [a, b, c1]) assert.equal((await x.next("presence:join", (e) => e.peer.sid === c2.id)).online, 3);
    for (let i = 1; i <= 3; ++i) {
      const who = [a, b, c1][i - 1];
      const pr = ok(await who.call("presence:list", { room: room.id })).presence;
      assert.deepEqual(onlineIds(pr), [ann.id, bob.id, cy.id].sort(), `presence:list on node ${i}`);
    }

    // Cy closes the tab on node 3: still online through node 1.
    const c1sid = c1.id;
    c1.close();
    for (const x of [a, b, c2]) assert.deepEqual(await x.next("presence:leave"), { room: room.id, sid: c1sid, userId: cy.id, online: 3 });
    for (const x of [a, b]) {
      const cyP = ok(await x.call("presence:list", { room: room.id })).presence.find((p) => p.userId === cy.id);
      assert.equal(cyP.online, true, "Cy has a tab on node 1");
    }
    // And the other one: offline everywhere, with the same lastSeen.
    const c2sid = c2.id;
    c2.close();
    for (const x of [a, b]) assert.deepEqual(await x.next("presence:leave"), { room: room.id, sid: c2sid, userId: cy.id, online: 2 });
    const seen = [];
    for (const x of [a, b]) {
      const cyP = ok(await x.call("presence:list", { room: room.id })).presence.find((p) => p.userId === cy.id);
      assert.equal(cyP.online, false);
      assert.match(cyP.lastSeen, ISO_MS);
      seen.push(cyP.lastSeen);
    }
    assert.equal(seen[0], seen[1], "one lastSeen on every node");
    // A node with no socket in the room answers the same.
    const d = await connect(node(3), dee.token);
    clients.push(d);
    const dj = ok(await d.call("room:join", { room: room.id }));
    assert.deepEqual(onlineIds(dj.presence), [ann.id, bob.id, dee.id].sort());
    assert.equal(dj.presence.find((p) => p.userId === cy.id).lastSeen, seen[0]);
  } finally {
    for (const x of clients) x.close();
  }
});

test("a session across three nodes: session:state participants from all, signalling between nodes, session:ended everywhere", T, async () => {
  const tutor = person("tutor", { role: "tutor" }), s1 = person("sam"), s2 = person("sue");
  const created = await rest(node(2), "POST", "/api/rooms", {
    token: API_KEY, body: { kind: "session", id: uid("lesson-"), createdBy: tutor.id, members: [s1.id, s2.id] },
  });
  assert.equal(created.status, 201, created.text);
  const { room } = created.body;
  const t = await connect(node(1), tutor.token), a = await connect(node(2), s1.token), b = await connect(node(3), s2.token);
  try {
    ok(await t.call("room:join", { room: room.id }));
    ok(await a.call("room:join", { room: room.id }));
    ok(await b.call("room:join", { room: room.id }));
    const sids = [t.id, a.id, b.id].sort();
    for (const x of [t, a, b]) {
      const st = await x.next("session:state", (e) => e.participants.length === 3);
      assert.deepEqual(st.participants.map((p) => p.sid).sort(), sids);
      assert.equal(st.status, "active");
    }
    // Each node tells its sockets its own view as the joins reach it: a state
    // of two taken before the third join arrived must not answer the wait
    // for two after the leave below.
    for (const x of [t, a, b]) x.drain("session:state");
    // Node 2 relays to node 3 and back, node 3 to node 1.
    const sdp = { type: "offer", sdp: "v=0\r\n" };
    ok(await a.call("rtc:offer", { room: room.id, to: b.id, sdp }));
    assert.deepEqual(await b.next("rtc:offer"), { room: room.id, from: a.id, sdp });
    ok(await b.call("rtc:answer", { room: room.id, to: a.id, sdp: { type: "answer", sdp: "v=0\r\n" } }));
    assert.equal((await a.next("rtc:answer")).from, b.id);
    ok(await b.call("rtc:ice", { room: room.id, to: t.id, candidate: null }));
    assert.deepEqual(await t.next("rtc:ice"), { room: room.id, from: b.id, candidate: null });
    failed(await t.call("rtc:offer", { room: room.id, to: "no-such-sid", sdp }), "peer_not_found");

    // Leaving on node 3: node 1 and 2 learn it.
    const bsid = b.id;
    ok(await b.call("room:leave", { room: room.id }));
    for (const x of [t, a]) {
      assert.deepEqual(await x.next("presence:leave"), { room: room.id, sid: bsid, userId: s2.id, online: 2 });
      assert.deepEqual(await x.next("rtc:peer-left"), { room: room.id, sid: bsid, userId: s2.id });
      assert.equal((await x.next("session:state", (e) => e.participants.length === 2)).participants.some((p) => p.sid === bsid), false);
    }
    ok(await b.call("room:join", { room: room.id }));
    for (const x of [t, a]) await x.next("session:state", (e) => e.participants.length === 3);

    // Ended through node 2: every node's sockets get session:ended and are out.
    const ended = ok(await a.call("session:end", { room: room.id })).room;
    for (const x of [t, a, b]) {
      const e = await x.next("session:ended");
      assert.deepEqual({ room: e.room, endedAt: e.endedAt }, { room: room.id, endedAt: ended.endedAt });
    }
    failed(await b.call("rtc:offer", { room: room.id, to: t.id, sdp }), "room_ended");
    failed(await t.call("typing", { room: room.id, typing: true }), "room_ended");
    // Each node writes its own sockets' lastSeen: another node's write may
    // land an instant after this node's answer.
    for (const x of [t, a, b]) {
      let pr;
      await eventually(async () => {
        pr = ok(await x.call("presence:list", { room: room.id })).presence;
        return pr.every((p) => p.online === false && p.lastSeen === ended.endedAt);
      }, "every participant offline, last seen at the end", 3000).catch((e) => assert.fail(`${e.message}: ${JSON.stringify(pr)}`));
    }
    for (const x of [t, a, b]) await x.barrier();
    for (const x of [t, a, b]) assert.deepEqual([...x.drain("presence:leave"), ...x.drain("rtc:peer-left")], [], "taken out without leave events");
  } finally {
    t.close();
    a.close();
    b.close();
  }
});

test("replay after switching node while messages keep coming: every seq once", T, async () => {
  const ann = person("ann"), bob = person("bob"), cy = person("cy");
  const room = await groupRoom(ann, [bob, cy]);
  const senders = [await connect(node(1), ann.token), await connect(node(2), cy.token)];
  let b = await connect(node(1), bob.token);
  const got = [];
  try {
    ok(await b.call("room:join", { room: room.id }));
    b.socket.on("message:new", ({ message }) => got.push(message.seq));
    for (let i = 0; i < 10; ++i) ok(await senders[i % 2].call("message:send", { room: room.id, text: `before ${i}` }));
    await b.barrier();
    // Wait for the last one that node 1 acked through node 2 (delivery across nodes).
    await b.next("message:new", (e) => e.message.text === "before 9");
    const lastSeq = Math.max(...got);
    assert.equal(lastSeq, 10);
    b.close();

    // Messages while Bob is away and while he rejoins through node 3.
    for (let i = 0; i < 10; ++i) ok(await senders[i % 2].call("message:send", { room: room.id, text: `away ${i}` }));
    b = await connect(node(3), bob.token);
    const after = [];
    b.socket.on("message:new", ({ message }) => after.push(message.seq));
    const sending = (async () => {
      for (let i = 0; i < 30; ++i) ok(await senders[i % 2].call("message:send", { room: room.id, text: `during ${i}` }));
    })();
    const j = ok(await b.call("room:join", { room: room.id, afterSeq: lastSeq }));
    assert.equal(j.replayTruncated, false);
    await sending;
    const total = 50;
    await b.next("message:new", (e) => e.message.seq === total, 10000);
    // Messages of senders on different nodes cross the bus on different
    // paths: live ones may arrive a few places out of seq order (clients
    // order by seq, docs/cluster.md); none is missing or repeated.
    assert.deepEqual([...after].sort((x, y) => x - y), Array.from({ length: total - lastSeq }, (_, i) => lastSeq + 1 + i),
      "no gap, no duplicate");
  } finally {
    for (const s of senders) s.close();
    b.close();
  }
});

test("what one node acknowledged, the next request on any node sees", T, async () => {
  const ann = person("ann"), bob = person("bob"), cy = person("cy");
  const a = await connect(node(1), ann.token), b3 = await connect(node(3), bob.token), c2 = await connect(node(2), cy.token);
  try {
    // A room created through node 1 is known to node 2 and 3 at once, even
    // right after they answered not_found for it.
    const id = uid("fresh-");
    failed(await b3.call("room:join", { room: id }), "not_found");
    failed(await c2.call("room:get", { room: id }), "not_found");
    ok(await a.call("room:create", { kind: "group", id, members: [bob.id] }));
    ok(await b3.call("room:join", { room: id }));
    failed(await c2.call("room:get", { room: id }), "forbidden");

    // A member added through node 1 joins through node 3 at once, right
    // after node 3 refused them (its cached answer is no reason to refuse).
    for (let i = 0; i < 5; ++i) {
      const room = await groupRoom(ann, [], 1);
      failed(await c2.call("room:join", { room: room.id }), "forbidden");
      ok(await a.call("member:add", { room: room.id, userId: cy.id }));
      ok(await c2.call("room:join", { room: room.id }), `round ${i}`);
      ok(await c2.call("message:send", { room: room.id, text: "thanks" }));
      // And removed through node 1: refused through node 2 as soon as node
      // 2 heard of it (a cached view may lag for an instant, issue 13).
      ok(await a.call("member:remove", { room: room.id, userId: cy.id }));
      await eventually(async () => {
        const r = await c2.call("message:send", { room: room.id, text: "still?" });
        return r.ok === false && r.error.code === "forbidden";
      }, "node 2 to refuse the removed member", 2000);
    }

    // A message acked on one node is in the history of every node at once.
    for (let i = 0; i < 10; ++i) {
      const from = [a, b3][i % 2];
      const m = ok(await from.call("message:send", { room: id, text: `m${i}` })).message;
      for (const x of [a, b3]) {
        const h = ok(await x.call("message:history", { room: id, after: m.seq - 1 }));
        assert.deepEqual(h.messages.map((y) => y.id), [m.id]);
      }
      const r = await rest(node(2), "GET", `/api/rooms/${id}/messages?after=${m.seq - 1}`, { token: bob.token });
      assert.deepEqual(r.body.messages.map((y) => y.id), [m.id], "REST on node 2");
      const edited = ok(await from.call("message:edit", { id: m.id, text: `m${i}!` })).message;
      const again = await rest(node(2), "GET", `/api/rooms/${id}/messages?after=${m.seq - 1}`, { token: bob.token });
      assert.equal(again.body.messages[0].text, edited.text, "an edit too");
    }
  } finally {
    a.close();
    b3.close();
    c2.close();
  }
});

// Exit 2, like every other refused configuration (process.test.mjs).
test("--bus needs a shared store: sqlite and memory are refused with exit 2", T, async () => {
  for (const store of ["sqlite", "memory"]) {
    const r = await runChatd(["--store", store, "--data-dir", tempDir(), "--bus", cluster.redis.url, "--port", "0", "--host", "127.0.0.1"]);
    assert.equal(r.code, 2, `--store ${store}: ${r.stderr}`);
    assert.match(r.stderr + r.stdout, /shared store/, `--store ${store}`);
  }
});
