// End-to-end: answers far bigger than a connection's send queue. A client
// rejoining a room of long messages with afterSeq, and a user in many rooms
// with long last messages asking for rooms:list, must not be cut off as
// too slow by the server itself: the replay stops when the connection is
// backed up (or at --max-answer-bytes) and says replayTruncated, history
// pages and rooms:list pages stay under the same bound, and the documented
// flows (page the rest with message:history; follow rooms:list's
// nextCursor) reach every message and every room exactly once. One chatd
// keeps the default 4 MiB queue; one has a 256 KiB queue so that the
// rooms can be small and the test fast.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChatd, connect, userToken, ok, uid, person, deadline, WAIT_MS } from "./lib/harness.mjs";

// Nearly 4,000 two-byte characters: about 8.3 KB per message:new.
const LONG = "é".repeat(3990);
const FAST = ["--message-rate", "10000", "--message-burst", "10000", "--sqlite-sync", "normal"];

let big, small;
before(async () => {
  [big, small] = await Promise.all([
    startChatd({ args: FAST }),
    startChatd({ args: [...FAST, "--max-queued-bytes", String(256 * 1024)] }),
  ]);
});
after(async () => {
  assert.equal(await big?.stop(), 0);
  assert.equal(await small?.stop(), 0);
});

const T = { timeout: 90000 };


// Sends `count` long messages, `inFlight` acks awaited at a time (the
// sender gets each back twice, as ack and message:new: under a small
// queue few may be in flight).
async function fill(c, room, count, inFlight = 50) {
  for (let i = 0; i < count; i += inFlight) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + inFlight); j++) batch.push(c.call("message:send", { room, text: `${j + 1} ${LONG}` }));
    for (const a of await Promise.all(batch)) ok(a);
  }
}

// Resolves when the socket goes away, so a wait can fail fast instead of
// running into its deadline.
function dropped(c) {
  return new Promise((resolve) => c.socket.once("disconnect", (reason) => resolve(reason)));
}

// The reconnect flow of docs/protocol.md: join with afterSeq, take the
// replay (the message:new events up to the ack's replayLastSeq), then page
// the rest with message:history from there. Live messages may overtake
// the ack; they are returned apart (`early`). `seqs` is the replay and the
// pages, in arrival order.
async function rejoin(c, room, afterSeq) {
  const gone = dropped(c);
  const { ack, before } = await deadline(Promise.race([
    new Promise((resolve) => c.socket.emit("room:join", { room, afterSeq }, (ack) =>
      resolve({ ack, before: c.drain("message:new").map((e) => e.message.seq) }))),
    gone.then((reason) => { throw new Error(`disconnected during room:join: ${reason}`); }),
  ]), 20000, "room:join with afterSeq");
  ok(ack);
  const seqs = before.filter((s) => s <= ack.replayLastSeq);
  assert.deepEqual(seqs, range(afterSeq + 1, ack.replayLastSeq), "the replay is the oldest missed messages, in order");
  const early = before.filter((s) => s > ack.replayLastSeq);
  let after = ack.replayLastSeq;
  let more = ack.replayTruncated;
  for (let pages = 0; more; pages++) {
    assert.ok(pages < 1000, "paging ends");
    const page = ok(await c.call("message:history", { room, after, limit: 200 }, 10000));
    assert.ok(page.messages.length > 0);
    seqs.push(...page.messages.map((m) => m.seq));
    after = page.messages[page.messages.length - 1].seq;
    more = page.hasMore;
  }
  return { ack, seqs, early };
}

function range(from, to) {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

test("default 4 MiB queue: rejoining a room of 1,200 long messages keeps the socket and reaches every message", T, async () => {
  const ann = person("ann"), bob = person("bob");
  const a = await connect(big, ann.token);
  try {
    const room = ok(await a.call("room:create", { kind: "group", members: [bob.id] })).room.id;
    await fill(a, room, 1200);
    const b = await connect(big, bob.token);
    try {
      const { ack, seqs } = await rejoin(b, room, 0);
      assert.equal(ack.replayTruncated, true, "8 MB of replay does not fit");
      assert.equal(ack.lastSeq, 1200);
      assert.deepEqual(seqs, range(1, 1200), "each message once, in order");
      assert.ok(b.connected, "the server kept its client");
      // Live messages still arrive on the same socket.
      ok(await a.call("message:send", { room, text: "live" }));
      assert.equal((await b.next("message:new", (e) => e.message.seq === 1201)).message.text, "live");
    } finally {
      b.close();
    }
  } finally {
    a.close();
  }
});

test("default 4 MiB queue: rooms:list of 120 big rooms with long last messages pages instead of cutting the user off", T, async () => {
  const mallory = person("mallory"), victim = person("victim");
  const m = await connect(big, mallory.token);
  const roomIds = [];
  try {
    // Anyone can put anyone in a room: 998 made-up members make each room
    // object ~40 KB, and a long last message adds 8 KB.
    const filler = Array.from({ length: 998 }, (_, i) => `filler-${i}-${mallory.id}`);
    for (let i = 0; i < 120; i++) {
      const r = ok(await m.call("room:create", { kind: "group", members: [victim.id, ...filler] }, 10000)).room;
      ok(await m.call("message:send", { room: r.id, text: LONG }));
      roomIds.push(r.id);
    }
  } finally {
    m.close();
  }
  const v = await connect(big, victim.token);
  try {
    const gone = dropped(v);
    const first = await Promise.race([
      v.call("rooms:list", {}, 20000),
      gone.then((reason) => { throw new Error(`disconnected during rooms:list: ${reason}`); }),
    ]);
    ok(first);
    assert.equal(first.hasMore, true, "5.8 MB of rooms are not one answer");
    assert.ok(first.rooms.length >= 1 && first.rooms.length < 120);
    const seen = first.rooms.map((s) => s.room.id);
    let cursor = first.nextCursor;
    for (let pages = 0; cursor; pages++) {
      assert.ok(pages < 200, "paging ends");
      const page = ok(await v.call("rooms:list", { cursor }, 10000));
      seen.push(...page.rooms.map((s) => s.room.id));
      cursor = page.hasMore ? page.nextCursor : null;
    }
    assert.deepEqual([...seen].sort(), [...roomIds].sort(), "every room once");
    assert.ok(v.connected, "the server kept its client");
  } finally {
    v.close();
  }
});

test("small queue: several big replays at once, on one socket, stop at the backpressure and all answer", T, async () => {
  const ann = person("ann"), bob = person("bob");
  const a = await connect(small, ann.token);
  const rooms = [];
  try {
    for (let i = 0; i < 3; i++) {
      const room = ok(await a.call("room:create", { kind: "group", members: [bob.id] })).room.id;
      await fill(a, room, 100, 5); // 830 KB each, over three times the 256 KiB queue
      rooms.push(room);
    }
  } finally {
    a.close();
  }
  const b = await connect(small, bob.token);
  try {
    const gone = dropped(b);
    const acks = await Promise.race([
      Promise.all(rooms.map((room) => b.call("room:join", { room, afterSeq: 0 }, 20000))),
      gone.then((reason) => { throw new Error(`disconnected during the joins: ${reason}`); }),
    ]);
    for (const ack of acks) {
      ok(ack);
      assert.equal(ack.replayTruncated, true);
    }
    // Each room's replay is a prefix 1..replayLastSeq of it, once.
    const events = b.drain("message:new").map((e) => e.message);
    for (const [i, room] of rooms.entries()) {
      const got = events.filter((msg) => msg.room === room).map((msg) => msg.seq);
      assert.deepEqual(got, range(1, acks[i].replayLastSeq), `replay of room ${i}`);
    }
    // The rest of one room, by history pages that each fit the queue.
    let after = acks[0].replayLastSeq, pages = 0;
    for (let more = true; more; pages++) {
      assert.ok(pages < 200);
      const page = ok(await b.call("message:history", { room: rooms[0], after, limit: 200 }, 10000));
      assert.ok(page.messages.length > 0 && page.messages[0].seq === after + 1);
      after = page.messages[page.messages.length - 1].seq;
      more = page.hasMore;
    }
    assert.equal(after, 100);
    assert.ok(pages > 1, "200 long messages are more than one answer under a 256 KiB queue");
    assert.ok(b.connected);
  } finally {
    b.close();
  }
});

test("small queue: the whole reconnect flow, twice, in a room far bigger than the queue", T, async () => {
  const ann = person("ann"), bob = person("bob");
  const a = await connect(small, ann.token);
  try {
    const room = ok(await a.call("room:create", { kind: "group", members: [bob.id] })).room.id;
    await fill(a, room, 150, 5);
    for (const from of [0, 75]) {
      const b = await connect(small, bob.token);
      try {
        const { seqs } = await rejoin(b, room, from);
        assert.deepEqual(seqs, range(from + 1, 150));
      } finally {
        b.close();
      }
    }
  } finally {
    a.close();
  }
});

test("a replay racing live messages still has no gap and no duplicate when it is cut short", T, async () => {
  const ann = person("ann"), bob = person("bob");
  const a = await connect(small, ann.token);
  const b = await connect(small, bob.token);
  try {
    const room = ok(await a.call("room:create", { kind: "group", members: [bob.id] })).room.id;
    await fill(a, room, 60, 5);
    const sends = Array.from({ length: 20 }, (_, i) => a.call("message:send", { room, text: `during ${i}` }));
    const { ack, seqs, early } = await rejoin(b, room, 0);
    const last = Math.max(...(await Promise.all(sends)).map((x) => ok(x).message.seq));
    assert.ok(ack.replayTruncated);
    assert.equal(new Set(seqs).size, seqs.length, "the replay and the pages repeat nothing");
    // Whatever came live completes the picture (the client de-duplicates by seq).
    const have = () => new Set([...seqs, ...early, ...b.events.filter((e) => e.event === "message:new").map((e) => e.args[0].message.seq)]);
    if (!have().has(last)) await b.next("message:new", (e) => e.message.seq === last).then((e) => early.push(e.message.seq));
    assert.deepEqual([...have()].sort((x, y) => x - y), range(1, last), "no gap");
  } finally {
    a.close();
    b.close();
  }
});
