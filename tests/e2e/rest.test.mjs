// End-to-end: every REST route of protocol section 8 against a real chatd,
// called with a user JWT and with the service API key: status codes (200,
// 201, 4xx), wrapped bodies, and the live events a REST call causes on the
// sockets of the room (a REST publish is a message:send).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { startChatd, connect, rest, userToken, ok, failed, uid, person, API_KEY, ISO_MS } from "./lib/harness.mjs";

let server;
before(async () => {
  server = await startChatd({
    args: ["--stun-urls", "stun:stun.example.org:3478", "--turn-urls", "turn:turn.example.org:3478",
      "--turn-secret", "turn-shared-secret", "--turn-ttl", "600", "--max-body-bytes", "4096",
      "--max-attachment-bytes", "20000", "--attachment-types", "image/,text/plain",
      "--cors-origin", "http://app.example"],
  });
});
after(async () => {
  assert.equal(await server?.stop(), 0);
});

const T = { timeout: 20000 };


test("POST/GET /api/rooms and GET /api/rooms/{id}: user and service", T, async () => {
  const ann = person("ann"), bob = person("bob");
  const c = await rest(server, "POST", "/api/rooms", { token: ann.token, body: { kind: "group", title: "g", members: [bob.id] } });
  assert.equal(c.status, 201);
  assert.equal(c.body.room.createdBy, ann.id);
  assert.deepEqual(c.body.room.members, [{ userId: ann.id, role: "owner" }, { userId: bob.id, role: "member" }]);
  const id = c.body.room.id;

  const g = await rest(server, "GET", `/api/rooms/${id}`, { token: bob.token });
  assert.equal(g.status, 200);
  assert.deepEqual(g.body, { room: c.body.room });
  const l = await rest(server, "GET", "/api/rooms", { token: bob.token });
  assert.equal(l.status, 200);
  assert.deepEqual(l.body.rooms.map((r) => r.room.id), [id]);
  assert.equal(l.body.rooms[0].unread, 0);
  const ls = await rest(server, "GET", `/api/rooms?userId=${bob.id}`, { token: API_KEY });
  assert.deepEqual(ls.body.rooms.map((r) => r.room.id), [id]);

  // The direct room between two users is returned again with 200.
  const d1 = await rest(server, "POST", "/api/rooms", { token: ann.token, body: { kind: "direct", members: [bob.id] } });
  assert.equal(d1.status, 201);
  const d2 = await rest(server, "POST", "/api/rooms", { token: bob.token, body: { kind: "direct", members: [ann.id] } });
  assert.equal(d2.status, 200);
  assert.equal(d2.body.room.id, d1.body.room.id);

  // The service sets the id, createdBy and roles; a session comes with its joinToken.
  const sid = uid("lesson-");
  const s = await rest(server, "POST", "/api/rooms", {
    token: API_KEY,
    body: { kind: "session", id: sid, title: "Lesson", createdBy: ann.id, members: [{ userId: bob.id, role: "student" }] },
  });
  assert.equal(s.status, 201);
  assert.equal(s.body.room.id, sid);
  assert.equal(s.body.room.status, "scheduled");
  assert.match(s.body.joinToken, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(s.body.room.members, [{ userId: ann.id, role: "owner" }, { userId: bob.id, role: "student" }]);
  const taken = await rest(server, "POST", "/api/rooms", { token: API_KEY, body: { kind: "group", id: sid } });
  assert.equal(taken.status, 409);
  assert.equal(taken.body.error.code, "conflict");
  const svc = await rest(server, "POST", "/api/rooms", { token: API_KEY, body: { kind: "group", members: [bob.id] } });
  assert.equal(svc.status, 201);
  assert.equal(svc.body.room.createdBy, null, "a service room has no owner without createdBy");

  assert.equal((await rest(server, "GET", "/api/rooms/no-such-room", { token: ann.token })).status, 404);
  const bad = await rest(server, "GET", "/api/rooms/bad%20id", { token: ann.token });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, "bad_request");
});

test("GET /api/rooms pages with ?cursor=&limit=; POST /api/rooms/{id}/token rotates a session's join token", T, async () => {
  const ann = person("ann"), bob = person("bob"), eve = person("eve");
  const ids = [];
  for (let i = 0; i < 3; ++i)
    ids.push((await rest(server, "POST", "/api/rooms", { token: ann.token, body: { kind: "group", members: [bob.id] } })).body.room.id);
  const seen = [];
  let cursor = "";
  for (let pages = 0; pages < 3; ++pages) {
    const page = await rest(server, "GET", `/api/rooms?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token: bob.token });
    assert.equal(page.status, 200);
    assert.equal(page.body.rooms.length, 1);
    seen.push(page.body.rooms[0].room.id);
    assert.equal(page.body.hasMore, pages < 2);
    cursor = page.body.nextCursor;
  }
  assert.deepEqual(seen.sort(), [...ids].sort());
  assert.equal((await rest(server, "GET", "/api/rooms?limit=x", { token: bob.token })).status, 400);
  assert.equal((await rest(server, "GET", "/api/rooms?cursor=forged", { token: bob.token })).status, 400);

  const created = await rest(server, "POST", "/api/rooms", { token: ann.token, body: { kind: "session", members: [bob.id] } });
  const room = created.body.room;
  const rotated = await rest(server, "POST", `/api/rooms/${room.id}/token`, { token: ann.token });
  assert.equal(rotated.status, 200);
  assert.match(rotated.body.joinToken, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(rotated.body.joinToken, created.body.joinToken);
  assert.ok(Date.parse(rotated.body.expiresAt) > Date.now());
  assert.equal((await rest(server, "POST", `/api/rooms/${room.id}/token`, { token: bob.token })).status, 403, "a member who is not the owner");
  assert.equal((await rest(server, "POST", `/api/rooms/${room.id}/token`, { token: API_KEY })).status, 200, "the service");
  const e = await connect(server, eve.token);
  try {
    failed(await e.call("room:join", { room: room.id, joinToken: created.body.joinToken }), "forbidden");
    failed(await e.call("room:join", { room: room.id, joinToken: rotated.body.joinToken }), "forbidden");
  } finally {
    e.close();
  }
});

test("members: POST 201 (owner, service), DELETE 200 (owner, self, service), with live notifications", T, async () => {
  const ann = person("ann"), bob = person("bob"), cat = person("cat"), dan = person("dan");
  const room = (await rest(server, "POST", "/api/rooms", { token: ann.token, body: { kind: "group", members: [bob.id] } })).body.room;
  const bobSocket = await connect(server, bob.token);
  try {
    ok(await bobSocket.call("room:join", { room: room.id }));
    const add = await rest(server, "POST", `/api/rooms/${room.id}/members`, { token: ann.token, body: { userId: cat.id, role: "student" } });
    assert.equal(add.status, 201);
    assert.deepEqual(add.body.room.members.at(-1), { userId: cat.id, role: "student" });
    const n = await bobSocket.next("notification", (x) => x.type === "member-added");
    assert.deepEqual(n, { type: "member-added", room: add.body.room, userId: cat.id, role: "student", by: ann.id });
    assert.equal((await bobSocket.next("message:new")).message.type, "system");

    const sadd = await rest(server, "POST", `/api/rooms/${room.id}/members`, { token: API_KEY, body: { userId: dan.id } });
    assert.equal(sadd.status, 201);
    const sys = (await bobSocket.next("message:new")).message;
    assert.equal(sys.text, `${dan.id} was added`);
    assert.equal(sys.senderId, "system");
    assert.equal(sys.senderRole, "system");
    assert.equal((await bobSocket.next("notification", (x) => x.userId === dan.id)).by, "system");
    assert.equal((await rest(server, "POST", `/api/rooms/${room.id}/members`, { token: API_KEY, body: { userId: dan.id } })).status, 409);

    const del = await rest(server, "DELETE", `/api/rooms/${room.id}/members/${cat.id}`, { token: ann.token });
    assert.equal(del.status, 200);
    assert.equal(del.body.room.members.some((m) => m.userId === cat.id), false);
    assert.equal((await rest(server, "DELETE", `/api/rooms/${room.id}/members/${dan.id}`, { token: dan.token })).status, 200);
    const sdel = await rest(server, "DELETE", `/api/rooms/${room.id}/members/${bob.id}`, { token: API_KEY });
    assert.equal(sdel.status, 200);
    assert.deepEqual(sdel.body.room.members.map((m) => m.userId), [ann.id]);
    const removed = await bobSocket.next("message:new", (e) => e.message.senderId === "system" && /removed/.test(e.message.text));
    assert.equal(removed.message.text, "Bob was removed");
    assert.equal((await rest(server, "DELETE", `/api/rooms/${room.id}/members/${bob.id}`, { token: API_KEY })).status, 404);
  } finally {
    bobSocket.close();
  }
});

test("messages: POST 201 (user, service senderId), clientMsgId repeat 200, GET history, PATCH, DELETE", T, async () => {
  const ann = person("ann"), bob = person("bob");
  const room = (await rest(server, "POST", "/api/rooms", { token: ann.token, body: { kind: "group", members: [bob.id] } })).body.room;
  const bobSocket = await connect(server, bob.token);
  try {
    ok(await bobSocket.call("room:join", { room: room.id }));
    const p = await rest(server, "POST", `/api/rooms/${room.id}/messages`, { token: ann.token, body: { text: "via REST", clientMsgId: "r1" } });
    assert.equal(p.status, 201);
    assert.equal(p.body.message.seq, 1);
    assert.deepEqual(await bobSocket.next("message:new"), { message: p.body.message });
    const again = await rest(server, "POST", `/api/rooms/${room.id}/messages`, { token: ann.token, body: { text: "via REST", clientMsgId: "r1" } });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, { message: p.body.message });

    // clientMsgId is the sender's, whether they send by socket or REST.
    const bySocket = ok(await bobSocket.call("message:send", { room: room.id, text: "once", clientMsgId: "both-ways" })).message;
    const byRest = await rest(server, "POST", `/api/rooms/${room.id}/messages`, { token: bob.token, body: { text: "once", clientMsgId: "both-ways" } });
    assert.equal(byRest.status, 200);
    assert.equal(byRest.body.message.id, bySocket.id);
    await bobSocket.next("message:new", (e) => e.message.id === bySocket.id);

    const s = await rest(server, "POST", `/api/rooms/${room.id}/messages`, {
      token: API_KEY, body: { text: "from the backend", senderId: bob.id, senderName: "Bob B.", senderRole: "student" },
    });
    assert.equal(s.status, 201);
    assert.equal(s.body.message.senderId, bob.id);
    assert.equal(s.body.message.senderName, "Bob B.");
    // Regression: the role a service named was stored; a message's role is
    // its sender's room role (docs/protocol.md: senderRole has no effect).
    assert.equal(s.body.message.senderRole, "member", "senderRole of a service publish is ignored");
    const notMember = await rest(server, "POST", `/api/rooms/${room.id}/messages`, { token: API_KEY, body: { text: "x", senderId: "stranger" } });
    assert.equal(notMember.status, 403);

    for (let i = 0; i < 3; i++) await rest(server, "POST", `/api/rooms/${room.id}/messages`, { token: ann.token, body: { text: `n${i}` } });
    let h = await rest(server, "GET", `/api/rooms/${room.id}/messages?limit=2`, { token: bob.token });
    assert.equal(h.status, 200);
    assert.deepEqual(h.body.messages.map((m) => m.seq), [5, 6]);
    assert.equal(h.body.hasMore, true);
    h = await rest(server, "GET", `/api/rooms/${room.id}/messages?before=4&after=1`, { token: bob.token });
    assert.deepEqual(h.body.messages.map((m) => m.seq), [2, 3]);
    h = await rest(server, "GET", `/api/rooms/${room.id}/messages?userId=stranger`, { token: API_KEY });
    assert.equal(h.status, 403, "a service read acting for a non-member");
    h = await rest(server, "GET", `/api/rooms/${room.id}/messages?after=4&userId=${bob.id}`, { token: API_KEY });
    assert.deepEqual(h.body.messages.map((m) => m.seq), [5, 6]);
    assert.equal(h.body.hasMore, false);
    const bad = await rest(server, "GET", `/api/rooms/${room.id}/messages?limit=ten`, { token: bob.token });
    assert.equal(bad.status, 400);

    const e = await rest(server, "PATCH", `/api/messages/${p.body.message.id}`, { token: ann.token, body: { text: "edited via REST" } });
    assert.equal(e.status, 200);
    assert.equal(e.body.message.text, "edited via REST");
    assert.equal((await bobSocket.next("message:edited")).message.text, "edited via REST");
    const d = await rest(server, "DELETE", `/api/messages/${p.body.message.id}`, { token: ann.token });
    assert.equal(d.status, 200);
    assert.deepEqual(await bobSocket.next("message:deleted"), { room: room.id, id: p.body.message.id });
    assert.equal((await rest(server, "PATCH", "/api/messages/nope", { token: ann.token, body: { text: "x" } })).status, 404);
  } finally {
    bobSocket.close();
  }
});

test("read, presence, search, end: 200 with wrapped bodies", T, async () => {
  const ann = person("ann"), bob = person("bob");
  const created = await rest(server, "POST", "/api/rooms", { token: API_KEY, body: { kind: "session", createdBy: ann.id, members: [bob.id] } });
  const room = created.body.room;
  const annSocket = await connect(server, ann.token);
  try {
    ok(await annSocket.call("room:join", { room: room.id }));
    await rest(server, "POST", `/api/rooms/${room.id}/messages`, { token: ann.token, body: { text: "photosynthesis notes" } });
    await rest(server, "POST", `/api/rooms/${room.id}/messages`, { token: ann.token, body: { text: "homework" } });
    const r = await rest(server, "POST", `/api/rooms/${room.id}/read`, { token: bob.token, body: { seq: 2 } });
    assert.equal(r.status, 200);
    assert.deepEqual(await annSocket.next("message:read"), { room: room.id, userId: bob.id, seq: 2 });
    assert.equal((await rest(server, "POST", `/api/rooms/${room.id}/read`, { token: bob.token, body: { seq: 99 } })).status, 400);
    // The service marks a read for the user it names.
    const sr0 = await rest(server, "POST", `/api/rooms/${room.id}/read`, { token: API_KEY, body: { userId: ann.id, seq: 1 } });
    assert.equal(sr0.status, 200);
    assert.deepEqual(await annSocket.next("message:read"), { room: room.id, userId: ann.id, seq: 1 });

    const pr = await rest(server, "GET", `/api/rooms/${room.id}/presence`, { token: bob.token });
    assert.equal(pr.status, 200);
    assert.deepEqual(pr.body.presence.map((p) => [p.userId, p.online]), [[ann.id, true], [bob.id, false]]);
    const sr = await rest(server, "GET", `/api/rooms/${room.id}/search?q=photosynthesis`, { token: bob.token });
    assert.equal(sr.status, 200);
    assert.deepEqual(sr.body.messages.map((m) => m.text), ["photosynthesis notes"]);

    const end = await rest(server, "POST", `/api/rooms/${room.id}/end`, { token: API_KEY });
    assert.equal(end.status, 200);
    assert.equal(end.body.room.status, "ended");
    assert.equal((await annSocket.next("session:ended")).room, room.id);
    const again = await rest(server, "POST", `/api/rooms/${room.id}/end`, { token: bob.token });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "room_ended");
    const late = await rest(server, "POST", `/api/rooms/${room.id}/messages`, { token: bob.token, body: { text: "late" } });
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, "room_ended");
    const h = await rest(server, "GET", `/api/rooms/${room.id}/messages`, { token: bob.token });
    assert.equal(h.status, 200);
    assert.equal(h.body.messages.length, 2);
  } finally {
    annSocket.close();
  }
});

test("attachments: upload 201, download by members only, size and type limits, use in a message", T, async () => {
  const ann = person("ann"), bob = person("bob"), eve = person("eve");
  const room = (await rest(server, "POST", "/api/rooms", { token: ann.token, body: { kind: "group", members: [bob.id] } })).body.room;
  const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
  const up = await rest(server, "POST", `/api/rooms/${room.id}/attachments?name=pic.png`, {
    token: ann.token, raw: bytes, headers: { "content-type": "image/png" },
  });
  assert.equal(up.status, 201);
  const att = up.body.attachment;
  assert.match(att.url, /^\/api\/attachments\/[A-Za-z0-9_-]+$/);
  assert.deepEqual({ name: att.name, size: att.size, mime: att.mime }, { name: "pic.png", size: 8, mime: "image/png" });

  const down = await rest(server, "GET", att.url, { token: bob.token });
  assert.equal(down.status, 200);
  assert.deepEqual([...down.bytes], [...bytes]);
  assert.equal(down.headers.get("content-type"), "image/png");
  assert.equal((await rest(server, "GET", att.url, { token: eve.token })).status, 403);
  assert.equal((await rest(server, "GET", "/api/attachments/AAAAAAAAAAAAAAAAAAAAAA", { token: bob.token })).status, 404);

  const big = await rest(server, "POST", `/api/rooms/${room.id}/attachments`, {
    token: ann.token, raw: Buffer.alloc(20001, 1), headers: { "content-type": "image/png" },
  });
  assert.equal(big.status, 413);
  assert.equal(big.body.error.code, "payload_too_large");
  const exe = await rest(server, "POST", `/api/rooms/${room.id}/attachments`, {
    token: ann.token, raw: Buffer.from("MZ"), headers: { "content-type": "application/x-msdownload" },
  });
  assert.equal(exe.status, 400);
  assert.equal((await rest(server, "POST", `/api/rooms/${room.id}/attachments`, {
    token: eve.token, raw: bytes, headers: { "content-type": "image/png" },
  })).status, 403);

  // multipart/form-data, as a browser form or fetch(FormData) sends it.
  const form = new FormData();
  form.append("file", new Blob([Buffer.from("chapter 3 notes")], { type: "text/plain" }), "notes.txt");
  const mp = await rest(server, "POST", `/api/rooms/${room.id}/attachments`, { token: bob.token, raw: form });
  assert.equal(mp.status, 201);
  assert.deepEqual({ name: mp.body.attachment.name, size: mp.body.attachment.size, mime: mp.body.attachment.mime },
    { name: "notes.txt", size: 15, mime: "text/plain" });
  assert.equal((await rest(server, "GET", mp.body.attachment.url, { token: ann.token })).text, "chapter 3 notes");

  const m = await rest(server, "POST", `/api/rooms/${room.id}/messages`, { token: ann.token, body: { type: "image", attachment: att } });
  assert.equal(m.status, 201);
  assert.deepEqual(m.body.message.attachment, att);
  assert.equal(m.body.message.text, "");
});

test("ice-servers with STUN and TURN REST credentials; dev token; healthz; metrics", T, async () => {
  const ann = person("ann");
  const ice = await rest(server, "GET", "/api/ice-servers", { token: ann.token });
  assert.equal(ice.status, 200);
  assert.equal(ice.body.ttl, 600);
  assert.deepEqual(ice.body.iceServers[0], { urls: ["stun:stun.example.org:3478"] });
  const turn = ice.body.iceServers[1];
  assert.deepEqual(turn.urls, ["turn:turn.example.org:3478"]);
  const [expiry, user] = turn.username.split(":");
  assert.equal(user, ann.id);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Number(expiry) > now + 500 && Number(expiry) <= now + 601, `expiry ${expiry}`);
  assert.equal(turn.credential, createHmac("sha1", "turn-shared-secret").update(turn.username).digest("base64"));

  const t = await rest(server, "POST", "/api/dev/token", { body: { userId: "newcomer", name: "New", role: "student" } });
  assert.equal(t.status, 200);
  const me = await connect(server, t.body.token);
  try {
    const r = ok(await me.call("room:create", { kind: "group" }));
    assert.equal(r.room.createdBy, "newcomer");
  } finally {
    me.close();
  }
  assert.equal((await rest(server, "POST", "/api/dev/token", { body: { name: "no id" } })).status, 400);

  // The auth scheme is case-insensitive.
  assert.equal((await rest(server, "GET", "/api/rooms", { headers: { authorization: `bearer ${ann.token}` } })).status, 200);

  const h = await rest(server, "GET", "/healthz");
  assert.equal(h.status, 200);
  assert.deepEqual(h.body, { status: "ok" });
  const m = await rest(server, "GET", "/metrics");
  assert.equal(m.status, 200);
  for (const name of ["chatd_connections", "chatd_messages_in_total", "chatd_ack_latency_ms_bucket", "chatd_store_queue_depth", "chatd_errors_total"])
    assert.match(m.text, new RegExp(`^${name}`, "m"));
});

// Regression: libwebsockets completes an empty POST body after the
// request callback; chatd answered too early and the reply was lost
// (curl: "Empty reply from server").
test("a POST with Content-Length: 0 gets its answer", T, async () => {
  const ann = person("ann");
  const room = (await rest(server, "POST", "/api/rooms", { token: API_KEY, body: { kind: "session", members: [ann.id] } })).body.room;
  for (const [path, token, status] of [[`/api/rooms/${room.id}/end`, ann.token, 200], ["/api/rooms", API_KEY, 400], ["/healthz", undefined, 405]]) {
    const r = await rest(server, "POST", path, { token, raw: "", headers: { "content-length": "0" } });
    assert.equal(r.status, status, path);
  }
});

test("JSON body over --max-body-bytes: 413 payload_too_large", T, async () => {
  const ann = person("ann");
  const r = await rest(server, "POST", "/api/rooms", { token: ann.token, body: { kind: "group", title: "x".repeat(5000) } });
  assert.equal(r.status, 413);
  assert.equal(r.body.error.code, "payload_too_large");
  const bad = await rest(server, "POST", "/api/rooms", { token: ann.token, raw: "{not json", headers: { "content-type": "application/json" } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, "bad_request");
});

test("REST rate limit per caller: 429 rate_limited", T, async () => {
  const limited = await startChatd({ args: ["--rest-rate", "1", "--rest-burst", "3"] });
  try {
    const ann = person("ann");
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await rest(limited, "GET", "/api/rooms", { token: ann.token })).status);
    assert.deepEqual(codes.slice(0, 3), [200, 200, 200]);
    assert.equal(codes[4], 429);
    const r = await rest(limited, "GET", "/api/rooms", { token: ann.token });
    assert.equal(r.body.error.code, "rate_limited");
    // Another caller has their own bucket.
    assert.equal((await rest(limited, "GET", "/api/rooms", { token: person("bob").token })).status, 200);
  } finally {
    assert.equal(await limited.stop(), 0);
  }
});

// A web app served from another origin calls the REST API from the browser:
// the preflight and the answer carry CORS headers for the allowed origin only.
test("CORS on the REST API: preflight and answers, for --cors-origin only", T, async () => {
  const ann = person("ann");
  const pre = await rest(server, "OPTIONS", "/api/rooms", {
    headers: { origin: "http://app.example", "access-control-request-method": "POST",
      "access-control-request-headers": "authorization,content-type" },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get("access-control-allow-origin"), "http://app.example");
  assert.match(pre.headers.get("access-control-allow-methods"), /POST/);
  assert.equal(pre.headers.get("access-control-allow-headers"), "authorization,content-type");

  const got = await rest(server, "GET", "/api/rooms", { token: ann.token, headers: { origin: "http://app.example" } });
  assert.equal(got.status, 200);
  assert.equal(got.headers.get("access-control-allow-origin"), "http://app.example");
  const denied = await rest(server, "POST", "/api/rooms", {
    token: ann.token, body: { kind: "group", title: "x", members: [] }, headers: { origin: "http://evil.example" },
  });
  assert.equal(denied.headers.get("access-control-allow-origin"), null);
  const plain = await rest(server, "GET", "/api/rooms", { token: ann.token });
  assert.equal(plain.headers.get("access-control-allow-origin"), null);
  const wrongMethod = await rest(server, "DELETE", "/api/rooms", { token: ann.token, headers: { origin: "http://app.example" } });
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get("access-control-allow-origin"), "http://app.example");
  // Errors the transport gives before any route runs (over the 20,000-byte
  // upload cap, the largest body it takes) are readable too.
  const tooBig = await rest(server, "POST", "/api/rooms", {
    token: ann.token, raw: "x".repeat(30000), headers: { origin: "http://app.example", "content-type": "application/json" },
  });
  assert.equal(tooBig.status, 413);
  assert.equal(tooBig.headers.get("access-control-allow-origin"), "http://app.example");
});
