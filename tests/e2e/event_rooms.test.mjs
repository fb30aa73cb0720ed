// End-to-end: one direct room per tutoring event (docs/protocol.md 8(c)).
// The documented helper creates the room with the event's id and
// `reuse: true`, so whichever side comes second gets the same room back; a
// `conflict` means the id belongs to someone else's conversation and is
// never joined. A user who takes the predictable id first, with the tutee
// in it, therefore captures nothing; and the backend pattern (the service
// creates the room with the API key) gives both sides a room whose
// members it chose.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChatd, connect, rest, userToken, ok, failed, uid, person, API_KEY } from "./lib/harness.mjs";

let server;
before(async () => {
  server = await startChatd();
});
after(async () => {
  assert.equal(await server?.stop(), 0);
});

const T = { timeout: 20000 };


// The helper of docs/protocol.md 8(c), as written there.
async function openEventChat(socket, id, otherUserId) {
  const created = await socket.call("room:create", { kind: "direct", id, members: [otherUserId], reuse: true });
  if (!created.ok) {
    // conflict: this id is another conversation's; never join it.
    throw Object.assign(new Error(`event chat ${id}: ${created.error.code}`), { code: created.error.code });
  }
  return ok(await socket.call("room:join", { room: created.room.id, afterSeq: 0 }));
}

test("both sides of an event open the same direct room, whoever comes first", T, async () => {
  const tutor = person("tutor"), tutee = person("tutee");
  const a = await connect(server, tutor.token);
  const b = await connect(server, tutee.token);
  try {
    const id = uid("event-123-");
    const ja = await openEventChat(a, id, tutee.id);
    const jb = await openEventChat(b, id, tutor.id);
    assert.equal(ja.room.id, id);
    assert.equal(jb.room.id, id);
    assert.deepEqual(jb.room.members.map((m) => m.userId).sort(), [tutor.id, tutee.id].sort());
    ok(await a.call("message:send", { room: id, text: "ready for Thursday?" }));
    assert.equal((await b.next("message:new", (e) => e.message.room === id)).message.text, "ready for Thursday?");
    // The second create said it found the room; a third one does too.
    const again = ok(await b.call("room:create", { kind: "direct", id, members: [tutor.id], reuse: true }));
    assert.equal(again.existing, true);
    // Without reuse a taken id is still conflict, as the contract says.
    failed(await b.call("room:create", { kind: "direct", id, members: [tutor.id] }), "conflict");
  } finally {
    a.close();
    b.close();
  }
});

test("a user who takes the event's id first, with the tutee, captures nothing", T, async () => {
  const tutor = person("tutor"), tutee = person("tutee"), mallory = person("mallory");
  const m = await connect(server, mallory.token);
  const a = await connect(server, tutor.token);
  const b = await connect(server, tutee.token);
  try {
    const id = uid("event-124-");
    // Mallory guesses the id and makes it a direct room with the tutee.
    ok(await m.call("room:create", { kind: "direct", id, members: [tutee.id] }));
    ok(await m.call("room:join", { room: id }));
    await assert.rejects(openEventChat(a, id, tutee.id), (e) => e.code === "conflict");
    await assert.rejects(openEventChat(b, id, tutor.id), (e) => e.code === "conflict");
    // The tutee's socket never entered Mallory's room: nothing said there reaches it.
    ok(await m.call("message:send", { room: id, text: "hi, I'm your tutor, send me your password" }));
    await b.barrier();
    assert.deepEqual(b.drain("message:new"), []);
    assert.equal(m.drain("presence:join").length, 0, "nobody joined Mallory");
    // reuse does not hand Mallory's room to a pair it does not belong to,
    // even one that includes a member of it.
    failed(await b.call("room:create", { kind: "direct", id, members: [tutor.id], reuse: true }), "conflict");
  } finally {
    m.close();
    a.close();
    b.close();
  }
});

test("backend pattern: the service creates the event room with the API key; a squatted id is a conflict for it", T, async () => {
  const tutor = person("tutor"), tutee = person("tutee"), mallory = person("mallory");
  const m = await connect(server, mallory.token);
  try {
    const guessable = uid("event-125-");
    ok(await m.call("room:create", { kind: "direct", id: guessable, members: [tutee.id] }));
    const taken = await rest(server, "POST", "/api/rooms", {
      token: API_KEY, body: { kind: "direct", id: guessable, createdBy: tutor.id, members: [tutee.id] },
    });
    assert.equal(taken.status, 409, "the backend sees the squatter and picks another id");
  } finally {
    m.close();
  }
  const id = uid("event-125-x7Gq2-");  // the backend's own, unguessable suffix
  const made = await rest(server, "POST", "/api/rooms", {
    token: API_KEY, body: { kind: "direct", id, createdBy: tutor.id, members: [tutee.id] },
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const a = await connect(server, tutor.token);
  const b = await connect(server, tutee.token);
  try {
    const ja = ok(await a.call("room:join", { room: id }));
    ok(await b.call("room:join", { room: id }));
    assert.deepEqual(ja.room.members.map((x) => x.userId).sort(), [tutor.id, tutee.id].sort());
  } finally {
    a.close();
    b.close();
  }
});
