// End-to-end: a chatd cluster (lib/cluster.mjs: three nodes, one
// PostgreSQL, one Redis) through failures, with stock socket.io-clients:
// - a node SIGKILLed mid-conversation and mid-call: within the node
//   timeout (plus a margin) its users are offline on the other nodes
//   (presence:leave; presence:list offline, unless the user has another
//   connection on a live node; typing:false), their call peers get
//   rtc:peer-left and session:state, and its clients reconnect to another node and recover
//   every message by replay: no gap, no duplicate;
// - Redis stopped and started again while clients send on every node:
//   every node keeps acknowledging and delivering to its own users,
//   /healthz says degraded with the bus down meanwhile and ok after,
//   cross-node delivery resumes by itself, presence:list agrees on every
//   node again (with the joins and leaves of the outage), and clients
//   recover what they missed by replay.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { connect, rest, ok, person, uid, eventually, API_KEY, ISO_MS } from "./lib/harness.mjs";
import { startCluster, THREADS } from "./lib/cluster.mjs";
import { startPostgres } from "./lib/pg.mjs";

const T = { timeout: 90000 };
const NODE_TIMEOUT = 2;
// How long past the node timeout the other nodes may take to notice.
const MARGIN_MS = 3000;

let pg;
before(async () => {
  pg = await startPostgres();
});
after(async () => {
  await pg?.close();
});

async function room(cluster, kind, owner, members) {
  const r = await rest(cluster.node(1), "POST", "/api/rooms", {
    token: API_KEY, body: { kind, id: uid(`${kind}-`), createdBy: owner.id, members: members.map((m) => m.id) },
  });
  assert.equal(r.status, 201, r.text);
  return r.body.room;
}

// The seqs of `room` a client receives as message:new, in arrival order.
function recordSeqs(client, roomId) {
  const seqs = [];
  client.socket.on("message:new", ({ message }) => message.room === roomId && seqs.push(message.seq));
  return seqs;
}

// The highest k such that 1..k were all received.
function contiguous(seqs) {
  const have = new Set(seqs);
  let k = 0;
  while (have.has(k + 1)) ++k;
  return k;
}

const range = (from, to) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

// A client's sending loop: one message in flight, each with a clientMsgId,
// until stop(); counts acknowledgements and keeps failures. `pace` spaces
// the sends (load shaping, not synchronisation).
function sender(client, roomId, pace = 15) {
  const s = { acks: 0, failures: [], acked: [], stopped: false };
  s.done = (async () => {
    for (let i = 0; !s.stopped && i < 100000; ++i) {
      const r = await client.call("message:send", { room: roomId, text: `load ${i}`, clientMsgId: randomUUID() }).catch((e) => ({ error: e.message }));
      if (r.ok) {
        ++s.acks;
        s.acked.push(r.message.seq);
      } else {
        s.failures.push(r.error);
      }
      await new Promise((r) => setTimeout(r, pace));
    }
  })();
  s.stop = () => {
    s.stopped = true;
    return s.done;
  };
  return s;
}

// Rejoins `roomId` on a fresh socket to `server` with afterSeq = what the
// client has without a gap; resolves with the seqs that came after, once
// `lastSeq` has arrived.
async function recover(server, token, roomId, had) {
  const afterSeq = contiguous(had);
  const c = await connect(server, token);
  const seqs = recordSeqs(c, roomId);
  const j = ok(await c.call("room:join", { room: roomId, afterSeq }));
  assert.equal(j.replayTruncated, false);
  if (j.lastSeq > afterSeq) await c.next("message:new", (e) => e.message.seq === j.lastSeq, 10000);
  return { client: c, afterSeq, seqs, lastSeq: j.lastSeq };
}

test("a node SIGKILLed mid-conversation and mid-call: its users go offline elsewhere, peers get rtc:peer-left, clients recover on another node", T, async () => {
  const cluster = await startCluster({ nodes: 3, nodeTimeout: NODE_TIMEOUT, pg });
  const ann = person("ann"), bob = person("bob"), cy = person("cy"), dee = person("dee");
  const clients = [];
  let sends = [];
  const open = async (i, who, opts) => {
    const c = await connect(cluster.node(i), who.token, opts);
    clients.push(c);
    return c;
  };
  try {
    const group = await room(cluster, "group", ann, [bob, cy, dee]);
    const lesson = await room(cluster, "session", ann, [bob]);
    const a = await open(1, ann), b = await open(2, bob), c = await open(3, cy);
    const d2 = await open(2, dee), d3 = await open(3, dee); // Dee on the doomed node and on node 3
    for (const x of [a, b, c, d2, d3]) ok(await x.call("room:join", { room: group.id }));
    const bobSeqs = recordSeqs(b, group.id);
    for (const x of [a, b]) ok(await x.call("room:join", { room: lesson.id }));
    await a.next("session:state", (e) => e.participants.length === 2);

    // The call is up: offer and answer across nodes 1 and 2.
    ok(await a.call("rtc:offer", { room: lesson.id, to: b.id, sdp: { type: "offer", sdp: "v=0\r\n" } }));
    await b.next("rtc:offer");
    ok(await b.call("rtc:answer", { room: lesson.id, to: a.id, sdp: { type: "answer", sdp: "v=0\r\n" } }));
    await a.next("rtc:answer");

    // Bob is typing when his node dies.
    ok(await b.call("typing", { room: group.id, typing: true }));
    assert.equal((await a.next("typing", (e) => e.userId === bob.id)).typing, true);

    // Mid-conversation: Ann and Cy keep sending; node 2 dies after the 10th ack.
    const bobSid = b.id, deeSid = d2.id;
    sends = [sender(a, group.id, 10), sender(c, group.id, 10)];
    await eventually(() => sends[0].acks + sends[1].acks >= 10, "10 messages acknowledged");
    await cluster.kill(2);
    const killedAt = Date.now();
    const limit = NODE_TIMEOUT * 1000 + MARGIN_MS;

    // Bob's call peer and the room learn it within the node timeout.
    assert.deepEqual(await a.next("rtc:peer-left", (e) => e.room === lesson.id, limit), { room: lesson.id, sid: bobSid, userId: bob.id });
    const st = await a.next("session:state", (e) => e.participants.length === 1, limit);
    assert.deepEqual(st.participants.map((p) => p.sid), [a.id]);
    for (const x of [a, c, d3]) {
      const left = [];
      for (let i = 0; i < 2; ++i) left.push(await x.next("presence:leave", (e) => e.room === group.id, limit));
      assert.deepEqual(left.map((e) => e.sid).sort(), [bobSid, deeSid].sort());
      if (THREADS > 1) {
        // The dead process's loops are two nodes, which may expire one
        // after the other: until Bob's does, he still counts.
        assert.equal(left[1].online, 3, "Bob offline; Dee still online through node 3");
        assert.ok([3, 4].includes(left[0].online), JSON.stringify(left));
      } else {
        assert.deepEqual(left.map((e) => e.online), [3, 3], "Bob offline; Dee still online through node 3");
      }
      const bobLeft = left.find((e) => e.sid === bobSid);
      assert.equal(bobLeft.userId, bob.id);
    }
    const noticed = Date.now() - killedAt;
    assert.ok(noticed <= limit, `noticed after ${noticed} ms`);
    // A dead socket types no more: at the latest when typing expires by
    // itself (6 s without a refresh, docs/protocol.md "Typing indicators").
    assert.deepEqual(await a.next("typing", (e) => e.userId === bob.id, Math.max(limit, 6000 + MARGIN_MS)),
      { room: group.id, userId: bob.id, name: "Bob", role: "member", typing: false });
    // With --threads N every loop is a node: the other live loops.
    const others = 2 * THREADS - 1;
    // The gauge is a scrape of a loop's view, which a late heartbeat of a
    // live node under load can make flicker: it gets two node timeouts.
    for (const i of [1, 3]) {
      let seen = "";
      await eventually(async () => {
        seen = (await rest(cluster.node(i), "GET", "/metrics")).text.match(/^chatd_cluster_nodes \d+$/m)?.[0] ?? "none";
        return seen === `chatd_cluster_nodes ${others}`;
      }, `node ${i}'s /metrics to count ${others} other live node(s)`, 2 * limit).catch((e) => {
        throw new Error(`${e.message}; last scrape: ${seen}`);
      });
    }
    for (const x of [a, c]) {
      const pr = ok(await x.call("presence:list", { room: group.id })).presence;
      const bobP = pr.find((p) => p.userId === bob.id), deeP = pr.find((p) => p.userId === dee.id);
      assert.equal(bobP.online, false);
      assert.match(bobP.lastSeen, ISO_MS);
      assert.equal(deeP.online, true, "Dee has a connection on a live node");
    }

    // Bob comes back through node 3 and misses nothing.
    await Promise.all(sends.map((s) => s.stop()));
    for (const s of sends) assert.deepEqual(s.failures, [], "nodes 1 and 3 kept acknowledging");
    const back = await recover(cluster.node(3), bob.token, group.id, bobSeqs);
    clients.push(back.client);
    assert.deepEqual(back.seqs, range(back.afterSeq + 1, back.lastSeq), "replay: no gap, no duplicate");
    assert.equal(back.lastSeq, sends[0].acks + sends[1].acks);
    // And he is back in the call, reachable on node 3 (his new socket's
    // presence:join, not the one from before the kill still queued).
    ok(await back.client.call("room:join", { room: lesson.id }));
    const joined = await a.next("presence:join", (e) => e.room === lesson.id && e.peer.sid === back.client.id);
    ok(await a.call("rtc:offer", { room: lesson.id, to: joined.peer.sid, sdp: { type: "offer", sdp: "v=1\r\n" } }));
    assert.equal((await back.client.next("rtc:offer")).from, a.id);
  } finally {
    await Promise.allSettled(sends.map((s) => s.stop()));
    for (const x of clients) x.close();
    const codes = await cluster.close();
    assert.deepEqual(codes, [0, null, 0]);
  }
});

test("Redis restarted under load: nodes serve their users, /healthz degraded then ok, delivery and presence come back, replay recovers", T, async () => {
  const cluster = await startCluster({ nodes: 3, nodeTimeout: 3, pg });
  const users = [person("u1"), person("u2"), person("u3")];
  const xen = person("xen"), yan = person("yan");
  const clients = [];
  const open = async (i, who) => {
    const c = await connect(cluster.node(i), who.token);
    clients.push(c);
    return c;
  };
  let sends = [];
  try {
    const r = await room(cluster, "group", users[0], [...users.slice(1), xen, yan]);
    const cs = [];
    for (let i = 0; i < 3; ++i) cs.push(await open(i + 1, users[i]));
    const x = await open(3, xen);
    for (const c of [...cs, x]) ok(await c.call("room:join", { room: r.id }));
    const seen = cs.map((c) => recordSeqs(c, r.id));
    sends = cs.map((c) => sender(c, r.id));
    // Cross-node delivery works before the outage.
    await cs[1].next("message:new", (e) => e.message.senderId === users[0].id);

    await cluster.redis.stop();
    const down = { status: "degraded", bus: "down" };
    await eventually(async () => {
      for (let i = 1; i <= 3; ++i) {
        const h = await cluster.healthz(i);
        if (h.status !== 200 || h.body?.status !== down.status || h.body?.bus !== down.bus) return false;
      }
      return true;
    }, "every node's /healthz to say degraded, bus down", 10000);
    for (let i = 1; i <= 3; ++i) {
      const { node, ...others } = (await cluster.healthz(i)).body;
      assert.deepEqual(others, down);
      assert.match(node, new RegExp(THREADS > 1 ? `^n${i}-\\d+$` : `^n${i}$`));
    }
    const metrics = await rest(cluster.node(1), "GET", "/metrics");
    assert.match(metrics.text, /^chatd_bus_up 0$/m);

    // Every node keeps acknowledging and delivering to its own users.
    const base = sends.map((s) => s.acks);
    await eventually(() => sends.every((s, i) => s.acks >= base[i] + 5), "5 more acks from every node during the outage", 10000);
    for (let i = 0; i < 3; ++i) {
      const mark = Math.max(...sends[i].acked);
      await cs[i].next("message:new", (e) => e.message.senderId === users[i].id && e.message.seq >= mark);
    }
    // Presence changes while the nodes cannot tell each other.
    x.close();
    await cs[2].next("presence:leave", (e) => e.userId === xen.id);
    const y = await open(1, yan);
    ok(await y.call("room:join", { room: r.id }));

    await cluster.redis.start();
    await eventually(async () => {
      for (let i = 1; i <= 3; ++i) {
        const h = await cluster.healthz(i);
        if (h.status !== 200 || h.body?.status !== "ok" || h.body?.bus !== "up") return false;
      }
      return true;
    }, "every node's /healthz to say ok, bus up", 15000);
    assert.match((await rest(cluster.node(1), "GET", "/metrics")).text, /^chatd_bus_up 1$/m);

    // Cross-node delivery resumes by itself: each user hears the next node's sender.
    for (let i = 0; i < 3; ++i) {
      const from = (i + 1) % 3;
      const mark = Math.max(...sends[from].acked);
      await cs[i].next("message:new", (e) => e.message.senderId === users[from].id && e.message.seq > mark, 10000);
    }
    // Presence agrees on every node again: Xen offline, Yan online.
    const expected = [...users.map((u) => u.id), yan.id].sort();
    await eventually(async () => {
      for (const c of cs) {
        const pr = ok(await c.call("presence:list", { room: r.id })).presence;
        const online = pr.filter((p) => p.online).map((p) => p.userId).sort();
        if (JSON.stringify(online) !== JSON.stringify(expected)) return false;
      }
      return true;
    }, "presence:list to agree on every node", 15000);
    const j = ok(await cs[1].call("presence:list", { room: r.id })).presence;
    assert.match(j.find((p) => p.userId === xen.id).lastSeen, ISO_MS);

    await Promise.all(sends.map((s) => s.stop()));
    for (const s of sends) assert.deepEqual(s.failures, [], "no send failed during the outage");
    const total = sends.reduce((n, s) => n + s.acks, 0);
    // Every client recovers what it missed by replay, on the next node.
    for (let i = 0; i < 3; ++i) {
      const back = await recover(cluster.node(1 + ((i + 1) % 3)), users[i].token, r.id, seen[i]);
      clients.push(back.client);
      assert.equal(back.lastSeq, total);
      assert.deepEqual(back.seqs, range(back.afterSeq + 1, total), `user ${i + 1}: replay without gap or duplicate`);
    }
  } finally {
    await Promise.allSettled(sends.map((s) => s.stop()));
    for (const c of clients) c.close();
    const codes = await cluster.close();
    assert.deepEqual(codes, [0, 0, 0]);
  }
});
