// End-to-end: every authentication and authorization denial of the
// protocol (sections 2, 3, 4, 6, 8, 9) against a real chatd: refused
// tokens as CONNECT_ERROR "unauthorized", non-members, other people's
// messages, non-owners managing members, signalling outside the room, an
// ended session, and REST without auth, with a wrong method or an unknown
// route, and the dev token endpoint without --dev.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChatd, Client, connect, rest, userToken, signJwt, ok, failed, uid, person, API_KEY, SECRET } from "./lib/harness.mjs";

let server;
before(async () => {
  server = await startChatd();
});
after(async () => {
  assert.equal(await server?.stop(), 0);
});

const T = { timeout: 20000 };
const now = () => Math.floor(Date.now() / 1000);


async function refused(opts) {
  const c = new Client(server, undefined, opts);
  try {
    await assert.rejects(c.ready(), (err) => {
      assert.equal(err.message, "unauthorized");
      assert.deepEqual(err.data, { code: "unauthorized" });
      return true;
    });
  } finally {
    c.close();
  }
}

test("connect: missing, malformed, badly signed, expired, not yet valid, exp-less tokens and the API key are refused", T, async () => {
  await refused({ auth: {} });
  await refused({ auth: { token: "not-a-jwt" } });
  await refused({ auth: { token: signJwt({ sub: "u1", exp: now() + 600 }, "another-secret") } });
  await refused({ auth: { token: signJwt({ sub: "u1", exp: now() - 120 }) } });
  await refused({ auth: { token: signJwt({ sub: "u1", exp: now() + 600, nbf: now() + 300 }) } });
  await refused({ auth: { token: signJwt({ sub: "u1" }) } });
  await refused({ auth: { token: signJwt({ sub: "", exp: now() + 600 }) } });
  await refused({ auth: { token: API_KEY } });
  // An invalid first carrier is not rescued by a valid later one.
  await refused({ auth: { token: "bad" }, query: { token: userToken("u1") } });
  // Within the 30 s leeway an expired token still works.
  const c = await connect(server, signJwt({ sub: "u-leeway", exp: now() - 5 }));
  c.close();
});

test("connect: the token query parameter, Authorization header and chatd_token cookie are accepted", T, async () => {
  const t = userToken("u-carriers", "Carrier");
  for (const opts of [{ query: { token: t } }, { extraHeaders: { authorization: `Bearer ${t}` } }, { extraHeaders: { cookie: `chatd_token=${t}` } }]) {
    const c = await new Client(server, undefined, { ...opts, auth: {} }).ready();
    try {
      const r = ok(await c.call("room:create", { kind: "group" }));
      assert.equal(r.room.createdBy, "u-carriers");
    } finally {
      c.close();
    }
  }
});

// Regression: with the chatd_token cookie any web page could open a socket
// as the user (browsers send the cookie whatever page opened the socket).
test("connect: the chatd_token cookie only from the server's own origin or --cors-origin", T, async () => {
  const t = userToken("u-cookie", "Cookie");
  const listed = await startChatd({ args: ["--cors-origin", "https://app.example"] });
  try {
    const cookie = `chatd_token=${t}`;
    for (const transports of [["websocket"], ["polling"]]) {
      for (const origin of ["https://evil.example", "null", `http://127.0.0.1:${listed.port + 1}`]) {
        const c = new Client(listed, undefined, { auth: {}, transports, extraHeaders: { cookie, origin } });
        try {
          await assert.rejects(c.ready(), (err) => err.message === "unauthorized", `${origin} ${transports}`);
        } finally {
          c.close();
        }
      }
      for (const origin of [listed.url, "https://app.example"]) {
        const c = await new Client(listed, undefined, { auth: {}, transports, extraHeaders: { cookie, origin } }).ready();
        c.close();
      }
    }
    // A token the page holds itself is not ambient: any origin may send it.
    const own = await new Client(listed, t, { extraHeaders: { origin: "https://evil.example" } }).ready();
    own.close();
  } finally {
    assert.equal(await listed.stop(), 0);
  }
});

test("non-members: join, send, history, search, presence, read, typing and rtc are forbidden; edit and delete not_found", T, async () => {
  const ann = person("ann"), eve = person("eve");
  const a = await connect(server, ann.token), e = await connect(server, eve.token);
  try {
    const room = ok(await a.call("room:create", { kind: "group" })).room;
    ok(await a.call("room:join", { room: room.id }));
    const m = ok(await a.call("message:send", { room: room.id, text: "members only" })).message;
    failed(await e.call("room:join", { room: room.id }), "forbidden");
    failed(await e.call("message:send", { room: room.id, text: "let me in" }), "forbidden");
    failed(await e.call("message:history", { room: room.id }), "forbidden");
    failed(await e.call("message:search", { room: room.id, q: "members" }), "forbidden");
    failed(await e.call("presence:list", { room: room.id }), "forbidden");
    failed(await e.call("message:read", { room: room.id, seq: 1 }), "forbidden");
    failed(await e.call("typing", { room: room.id, typing: true }), "forbidden");
    failed(await e.call("rtc:offer", { room: room.id, to: a.id, sdp: { type: "offer", sdp: "v=0" } }), "forbidden");
    // Not forbidden: that would tell an outsider the (sequential) id exists.
    failed(await e.call("message:edit", { id: m.id, text: "mine now" }), "not_found");
    failed(await e.call("message:delete", { id: m.id }), "not_found");
    failed(await e.call("session:end", { room: room.id }), "forbidden");
    failed(await e.call("room:join", { room: "no-such-room" }), "not_found");
    await a.barrier();
    assert.deepEqual(a.drain("presence:join"), []);
    assert.deepEqual(a.drain("rtc:offer"), []);
    assert.equal(a.drain("message:new").length, 1, "only ann's own message");
    for (const path of [`/api/rooms/${room.id}`, `/api/rooms/${room.id}/messages`, `/api/rooms/${room.id}/presence`, `/api/rooms/${room.id}/search?q=x`]) {
      const r = await rest(server, "GET", path, { token: eve.token });
      assert.equal(r.status, 403, path);
      assert.equal(r.body.error.code, "forbidden");
    }
  } finally {
    a.close();
    e.close();
  }
});

test("others' messages: a member may not edit another's message, nor delete it unless owner", T, async () => {
  const ann = person("ann"), bob = person("bob"), cat = person("cat");
  const a = await connect(server, ann.token), b = await connect(server, bob.token), c = await connect(server, cat.token);
  try {
    const room = ok(await a.call("room:create", { kind: "group", members: [bob.id, cat.id] })).room;
    const bm = ok(await b.call("message:send", { room: room.id, text: "bob's" })).message;
    failed(await c.call("message:edit", { id: bm.id, text: "cat was here" }), "forbidden");
    failed(await a.call("message:edit", { id: bm.id, text: "even the owner" }), "forbidden");
    failed(await c.call("message:delete", { id: bm.id }), "forbidden");
    const r = await rest(server, "PATCH", `/api/messages/${bm.id}`, { token: cat.token, body: { text: "x" } });
    assert.equal(r.status, 403);
    assert.equal((await rest(server, "DELETE", `/api/messages/${bm.id}`, { token: cat.token })).status, 403);
    // Nobody edits a system message, not even its sender.
    ok(await a.call("member:add", { room: room.id, userId: "dan" }));
    const sys = ok(await a.call("message:history", { room: room.id })).messages.find((m) => m.type === "system");
    failed(await a.call("message:edit", { id: sys.id, text: "Ann added nobody" }), "forbidden");
    const h = ok(await b.call("message:history", { room: room.id }));
    assert.equal(h.messages[0].text, "bob's");
    assert.equal(h.messages[0].deleted, false);
  } finally {
    a.close();
    b.close();
    c.close();
  }
});

test("member management: non-owners may not add or remove others; direct rooms are fixed", T, async () => {
  const ann = person("ann"), bob = person("bob"), cat = person("cat");
  const a = await connect(server, ann.token), b = await connect(server, bob.token);
  try {
    const room = ok(await a.call("room:create", { kind: "group", members: [bob.id, cat.id] })).room;
    failed(await b.call("member:remove", { room: room.id, userId: cat.id }), "forbidden");
    failed(await b.call("member:remove", { room: room.id, userId: ann.id }), "forbidden");
    failed(await b.call("member:add", { room: room.id, userId: "dan" }), "forbidden");
    const r = await rest(server, "DELETE", `/api/rooms/${room.id}/members/${cat.id}`, { token: bob.token });
    assert.equal(r.status, 403);
    assert.equal((await rest(server, "POST", `/api/rooms/${room.id}/members`, { token: bob.token, body: { userId: "dan" } })).status, 403);
    failed(await a.call("member:add", { room: room.id, userId: cat.id }), "conflict");
    failed(await a.call("member:remove", { room: room.id, userId: "nobody" }), "not_found");
    assert.equal(ok(await a.call("presence:list", { room: room.id })).presence.length, 3);

    const direct = ok(await a.call("room:create", { kind: "direct", members: [bob.id] })).room;
    failed(await a.call("member:remove", { room: direct.id, userId: bob.id }), "forbidden");
    failed(await a.call("member:add", { room: direct.id, userId: cat.id }), "bad_request");
    ok(await b.call("member:remove", { room: direct.id, userId: bob.id }));
    // Once out, a room is no longer Bob's: not listed, not readable, and a
    // new direct chat with Ann is a new room.
    assert.equal(ok(await b.call("rooms:list", {})).rooms.some((r) => r.room.id === direct.id), false);
    failed(await b.call("message:history", { room: direct.id }), "forbidden");
    const again = ok(await a.call("room:create", { kind: "direct", members: [bob.id] })).room;
    assert.notEqual(again.id, direct.id);
  } finally {
    a.close();
    b.close();
  }
});

test("signalling: to a sid outside the room is peer_not_found; without joining is forbidden", T, async () => {
  const ann = person("ann"), bob = person("bob"), eve = person("eve");
  const a = await connect(server, ann.token), b = await connect(server, bob.token), e = await connect(server, eve.token);
  try {
    const room = ok(await a.call("room:create", { kind: "session", members: [bob.id] })).room;
    const other = ok(await e.call("room:create", { kind: "group" })).room;
    ok(await a.call("room:join", { room: room.id }));
    ok(await e.call("room:join", { room: other.id }));
    const sdp = { type: "offer", sdp: "v=0" };
    // bob is a member but his socket has not joined: not a peer yet.
    failed(await a.call("rtc:offer", { room: room.id, to: b.id, sdp }), "peer_not_found");
    failed(await a.call("rtc:ice", { room: room.id, to: e.id, candidate: null }), "peer_not_found");
    failed(await b.call("rtc:answer", { room: room.id, to: a.id, sdp }), "forbidden");
    failed(await b.call("typing", { room: room.id, typing: true }), "forbidden");
    await e.barrier();
    assert.deepEqual(e.drain("rtc:ice"), []);
    await b.barrier();
    assert.deepEqual(b.drain("rtc:offer"), []);
  } finally {
    a.close();
    b.close();
    e.close();
  }
});

test("join tokens: a wrong one is forbidden, the right one makes a member ('Bob joined'); admins enter without joining", T, async () => {
  const ann = person("ann"), bob = person("bob"), root = person("root", { role: "admin" });
  const a = await connect(server, ann.token), b = await connect(server, bob.token), r = await connect(server, root.token);
  try {
    const s = ok(await a.call("room:create", { kind: "session" }));
    ok(await a.call("room:join", { room: s.room.id }));
    failed(await b.call("room:join", { room: s.room.id, joinToken: "A".repeat(43) }), "forbidden");
    const group = ok(await a.call("room:create", { kind: "group" })).room;
    failed(await b.call("room:join", { room: group.id, joinToken: s.joinToken }), "forbidden");
    const j = ok(await b.call("room:join", { room: s.room.id, joinToken: s.joinToken }));
    assert.deepEqual(j.room.members.find((m) => m.userId === bob.id), { userId: bob.id, role: "member" });
    const sys = await a.next("message:new", (x) => x.message.type === "system");
    assert.equal(sys.message.text, "Bob joined");

    const aj = ok(await r.call("room:join", { room: group.id }));
    assert.ok(aj.peers.some((p) => p.userId === root.id && p.role === "admin"));
    assert.equal(aj.room.members.some((m) => m.userId === root.id), false, "an admin does not become a member");
    ok(await r.call("message:send", { room: group.id, text: "admin here" }));
  } finally {
    a.close();
    b.close();
    r.close();
  }
});

test("ended session: join, send, typing, rtc, edit, delete, member:add are room_ended; reads still work", T, async () => {
  const ann = person("ann"), bob = person("bob");
  const a = await connect(server, ann.token), b = await connect(server, bob.token);
  try {
    const s = ok(await a.call("room:create", { kind: "session", members: [bob.id] }));
    const id = s.room.id;
    ok(await a.call("room:join", { room: id }));
    ok(await b.call("room:join", { room: id }));
    const m = ok(await a.call("message:send", { room: id, text: "before the end" })).message;
    ok(await a.call("session:end", { room: id }));
    await b.next("session:ended");
    failed(await b.call("room:join", { room: id }), "room_ended");
    failed(await b.call("room:join", { room: id, joinToken: s.joinToken }), "room_ended");
    failed(await b.call("message:send", { room: id, text: "after" }), "room_ended");
    failed(await b.call("typing", { room: id, typing: true }), "room_ended");
    failed(await b.call("rtc:offer", { room: id, to: a.id, sdp: { type: "offer", sdp: "v=0" } }), "room_ended");
    failed(await b.call("rtc:ice", { room: id, to: a.id, candidate: null }), "room_ended");
    failed(await b.call("rtc:answer", { room: id, to: a.id, sdp: { type: "answer", sdp: "v=0" } }), "room_ended");
    failed(await a.call("message:edit", { id: m.id, text: "rewrite" }), "room_ended");
    failed(await a.call("message:delete", { id: m.id }), "room_ended");
    failed(await a.call("member:add", { room: id, userId: "late" }), "room_ended");
    const r = await rest(server, "POST", `/api/rooms/${id}/messages`, { token: bob.token, body: { text: "rest after" } });
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, "room_ended");

    assert.equal(ok(await b.call("message:history", { room: id })).messages.length, 1);
    assert.equal(ok(await b.call("message:search", { room: id, q: "before" })).messages.length, 1);
    ok(await b.call("presence:list", { room: id }));
    ok(await b.call("message:read", { room: id, seq: 1 }));
    ok(await b.call("member:remove", { room: id, userId: bob.id }));
  } finally {
    a.close();
    b.close();
  }
});

test("REST: 401 without or with a bad token on every route; unknown route 404; wrong method 405", T, async () => {
  const routes = [["POST", "/api/rooms"], ["GET", "/api/rooms"], ["GET", "/api/rooms/r1"], ["POST", "/api/rooms/r1/members"],
    ["DELETE", "/api/rooms/r1/members/u1"], ["GET", "/api/rooms/r1/messages"], ["POST", "/api/rooms/r1/messages"],
    ["PATCH", "/api/messages/m1"], ["DELETE", "/api/messages/m1"], ["POST", "/api/rooms/r1/read"],
    ["GET", "/api/rooms/r1/presence"], ["GET", "/api/rooms/r1/search?q=a"], ["POST", "/api/rooms/r1/end"],
    ["POST", "/api/rooms/r1/attachments"], ["GET", "/api/attachments/AAAAAAAAAAAAAAAAAAAAAA"], ["GET", "/api/ice-servers"]];
  for (const [method, path] of routes) {
    for (const token of [undefined, "garbage", signJwt({ sub: "u1", exp: now() - 120 }), signJwt({ sub: "u1", exp: now() + 60 }, "x" + SECRET)]) {
      const r = await rest(server, method, path, { token, raw: method === "GET" ? undefined : "{}" });
      assert.equal(r.status, 401, `${method} ${path} with ${token}`);
      assert.equal(r.body.error.code, "unauthorized");
      assert.equal(typeof r.body.error.message, "string");
    }
  }
  const unknown = await rest(server, "GET", "/api/nothing-here");
  assert.equal(unknown.status, 404);
  assert.equal((await rest(server, "GET", "/api/nothing-here", { token: API_KEY })).status, 404);
  for (const [method, path] of [["PUT", "/api/rooms"], ["DELETE", "/api/rooms/r1"], ["GET", "/api/dev/token"], ["POST", "/healthz"]]) {
    const r = await rest(server, method, path);
    assert.equal(r.status, 405, `${method} ${path}`);
    assert.equal(r.body.error.code, "bad_request");
  }
});

test("without --dev: /api/dev/token is 404; --session-end-roles limits who ends a session; private /metrics", T, async () => {
  const prod = await startChatd({ dev: false, args: ["--session-end-roles", "tutor", "--metrics-public", "false"] });
  try {
    const r = await rest(prod, "POST", "/api/dev/token", { body: { userId: "x" } });
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, "not_found");
    assert.equal((await rest(prod, "GET", "/metrics")).status, 401);
    assert.equal((await rest(prod, "GET", "/metrics", { token: userToken("u1") })).status, 401);
    assert.equal((await rest(prod, "GET", "/metrics", { token: API_KEY })).status, 200);
    const tutor = person("tutor"), student = person("student");
    const created = await rest(prod, "POST", "/api/rooms", {
      token: API_KEY, body: { kind: "session", members: [{ userId: tutor.id, role: "tutor" }, { userId: student.id, role: "student" }] },
    });
    assert.equal(created.status, 201);
    const id = created.body.room.id;
    const s = await connect(prod, student.token);
    try {
      failed(await s.call("session:end", { room: id }), "forbidden");
    } finally {
      s.close();
    }
    assert.equal((await rest(prod, "POST", `/api/rooms/${id}/end`, { token: tutor.token })).status, 200);
  } finally {
    assert.equal(await prod.stop(), 0);
  }
});
