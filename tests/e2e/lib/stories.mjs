// The seeds' user stories (docs/protocol.md section 8) as scenarios that
// the end-to-end tests play against real chatd processes:
//   (a) a tutoring video session (seeds 000, 001): the booking backend
//       creates the session with the API key, tutor and student enter,
//       session:state, offer/answer/ICE relay, chat and typing during the
//       call, a dropped student coming back, the end, history kept;
//   (b) a course group chat (seed 002): edits, deletes, replies, read
//       receipts, online users, typing, search, a shared file;
//   (c) tutor/tutee event chat (seed 003): one direct room per event,
//       closed to everyone else;
//   (d) direct and group chats with member management and notifications
//       reaching both tabs of one user (seed 004).
// Each story takes `at(i)`: the chatd that participant (or REST caller) i
// talks to. stories.test.mjs passes one server for all; cluster.test.mjs
// spreads them over the nodes of a cluster, so that every event crosses
// nodes. A story awaits each event on each socket that must get it, never
// just on one and then reads state through another (on a cluster the
// other node may learn it an instant later).
import assert from "node:assert/strict";
import { connect, rest, ok, failed, uid, person, eventually, API_KEY, ISO_MS } from "./harness.mjs";

async function storyA(at) {
  const tutor = person("tutor", { name: "Tina Tutor", role: "tutor" }), student = person("student", { name: "Sam Student", role: "student" });
  const bookingId = uid("booking-");
  // The booking backend creates the session once the booking is confirmed.
  const created = await rest(at(2), "POST", "/api/rooms", {
    token: API_KEY,
    body: { kind: "session", id: `session:${bookingId}`, title: "Algebra lesson", members: [{ userId: tutor.id, role: "tutor" }] },
  });
  assert.equal(created.status, 201);
  const { room, joinToken } = created.body;
  assert.equal(room.status, "scheduled");

  const ice = await rest(at(1), "GET", "/api/ice-servers", { token: student.token });
  assert.deepEqual(ice.body.iceServers, [{ urls: ["stun:stun.l.google.com:19302"] }]);

  const t = await connect(at(0), tutor.token);
  let s = await connect(at(1), student.token);
  try {
    const tj = ok(await t.call("room:join", { room: room.id }));
    assert.equal(tj.room.status, "active");
    assert.match(tj.room.startedAt, ISO_MS);
    let state = await t.next("session:state");
    assert.deepEqual(state, { room: room.id, status: "active", startedAt: tj.room.startedAt, participants: tj.peers });

    // The student is not a member: the session token lets them in.
    failed(await s.call("room:join", { room: room.id }), "forbidden");
    const sj = ok(await s.call("room:join", { room: room.id, joinToken }));
    assert.deepEqual(sj.room.members.map((m) => [m.userId, m.role]), [[tutor.id, "tutor"], [student.id, "member"]]);
    state = await t.next("session:state", (x) => x.participants.length === 2);
    assert.deepEqual(state.participants.map((p) => [p.sid, p.name]).sort(), [[t.id, "Tina Tutor"], [s.id, "Sam Student"]].sort());
    const joinedPeer = (await t.next("presence:join")).peer;
    assert.equal(joinedPeer.sid, s.id);
    assert.equal((await t.next("message:new")).message.text, "Sam Student joined");

    // Tutor calls the peer they were told about.
    const offer = { type: "offer", sdp: "v=0\r\no=tutor 1 1 IN IP4 0.0.0.0\r\ns=-\r\n" };
    ok(await t.call("rtc:offer", { room: room.id, to: joinedPeer.sid, sdp: offer }));
    const gotOffer = await s.next("rtc:offer");
    assert.deepEqual(gotOffer, { room: room.id, from: t.id, sdp: offer });
    const answer = { type: "answer", sdp: "v=0\r\no=student 2 2 IN IP4 0.0.0.0\r\n" };
    ok(await s.call("rtc:answer", { room: room.id, to: gotOffer.from, sdp: answer }));
    assert.deepEqual(await t.next("rtc:answer"), { room: room.id, from: s.id, sdp: answer });
    for (const [from, to] of [[t, s], [s, t]]) {
      const candidate = { candidate: `candidate:${from.id} 1 udp 1 10.0.0.1 9 typ host`, sdpMid: "0", sdpMLineIndex: 0 };
      ok(await from.call("rtc:ice", { room: room.id, to: to.id, candidate }));
      assert.deepEqual(await to.next("rtc:ice"), { room: room.id, from: from.id, candidate });
    }

    // Chat beside the call, with a correction-style reply.
    ok(await s.call("typing", { room: room.id, typing: true }));
    assert.equal((await t.next("typing")).name, "Sam Student");
    const q = ok(await s.call("message:send", { room: room.id, text: "Is x = 3?" })).message;
    ok(await s.call("typing", { room: room.id, typing: false }));
    assert.equal((await t.next("typing")).typing, false);
    ok(await t.call("message:send", { room: room.id, text: "Yes: 2x = 6, so x = 3", replyTo: q.id }));

    // The student's connection drops; the tutor learns it, then they come back.
    const oldSid = s.id;
    s.close();
    assert.deepEqual(await t.next("rtc:peer-left"), { room: room.id, sid: oldSid, userId: student.id });
    assert.equal((await t.next("session:state", (x) => x.participants.length === 1)).status, "active");
    ok(await t.call("message:send", { room: room.id, text: "while you were away" }));
    s = await connect(at(2), student.token);
    const back = ok(await s.call("room:join", { room: room.id, afterSeq: q.seq }));
    assert.equal(back.room.status, "active", "no join token needed now: the student is a member");
    const missed = s.drain("message:new").map((e) => e.message.text);
    assert.deepEqual(missed, ["Yes: 2x = 6, so x = 3", "while you were away"]);

    // The booking backend ends the session.
    const end = await rest(at(2), "POST", `/api/rooms/${room.id}/end`, { token: API_KEY });
    assert.equal(end.status, 200);
    for (const c of [t, s]) {
      const e = await c.next("session:ended");
      assert.equal(e.endedAt, end.body.room.endedAt);
      assert.ok(e.durationSec >= 0);
    }
    failed(await s.call("room:join", { room: room.id }), "room_ended");
    failed(await t.call("rtc:offer", { room: room.id, to: s.id, sdp: offer }), "room_ended");
    const h = await rest(at(0), "GET", `/api/rooms/${room.id}/messages`, { token: student.token });
    assert.equal(h.status, 200);
    assert.deepEqual(h.body.messages.map((m) => m.text), ["Sam Student joined", "Is x = 3?", "Yes: 2x = 6, so x = 3", "while you were away"]);
    const pr = ok(await t.call("presence:list", { room: room.id })).presence;
    assert.ok(pr.every((p) => p.online === false && p.lastSeen === end.body.room.endedAt), JSON.stringify(pr));
  } finally {
    t.close();
    s.close();
  }
}

async function storyB(at) {
  const prof = person("prof", { name: "Prof P" }), amy = person("amy", { name: "Amy" }), ben = person("ben", { name: "Ben" }), cal = person("cal", { name: "Cal" });
  const courseId = uid("course-");
  const p = await connect(at(0), prof.token), a = await connect(at(1), amy.token), b = await connect(at(2), ben.token);
  try {
    const room = ok(await p.call("room:create", { kind: "group", id: courseId, title: "Biology 101", members: [amy.id, ben.id, cal.id] })).room;
    ok(await p.call("room:join", { room: room.id }));
    ok(await a.call("room:join", { room: room.id }));
    assert.equal((await p.next("presence:join")).online, 2);
    // Across nodes, Ben's node learns of Amy's join over the bus: an instant
    // later than Prof's event, perhaps (docs/cluster.md). At once on one node.
    await eventually(async () => ok(await b.call("presence:list", { room: room.id })).presence.find((x) => x.userId === amy.id).online,
      "Ben's node to count Amy online");
    const bj = ok(await b.call("room:join", { room: room.id }));
    assert.deepEqual(bj.presence.filter((x) => x.online).map((x) => x.userId).sort(), [prof.id, amy.id, ben.id].sort());
    assert.equal(bj.presence.find((x) => x.userId === cal.id).online, false);

    const q = ok(await a.call("message:send", { room: room.id, text: "When is the mitochondria quiz?" })).message;
    ok(await p.call("typing", { room: room.id, typing: true }));
    assert.equal((await b.next("typing")).userId, prof.id);
    const ans = ok(await p.call("message:send", { room: room.id, text: "Frday", replyTo: q.id })).message;
    ok(await p.call("typing", { room: room.id, typing: false }));
    assert.equal((await a.next("typing", (x) => x.typing === false)).userId, prof.id);
    const fixed = ok(await p.call("message:edit", { id: ans.id, text: "Friday" })).message;
    assert.deepEqual((await a.next("message:edited")).message, fixed);
    assert.equal(fixed.replyTo, q.id);

    const wrong = ok(await b.call("message:send", { room: room.id, text: "answers: 1b 2c 3a" })).message;
    ok(await p.call("message:delete", { id: wrong.id }));
    assert.deepEqual(await a.next("message:deleted"), { room: room.id, id: wrong.id });

    // Read receipts: every member sees who read up to where.
    ok(await a.call("message:read", { room: room.id, seq: fixed.seq }));
    for (const c of [p, b]) assert.deepEqual(await c.next("message:read"), { room: room.id, userId: amy.id, seq: fixed.seq });

    // A shared file.
    const up = await rest(at(0), "POST", `/api/rooms/${room.id}/attachments?name=cell.txt`, {
      token: prof.token, raw: "mitochondria: the powerhouse", headers: { "content-type": "text/plain" },
    });
    assert.equal(up.status, 201);
    const file = ok(await p.call("message:send", { room: room.id, type: "file", text: "Reading", attachment: up.body.attachment })).message;
    const got = await b.next("message:new", (e) => e.message.id === file.id);
    const dl = await rest(at(0), "GET", got.message.attachment.url, { token: ben.token });
    assert.equal(dl.text, "mitochondria: the powerhouse");

    // Online users, and lastSeen once someone leaves.
    b.close();
    for (const c of [p, a]) assert.equal((await c.next("presence:leave")).online, 2);
    const pl = ok(await a.call("presence:list", { room: room.id })).presence;
    const benP = pl.find((x) => x.userId === ben.id);
    assert.equal(benP.online, false);
    assert.match(benP.lastSeen, ISO_MS);

    const found = ok(await a.call("message:search", { room: room.id, q: "mitochondria" })).messages;
    assert.deepEqual(found.map((m) => m.id), [q.id]);
    const calView = await rest(at(3), "GET", "/api/rooms", { token: cal.token });
    assert.equal(calView.body.rooms[0].unread, 3, "question, answer and file; the deleted one is not unread");
    const page = ok(await a.call("message:history", { room: room.id, limit: 2 }));
    assert.equal(page.hasMore, true);
    const older = ok(await a.call("message:history", { room: room.id, before: page.messages[0].seq }));
    assert.deepEqual([...older.messages, ...page.messages].map((m) => m.seq), [1, 2, 3, 4]);
  } finally {
    p.close();
    a.close();
    b.close();
  }
}

async function storyC(at) {
  const tutor = person("tutor", { name: "Tom" }), tutee = person("tutee", { name: "Tia" }), other = person("other", { name: "Oz" });
  const t = await connect(at(0), tutor.token), u = await connect(at(1), tutee.token), o = await connect(at(2), other.token);
  try {
    const ev1 = `event-${uid("")}`, ev2 = `event-${uid("")}`;
    const r1 = await rest(at(2), "POST", "/api/rooms", {
      token: API_KEY, body: { kind: "direct", id: ev1, members: [{ userId: tutor.id, role: "tutor" }, { userId: tutee.id, role: "tutee" }] },
    });
    assert.equal(r1.status, 201);
    const r2 = ok(await t.call("room:create", { kind: "direct", id: ev2, members: [tutee.id] }));
    assert.equal(r2.room.id, ev2);
    failed(await t.call("room:create", { kind: "direct", id: ev1, members: [tutee.id] }), "conflict");

    const j = ok(await t.call("room:join", { room: ev1 }));
    assert.equal(j.peers[0].role, "tutor");
    ok(await u.call("room:join", { room: ev1 }));
    const joined = await t.next("presence:join");
    assert.deepEqual({ role: joined.peer.role, online: joined.online }, { role: "tutee", online: 2 });
    failed(await o.call("room:join", { room: ev1 }), "forbidden");
    failed(await o.call("message:send", { room: ev1, text: "hi" }), "forbidden");

    ok(await u.call("typing", { room: ev1, typing: true }));
    assert.deepEqual(await t.next("typing"), { room: ev1, userId: tutee.id, name: "Tia", role: "tutee", typing: true });
    const m = ok(await u.call("message:send", { room: ev1, text: "Hello, can we review chapter 3?" })).message;
    assert.equal(m.senderRole, "tutee");
    assert.equal((await t.next("message:new")).message.text, "Hello, can we review chapter 3?");
    ok(await t.call("message:send", { room: ev2, text: "for the other event" }));
    assert.deepEqual(ok(await u.call("message:history", { room: ev1 })).messages.map((x) => x.text), ["Hello, can we review chapter 3?"]);
    assert.deepEqual(ok(await u.call("message:history", { room: ev2 })).messages.map((x) => x.text), ["for the other event"]);

    ok(await t.call("room:leave", { room: ev1 }));
    assert.deepEqual(await u.next("presence:leave"), { room: ev1, sid: t.id, userId: tutor.id, online: 1 });
    await o.barrier();
    assert.deepEqual(o.drain("message:new"), []);
    assert.deepEqual(o.drain("typing"), []);
  } finally {
    t.close();
    u.close();
    o.close();
  }
}

async function storyD(at) {
  const ann = person("ann", { name: "Ann" }), bob = person("bob", { name: "Bob" }), cat = person("cat", { name: "Cat" });
  const a = await connect(at(0), ann.token);
  // One tab on WebSocket, the other on HTTP long-polling.
  const bobTabs = [await connect(at(1), bob.token), await connect(at(2), bob.token, { transports: ["polling"] })];
  const c = await connect(at(3), cat.token);
  try {
    // A new direct chat reaches both of Bob's tabs.
    const direct = ok(await a.call("room:create", { kind: "direct", members: [bob.id] })).room;
    for (const tab of bobTabs) assert.deepEqual(await tab.next("notification"), { type: "room-created", room: direct, by: ann.id });
    const same = ok(await bobTabs[0].call("room:create", { kind: "direct", members: [ann.id] })).room;
    assert.equal(same.id, direct.id);
    await bobTabs[1].barrier();
    assert.deepEqual(bobTabs[1].drain("notification"), [], "reusing the direct room notifies nobody");
    const dm = await rest(at(1), "POST", `/api/rooms/${direct.id}/messages`, { token: ann.token, body: { text: "psst" } });
    assert.equal(dm.status, 201);

    // A group: Ann adds Cat, then removes Bob; Cat leaves by herself.
    const group = ok(await a.call("room:create", { kind: "group", title: "Study group", members: [bob.id] })).room;
    for (const tab of bobTabs) await tab.next("notification", (n) => n.room.id === group.id);
    for (const tab of bobTabs) ok(await tab.call("room:join", { room: group.id }));
    ok(await a.call("room:join", { room: group.id }));
    const added = ok(await a.call("member:add", { room: group.id, userId: cat.id })).room;
    for (const who of [...bobTabs, c, a]) {
      const n = await who.next("notification", (x) => x.type === "member-added");
      assert.deepEqual(n, { type: "member-added", room: added, userId: cat.id, role: "member", by: ann.id });
    }
    for (const tab of bobTabs) assert.equal((await tab.next("message:new")).message.text, "Ann added Cat");

    const list = ok(await bobTabs[0].call("rooms:list", {})).rooms;
    assert.deepEqual(list.map((r) => r.room.id), [group.id, direct.id], "most recent activity first");
    assert.equal(list.find((r) => r.room.id === direct.id).unread, 1);

    const removed = ok(await a.call("member:remove", { room: group.id, userId: bob.id })).room;
    for (const tab of bobTabs) {
      const n = await tab.next("notification", (x) => x.type === "member-removed");
      assert.deepEqual(n, { type: "member-removed", room: removed, userId: bob.id, role: "member", by: ann.id });
    }
    const gone = [await a.next("presence:leave"), await a.next("presence:leave")];
    assert.deepEqual(gone.map((g) => g.sid).sort(), bobTabs.map((t) => t.id).sort());
    assert.equal(gone[1].online, 1);
    failed(await bobTabs[0].call("message:send", { room: group.id, text: "still here?" }), "forbidden");
    failed(await bobTabs[1].call("room:join", { room: group.id }), "forbidden");

    ok(await c.call("member:remove", { room: group.id, userId: cat.id }));
    assert.equal((await a.next("message:new", (e) => e.message.text === "Cat left")).message.senderId, cat.id);
    const h = ok(await a.call("message:history", { room: group.id }));
    assert.deepEqual(h.messages.map((m) => [m.type, m.text]), [["system", "Ann added Cat"], ["system", "Ann removed Bob"], ["system", "Cat left"]]);
    assert.deepEqual(ok(await a.call("room:join", { room: group.id })).room.members.map((m) => m.userId), [ann.id]);
  } finally {
    a.close();
    for (const t of bobTabs) t.close();
    c.close();
  }
}

// Name and body of each story; the tests run one node:test test per story.
export const stories = [
  ["(a) tutoring video session: REST-created session, join token, signalling, chat, drop and return, end", storyA],
  ["(b) course group chat: replies, edits, deletes, receipts, online users, typing, search, a file", storyB],
  ["(c) tutor/tutee event chat: one direct room per event, closed to others, isolated", storyC],
  ["(d) direct and group chats: member management and notifications on both tabs of a user", storyD],
];
