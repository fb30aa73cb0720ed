// End-to-end: every client-to-server event of protocol section 4 succeeds
// against a real chatd with its specified ack shape, and every
// server-to-client event of section 5 reaches the sockets it should (and
// not the ones it should not), with its specified payload.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChatd, connect, userToken, ok, failed, uid, ISO_MS } from "./lib/harness.mjs";

let server;
before(async () => {
  server = await startChatd();
});
after(async () => {
  assert.equal(await server?.stop(), 0);
});

const T = { timeout: 20000 };

function assertRoomShape(room) {
  for (const k of ["id", "kind", "title", "status", "createdBy", "createdAt", "startedAt", "endedAt", "members"])
    assert.ok(k in room, `room has ${k}: ${JSON.stringify(room)}`);
  assert.match(room.createdAt, ISO_MS);
}

function assertMessageShape(m) {
  for (const k of ["id", "room", "seq", "senderId", "senderName", "senderRole", "type", "text", "replyTo",
    "attachment", "clientMsgId", "createdAt", "editedAt", "deleted"])
    assert.ok(k in m, `message has ${k}: ${JSON.stringify(m)}`);
  assert.equal(typeof m.id, "string");
  assert.ok(Number.isInteger(m.seq));
  assert.match(m.createdAt, ISO_MS);
}

// Users with fresh ids per test, each with one connected socket.
async function users(...names) {
  const out = {};
  for (const n of names) {
    const id = uid(n);
    out[n] = { id, name: n[0].toUpperCase() + n.slice(1), token: userToken(id, n[0].toUpperCase() + n.slice(1)) };
    out[n].c = await connect(server, out[n].token);
  }
  return out;
}

function closeAll(u) {
  for (const v of Object.values(u)) v.c.close();
}

test("room:create: owner, members, room-created notification to every member", T, async () => {
  const u = await users("ann", "bob", "eve");
  try {
    const a = ok(await u.ann.c.call("room:create", { kind: "group", title: "Course 101", members: [u.bob.id, u.bob.id] }));
    const room = a.room;
    assertRoomShape(room);
    assert.equal(room.kind, "group");
    assert.equal(room.title, "Course 101");
    assert.equal(room.status, "active");
    assert.equal(room.createdBy, u.ann.id);
    assert.equal(room.startedAt, room.createdAt);
    assert.equal(room.endedAt, null);
    assert.deepEqual(room.members, [{ userId: u.ann.id, role: "owner" }, { userId: u.bob.id, role: "member" }]);
    for (const who of [u.ann, u.bob]) {
      const n = await who.c.next("notification", (n) => n.room?.id === room.id);
      assert.equal(n.type, "room-created");
      assert.equal(n.by, u.ann.id);
      assert.deepEqual(n.room, room);
    }
    await u.eve.c.barrier();
    assert.deepEqual(u.eve.c.drain("notification"), []);

    // A chosen id, member objects with roles.
    const id = uid("course.101:");
    const b = ok(await u.ann.c.call("room:create", { kind: "group", id, members: [{ userId: u.bob.id, role: "tutor" }] }));
    assert.equal(b.room.id, id);
    assert.deepEqual(b.room.members[1], { userId: u.bob.id, role: "tutor" });
  } finally {
    closeAll(u);
  }
});

test("room:create direct: reused without an id, new with an id; session: scheduled with a joinToken", T, async () => {
  const u = await users("ann", "bob");
  try {
    const d1 = ok(await u.ann.c.call("room:create", { kind: "direct", members: [u.bob.id] })).room;
    assert.equal(d1.kind, "direct");
    assert.equal(d1.members.length, 2);
    const d2 = ok(await u.bob.c.call("room:create", { kind: "direct", members: [u.ann.id] })).room;
    assert.equal(d2.id, d1.id);
    const eventId = uid("event-");
    const d3 = ok(await u.ann.c.call("room:create", { kind: "direct", id: eventId, members: [u.bob.id] })).room;
    assert.equal(d3.id, eventId);

    const s = ok(await u.ann.c.call("room:create", { kind: "session", title: "Lesson", members: [u.bob.id] }));
    assert.equal(s.room.kind, "session");
    assert.equal(s.room.status, "scheduled");
    assert.equal(s.room.startedAt, null);
    assert.match(s.joinToken, /^[A-Za-z0-9_-]{43}$/);
  } finally {
    closeAll(u);
  }
});

test("room:join ack, presence:join, idempotent join, room:leave with presence:leave and rtc:peer-left", T, async () => {
  const u = await users("ann", "bob");
  try {
    const room = ok(await u.ann.c.call("room:create", { kind: "group", members: [u.bob.id] })).room;
    const aj = ok(await u.ann.c.call("room:join", { room: room.id }));
    assert.deepEqual(aj.room, room);
    assert.deepEqual(aj.peers, [{ sid: u.ann.c.id, userId: u.ann.id, name: "Ann", role: "owner" }]);
    assert.equal(aj.lastSeq, 0);
    assert.equal(aj.unread, 0);
    assert.deepEqual(aj.reads.filter((r) => r.seq > 0), []);
    assert.equal(aj.replayTruncated, false);
    const annP = aj.presence.find((p) => p.userId === u.ann.id);
    assert.deepEqual(annP, { userId: u.ann.id, name: "Ann", role: "owner", online: true, lastSeen: null });
    assert.equal(aj.presence.find((p) => p.userId === u.bob.id).online, false);

    const bj = ok(await u.bob.c.call("room:join", { room: room.id }));
    assert.equal(bj.peers.length, 2);
    const pj = await u.ann.c.next("presence:join");
    assert.deepEqual(pj, { room: room.id, peer: { sid: u.bob.c.id, userId: u.bob.id, name: "Bob", role: "member" }, online: 2 });

    ok(await u.bob.c.call("room:join", { room: room.id }));
    await u.ann.c.barrier();
    assert.deepEqual(u.ann.c.drain("presence:join"), [], "a second join announces nothing");

    assert.deepEqual(await u.bob.c.call("room:leave", { room: room.id }), { ok: true });
    assert.deepEqual(await u.ann.c.next("presence:leave"), { room: room.id, sid: u.bob.c.id, userId: u.bob.id, online: 1 });
    assert.deepEqual(await u.ann.c.next("rtc:peer-left"), { room: room.id, sid: u.bob.c.id, userId: u.bob.id });
    ok(await u.bob.c.call("room:leave", { room: room.id }));

    const pl = ok(await u.ann.c.call("presence:list", { room: room.id }));
    const bob = pl.presence.find((p) => p.userId === u.bob.id);
    assert.equal(bob.online, false);
    assert.match(bob.lastSeen, ISO_MS);
    assert.equal(pl.presence.find((p) => p.userId === u.ann.id).online, true);
  } finally {
    closeAll(u);
  }
});

test("rooms:list: the user's rooms, most recent activity first, with lastMessage and unread", T, async () => {
  const u = await users("ann", "bob");
  try {
    const r1 = ok(await u.ann.c.call("room:create", { kind: "group", title: "one", members: [u.bob.id] })).room;
    const r2 = ok(await u.ann.c.call("room:create", { kind: "group", title: "two", members: [u.bob.id] })).room;
    let list = ok(await u.bob.c.call("rooms:list", {})).rooms;
    assert.deepEqual(list.map((r) => r.room.id), [r2.id, r1.id]);
    assert.equal(list[0].lastMessage, null);
    assert.equal(list[0].unread, 0);
    const m = ok(await u.ann.c.call("message:send", { room: r1.id, text: "hello one" })).message;
    list = ok(await u.bob.c.call("rooms:list", {})).rooms;
    assert.deepEqual(list.map((r) => r.room.id), [r1.id, r2.id]);
    assert.deepEqual(list[0].lastMessage, m);
    assert.equal(list[0].unread, 1);
    const own = ok(await u.ann.c.call("rooms:list", {})).rooms;
    assert.equal(own[0].unread, 0, "one's own messages are not unread");
  } finally {
    closeAll(u);
  }
});

test("member:add and member:remove: system messages and notifications to the room and the affected user", T, async () => {
  const u = await users("ann", "bob", "cat");
  try {
    const room = ok(await u.ann.c.call("room:create", { kind: "group", members: [u.bob.id] })).room;
    ok(await u.ann.c.call("room:join", { room: room.id }));
    const add = ok(await u.ann.c.call("member:add", { room: room.id, userId: u.cat.id, role: "student" }));
    assert.deepEqual(add.room.members.at(-1), { userId: u.cat.id, role: "student" });
    const sys = await u.ann.c.next("message:new", (e) => e.message.type === "system");
    assert.equal(sys.message.text, "Ann added Cat");
    assert.equal(sys.message.senderId, u.ann.id);
    for (const who of [u.ann, u.bob, u.cat]) {
      const n = await who.c.next("notification", (n) => n.type === "member-added");
      assert.deepEqual(n, { type: "member-added", room: add.room, userId: u.cat.id, role: "student", by: u.ann.id });
    }
    // The new member's unread count includes the announcement of their addition.
    const catList = ok(await u.cat.c.call("rooms:list", {})).rooms;
    assert.equal(catList.find((r) => r.room.id === room.id).unread, 1);

    ok(await u.cat.c.call("room:join", { room: room.id }));
    const rem = ok(await u.ann.c.call("member:remove", { room: room.id, userId: u.cat.id }));
    assert.equal(rem.room.members.some((m) => m.userId === u.cat.id), false);
    const sys2 = await u.ann.c.next("message:new", (e) => e.message.type === "system" && /removed/.test(e.message.text));
    assert.equal(sys2.message.text, "Ann removed Cat");
    for (const who of [u.ann, u.bob, u.cat]) {
      const n = await who.c.next("notification", (n) => n.type === "member-removed");
      assert.deepEqual(n, { type: "member-removed", room: rem.room, userId: u.cat.id, role: "student", by: u.ann.id });
    }
    // The removed user's socket was taken out of the room.
    assert.equal((await u.ann.c.next("presence:leave")).userId, u.cat.id);
    assert.equal((await u.ann.c.next("rtc:peer-left")).userId, u.cat.id);

    // Removing oneself is leaving: "Bob left".
    ok(await u.bob.c.call("member:remove", { room: room.id, userId: u.bob.id }));
    const left = await u.ann.c.next("message:new", (e) => e.message.text === "Bob left");
    assert.equal(left.message.senderId, u.bob.id);
  } finally {
    closeAll(u);
  }
});

test("message:send: ack {message}, message:new to the room including the sender, clientMsgId, replyTo, attachment", T, async () => {
  const u = await users("ann", "bob");
  try {
    const room = ok(await u.ann.c.call("room:create", { kind: "group", members: [u.bob.id] })).room;
    ok(await u.ann.c.call("room:join", { room: room.id }));
    ok(await u.bob.c.call("room:join", { room: room.id }));
    const a = ok(await u.ann.c.call("message:send", { room: room.id, text: "héllo 👋", clientMsgId: "c-1" }));
    const m = a.message;
    assertMessageShape(m);
    assert.equal(m.room, room.id);
    assert.equal(m.seq, 1);
    assert.equal(m.senderId, u.ann.id);
    assert.equal(m.senderName, "Ann");
    assert.equal(m.senderRole, "owner");
    assert.equal(m.type, "text");
    assert.equal(m.text, "héllo 👋");
    assert.equal(m.clientMsgId, "c-1");
    assert.equal(m.deleted, false);
    assert.equal(m.editedAt, null);
    assert.deepEqual(await u.ann.c.next("message:new"), { message: m });
    assert.deepEqual(await u.bob.c.next("message:new"), { message: m });

    // A retry with the same clientMsgId stores nothing new.
    const again = ok(await u.ann.c.call("message:send", { room: room.id, text: "héllo 👋", clientMsgId: "c-1" }));
    assert.deepEqual(again.message, m);
    const reply = ok(await u.bob.c.call("message:send", { room: room.id, text: "hi", replyTo: m.id })).message;
    assert.equal(reply.seq, 2, "a retry takes no seq");
    assert.equal(reply.replyTo, m.id);
    await u.bob.c.barrier();
    assert.equal(u.bob.c.drain("message:new").filter((e) => e.message.seq === 1).length, 0, "a retry broadcasts nothing");

    // A member may send without joining, and still hears of the message.
    const unjoined = await connect(server, u.bob.token);
    try {
      const x = ok(await unjoined.call("message:send", { room: room.id, text: "from another tab" })).message;
      assert.deepEqual(await unjoined.next("message:new"), { message: x });
    } finally {
      unjoined.close();
    }

    const att = { url: "https://cdn.example.com/a.png", name: "a.png", size: 42, mime: "image/png" };
    const img = ok(await u.bob.c.call("message:send", { room: room.id, type: "image", text: "", attachment: att })).message;
    assert.equal(img.type, "image");
    assert.deepEqual(img.attachment, att);
  } finally {
    closeAll(u);
  }
});

test("message:edit and message:delete: broadcasts, soft delete in history", T, async () => {
  const u = await users("ann", "bob");
  try {
    const room = ok(await u.ann.c.call("room:create", { kind: "group", members: [u.bob.id] })).room;
    ok(await u.bob.c.call("room:join", { room: room.id }));
    const m = ok(await u.ann.c.call("message:send", { room: room.id, text: "teh answer" })).message;
    const e = ok(await u.ann.c.call("message:edit", { id: m.id, text: "the answer" })).message;
    assert.equal(e.id, m.id);
    assert.equal(e.text, "the answer");
    assert.match(e.editedAt, ISO_MS);
    assert.deepEqual(await u.bob.c.next("message:edited"), { message: e });

    assert.deepEqual(await u.ann.c.call("message:delete", { id: m.id }), { ok: true });
    assert.deepEqual(await u.bob.c.next("message:deleted"), { room: room.id, id: m.id });
    ok(await u.ann.c.call("message:delete", { id: m.id }));
    failed(await u.ann.c.call("message:edit", { id: m.id, text: "x" }), "not_found");

    const h = ok(await u.bob.c.call("message:history", { room: room.id }));
    const d = h.messages.find((x) => x.id === m.id);
    assert.equal(d.deleted, true);
    assert.equal(d.text, "");
    assert.equal(d.attachment, null);

    // The room owner may delete another member's message.
    const bm = ok(await u.bob.c.call("message:send", { room: room.id, text: "spam" })).message;
    ok(await u.ann.c.call("message:delete", { id: bm.id }));
  } finally {
    closeAll(u);
  }
});

test("message:history: newest page, before, after, both, hasMore, limit clamp", T, async () => {
  const u = await users("ann");
  try {
    const room = ok(await u.ann.c.call("room:create", { kind: "group" })).room;
    for (let i = 1; i <= 7; i++) ok(await u.ann.c.call("message:send", { room: room.id, text: `m${i}` }));
    const seqs = (h) => h.messages.map((m) => m.seq);
    let h = ok(await u.ann.c.call("message:history", { room: room.id, limit: 3 }));
    assert.deepEqual(seqs(h), [5, 6, 7]);
    assert.equal(h.hasMore, true);
    h = ok(await u.ann.c.call("message:history", { room: room.id, before: 5, limit: 3 }));
    assert.deepEqual(seqs(h), [2, 3, 4]);
    assert.equal(h.hasMore, true);
    h = ok(await u.ann.c.call("message:history", { room: room.id, before: 3, limit: 3 }));
    assert.deepEqual(seqs(h), [1, 2]);
    assert.equal(h.hasMore, false);
    h = ok(await u.ann.c.call("message:history", { room: room.id, after: 5 }));
    assert.deepEqual(seqs(h), [6, 7]);
    assert.equal(h.hasMore, false);
    h = ok(await u.ann.c.call("message:history", { room: room.id, after: 1, before: 7, limit: 2 }));
    assert.deepEqual(seqs(h), [2, 3]);
    assert.equal(h.hasMore, true);
    h = ok(await u.ann.c.call("message:history", { room: room.id, limit: 0 }));
    assert.deepEqual(seqs(h), [7], "limit is clamped to at least 1");
    h = ok(await u.ann.c.call("message:history", { room: room.id, limit: 100000 }));
    assert.equal(h.messages.length, 7);
  } finally {
    closeAll(u);
  }
});

test("message:read: broadcast receipt, never moves back, unread counts", T, async () => {
  const u = await users("ann", "bob");
  try {
    const room = ok(await u.ann.c.call("room:create", { kind: "group", members: [u.bob.id] })).room;
    ok(await u.ann.c.call("room:join", { room: room.id }));
    for (let i = 1; i <= 3; i++) ok(await u.ann.c.call("message:send", { room: room.id, text: `m${i}` }));
    let bj = ok(await u.bob.c.call("room:join", { room: room.id }));
    assert.equal(bj.unread, 3);
    assert.equal(bj.lastSeq, 3);
    assert.deepEqual(await u.bob.c.call("message:read", { room: room.id, seq: 2 }), { ok: true });
    assert.deepEqual(await u.ann.c.next("message:read"), { room: room.id, userId: u.bob.id, seq: 2 });
    assert.deepEqual(await u.bob.c.next("message:read"), { room: room.id, userId: u.bob.id, seq: 2 });
    ok(await u.bob.c.call("message:read", { room: room.id, seq: 1 }));
    await u.ann.c.barrier();
    assert.deepEqual(u.ann.c.drain("message:read"), [], "a lower pointer broadcasts nothing");
    const list = ok(await u.bob.c.call("rooms:list", {})).rooms;
    assert.equal(list.find((r) => r.room.id === room.id).unread, 1);
    ok(await u.bob.c.call("room:leave", { room: room.id }));
    bj = ok(await u.bob.c.call("room:join", { room: room.id }));
    assert.deepEqual(bj.reads.find((r) => r.userId === u.bob.id), { userId: u.bob.id, seq: 2 });
    failed(await u.bob.c.call("message:read", { room: room.id, seq: 4 }), "bad_request");
  } finally {
    closeAll(u);
  }
});

test("message:search: matches in one room, not deleted ones", T, async () => {
  const u = await users("ann");
  try {
    const room = ok(await u.ann.c.call("room:create", { kind: "group" })).room;
    const other = ok(await u.ann.c.call("room:create", { kind: "group" })).room;
    const m1 = ok(await u.ann.c.call("message:send", { room: room.id, text: "quadratic equations tonight" })).message;
    const m2 = ok(await u.ann.c.call("message:send", { room: room.id, text: "bring the quadratic worksheet" })).message;
    ok(await u.ann.c.call("message:send", { room: room.id, text: "nothing to see" }));
    ok(await u.ann.c.call("message:send", { room: other.id, text: "quadratic elsewhere" }));
    let s = ok(await u.ann.c.call("message:search", { room: room.id, q: "quadratic" }));
    assert.deepEqual(s.messages.map((m) => m.id).sort(), [m1.id, m2.id].sort());
    ok(await u.ann.c.call("message:delete", { id: m2.id }));
    s = ok(await u.ann.c.call("message:search", { room: room.id, q: "quadratic", limit: 10 }));
    assert.deepEqual(s.messages.map((m) => m.id), [m1.id]);
  } finally {
    closeAll(u);
  }
});

test("typing: others and the typist's other tabs hear changes only; stops on leave and after 6 s", { timeout: 30000 }, async () => {
  const u = await users("ann", "bob");
  const tab2 = await connect(server, u.ann.token);
  try {
    const room = ok(await u.ann.c.call("room:create", { kind: "group", members: [u.bob.id] })).room;
    for (const c of [u.ann.c, tab2, u.bob.c]) ok(await c.call("room:join", { room: room.id }));
    assert.deepEqual(await u.ann.c.call("typing", { room: room.id, typing: true }), { ok: true });
    const on = { room: room.id, userId: u.ann.id, name: "Ann", role: "owner", typing: true };
    assert.deepEqual(await u.bob.c.next("typing"), on);
    assert.deepEqual(await tab2.next("typing"), on);
    ok(await u.ann.c.call("typing", { room: room.id, typing: true }));
    await u.bob.c.barrier();
    assert.deepEqual(u.bob.c.drain("typing"), [], "a refresh is not a change");
    await u.ann.c.barrier();
    assert.deepEqual(u.ann.c.drain("typing"), [], "the typing socket hears nothing of itself");

    ok(await u.ann.c.call("room:leave", { room: room.id }));
    assert.deepEqual(await u.bob.c.next("typing"), { ...on, typing: false });

    ok(await u.bob.c.call("typing", { room: room.id, typing: true }));
    assert.equal((await tab2.next("typing", (t) => t.userId === u.bob.id)).typing, true);
    const started = Date.now();
    const off = await tab2.next("typing", (t) => t.userId === u.bob.id && t.typing === false, 9000);
    assert.equal(off.name, "Bob");
    assert.ok(Date.now() - started >= 5000, "the server expires typing after about 6 s");

    // A typist who disconnects stops typing.
    ok(await u.bob.c.call("typing", { room: room.id, typing: true }));
    assert.equal((await tab2.next("typing", (t) => t.userId === u.bob.id)).typing, true);
    u.bob.c.close();
    assert.equal((await tab2.next("typing", (t) => t.userId === u.bob.id)).typing, false);
  } finally {
    tab2.close();
    closeAll(u);
  }
});

test("session:end: session:ended to the room, sockets taken out, history readable", T, async () => {
  const u = await users("tutor", "student");
  try {
    const s = ok(await u.tutor.c.call("room:create", { kind: "session", members: [u.student.id] }));
    const room = s.room;
    const tj = ok(await u.tutor.c.call("room:join", { room: room.id }));
    assert.equal(tj.room.status, "active");
    assert.match(tj.room.startedAt, ISO_MS);
    const st = await u.tutor.c.next("session:state");
    assert.equal(st.status, "active");
    ok(await u.student.c.call("room:join", { room: room.id }));
    const st2 = await u.tutor.c.next("session:state", (x) => x.participants.length === 2);
    assert.deepEqual(st2.participants.map((p) => p.sid).sort(), [u.tutor.c.id, u.student.c.id].sort());
    assert.equal(st2.startedAt, tj.room.startedAt);

    ok(await u.tutor.c.call("message:send", { room: room.id, text: "well done" }));
    const end = ok(await u.student.c.call("session:end", { room: room.id }));
    assert.equal(end.room.status, "ended");
    assert.match(end.room.endedAt, ISO_MS);
    for (const c of [u.tutor.c, u.student.c]) {
      const e = await c.next("session:ended");
      assert.equal(e.room, room.id);
      assert.equal(e.endedAt, end.room.endedAt);
      assert.ok(Number.isInteger(e.durationSec) && e.durationSec >= 0);
    }
    // Taken out silently: nobody hears of anybody leaving.
    await u.tutor.c.barrier();
    assert.deepEqual(u.tutor.c.drain("presence:leave"), []);
    assert.deepEqual(u.tutor.c.drain("rtc:peer-left"), []);
    failed(await u.tutor.c.call("typing", { room: room.id, typing: true }), "room_ended");
    const h = ok(await u.student.c.call("message:history", { room: room.id }));
    assert.deepEqual(h.messages.map((m) => m.text), ["well done"]);
    failed(await u.tutor.c.call("session:end", { room: room.id }), "room_ended");
    const group = ok(await u.tutor.c.call("room:create", { kind: "group" })).room;
    failed(await u.tutor.c.call("session:end", { room: group.id }), "bad_request");
  } finally {
    closeAll(u);
  }
});

test("rtc:offer, rtc:answer, rtc:ice: relayed verbatim to the peer sid with from", T, async () => {
  const u = await users("ann", "bob");
  try {
    const room = ok(await u.ann.c.call("room:create", { kind: "session", members: [u.bob.id] })).room;
    ok(await u.ann.c.call("room:join", { room: room.id }));
    ok(await u.bob.c.call("room:join", { room: room.id }));
    const sdp = { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" };
    assert.deepEqual(await u.ann.c.call("rtc:offer", { room: room.id, to: u.bob.c.id, sdp }), { ok: true });
    assert.deepEqual(await u.bob.c.next("rtc:offer"), { room: room.id, from: u.ann.c.id, sdp });
    const answer = { type: "answer", sdp: "v=0\r\n" };
    ok(await u.bob.c.call("rtc:answer", { room: room.id, to: u.ann.c.id, sdp: answer }));
    assert.deepEqual(await u.ann.c.next("rtc:answer"), { room: room.id, from: u.bob.c.id, sdp: answer });
    const candidate = { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0 };
    ok(await u.ann.c.call("rtc:ice", { room: room.id, to: u.bob.c.id, candidate }));
    assert.deepEqual(await u.bob.c.next("rtc:ice"), { room: room.id, from: u.ann.c.id, candidate });
    ok(await u.ann.c.call("rtc:ice", { room: room.id, to: u.bob.c.id, candidate: null }));
    assert.deepEqual(await u.bob.c.next("rtc:ice"), { room: room.id, from: u.ann.c.id, candidate: null });
    failed(await u.ann.c.call("rtc:offer", { room: room.id, to: "no-such-sid", sdp }), "peer_not_found");
    // A disconnect is a peer leaving.
    const bobSid = u.bob.c.id;
    u.bob.c.close();
    assert.deepEqual(await u.ann.c.next("rtc:peer-left"), { room: room.id, sid: bobSid, userId: u.bob.id });
    assert.equal((await u.ann.c.next("presence:leave")).sid, bobSid);
  } finally {
    closeAll(u);
  }
});
