// End-to-end: moderation on one chatd (SQLite): the moderator role,
// deleting anyone's message, mutes (kept across a restart), slow mode,
// the audit log over the socket and REST, and server-wide bans; each with
// the refusals of bad input and of users who may not.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChatd, Client, connect, deadline, rest, ok, failed, uid, person, eventually, API_KEY, ISO_MS } from "./lib/harness.mjs";

let server;
before(async () => {
  server = await startChatd({ args: ["--message-rate", "1000", "--message-burst", "1000"] });
});
after(async () => {
  assert.equal(await server?.stop(), 0);
});

const T = { timeout: 30000 };

// A group room owned by `owner` with the others as members, everyone joined.
async function room(owner, ...others) {
  const id = uid("mod");
  const sockets = [];
  for (const u of [owner, ...others]) sockets.push(await connect(server, u.token));
  ok(await sockets[0].call("room:create", { id, kind: "group", members: others.map((u) => u.id) }));
  for (const s of sockets) ok(await s.call("room:join", { room: id }));
  return { id, sockets };
}

const close = (sockets) => sockets.forEach((s) => s.close());

// One call on a connection of its own.
async function callAs(srv, user, event, payload) {
  const c = await connect(srv, user.token);
  try {
    return await c.call(event, payload);
  } finally {
    c.close();
  }
}

test("member:role: the owner makes and unmakes moderators; members see it; bad input is refused", T, async () => {
  const [ann, bob, cy] = [person("ann"), person("bob"), person("cy")];
  const { id, sockets: [a, b, c] } = await room(ann, bob, cy);
  try {
    const made = ok(await a.call("member:role", { room: id, userId: bob.id, role: "moderator" }));
    assert.equal(made.room.members.find((m) => m.userId === bob.id).role, "moderator");
    const note = await c.next("notification", (n) => n.type === "member-role");
    assert.deepEqual([note.userId, note.role, note.by], [bob.id, "moderator", ann.id]);
    const sys = await c.next("message:new", (m) => m.message.type === "system");
    assert.equal(sys.message.text, `Ann made Bob a moderator`);

    // Only the owner gives roles; a moderator cannot; the owner's role is fixed.
    failed(await b.call("member:role", { room: id, userId: cy.id, role: "moderator" }), "forbidden");
    failed(await c.call("member:role", { room: id, userId: bob.id, role: "member" }), "forbidden");
    failed(await a.call("member:role", { room: id, userId: ann.id, role: "member" }), "forbidden");
    // Bad input: unknown room, non-member, role names, missing fields.
    failed(await a.call("member:role", { room: uid("nope"), userId: bob.id, role: "moderator" }), "not_found");
    failed(await a.call("member:role", { room: id, userId: "nobody", role: "moderator" }), "not_found");
    failed(await a.call("member:role", { room: id, userId: bob.id, role: "owner" }), "bad_request");
    failed(await a.call("member:role", { room: id, userId: bob.id }), "bad_request");
    failed(await a.call("member:role", { room: id, role: "member" }), "bad_request");

    ok(await a.call("member:role", { room: id, userId: bob.id, role: "member" }));
    const back = await c.next("notification", (n) => n.type === "member-role" && n.role === "member");
    assert.equal(back.userId, bob.id);
  } finally {
    close([a, b, c]);
  }
});

test("message:delete: moderators and owners delete anyone's message; members only their own", T, async () => {
  const [ann, bob, cy] = [person("ann"), person("bob"), person("cy")];
  const { id, sockets: [a, b, c] } = await room(ann, bob, cy);
  try {
    const m1 = ok(await c.call("message:send", { room: id, text: "one" })).message;
    const m2 = ok(await c.call("message:send", { room: id, text: "two" })).message;
    failed(await b.call("message:delete", { id: m1.id }), "forbidden");
    ok(await a.call("member:role", { room: id, userId: bob.id, role: "moderator" }));
    ok(await b.call("message:delete", { id: m1.id }));
    await c.next("message:deleted", (d) => d.id === m1.id);
    ok(await a.call("message:delete", { id: m2.id }));
    // A service acting for a member deletes with that member's rights.
    const m3 = ok(await b.call("message:send", { room: id, text: "three" })).message;
    const asCy = await rest(server, "DELETE", `/api/messages/${m3.id}?userId=${cy.id}`, { token: API_KEY });
    assert.equal(asCy.status, 403);
    assert.equal((await rest(server, "DELETE", `/api/messages/${m1.id}?userId=${bob.id}`, { token: API_KEY })).status, 200);
    // The log has both deletes of someone else's message.
    const log = ok(await a.call("moderation:log", { room: id }));
    const deletes = log.entries.filter((e) => e.action === "delete");
    assert.deepEqual(deletes.map((e) => [e.by, e.target, e.detail.sender]), [[ann.id, m2.id, cy.id], [bob.id, m1.id, cy.id]]);
  } finally {
    close([a, b, c]);
  }
});

test("member:mute: a muted member cannot send or type until unmuted; the room is told; rules", T, async () => {
  const [ann, bob, cy, dan] = [person("ann"), person("bob"), person("cy"), person("dan")];
  const { id, sockets: [a, b, c, d] } = await room(ann, bob, cy, dan);
  try {
    ok(await a.call("member:role", { room: id, userId: bob.id, role: "moderator" }));
    const muted = ok(await b.call("member:mute", { room: id, userId: cy.id, seconds: 600 }));
    assert.match(muted.until, ISO_MS);
    const note = await d.next("notification", (n) => n.type === "member-muted");
    assert.deepEqual([note.userId, note.until, note.by], [cy.id, muted.until, bob.id]);
    const sys = await d.next("message:new", (m) => m.message.type === "system" && m.message.text.includes("muted"));
    assert.equal(sys.message.text, `Bob muted Cy until ${muted.until}`);

    const refused = await c.call("message:send", { room: id, text: "let me speak" });
    failed(refused, "forbidden");
    assert.match(refused.error.message, new RegExp(`until ${muted.until.replace(/[.]/g, "\\.")}`));
    failed(await c.call("typing", { room: id, typing: true }), "forbidden");
    ok(await c.call("typing", { room: id, typing: false }));
    // Others are not muted. A muted member adds no reaction, but may take one back.
    const still = ok(await d.call("message:send", { room: id, text: "still here" }));
    failed(await c.call("reaction:add", { id: still.message.id, emoji: "👍" }), "forbidden");
    ok(await c.call("reaction:remove", { id: still.message.id, emoji: "👍" }));

    // Who may: not members, not on the owner, a moderator not on a moderator.
    failed(await d.call("member:mute", { room: id, userId: cy.id, seconds: 60 }), "forbidden");
    failed(await b.call("member:mute", { room: id, userId: ann.id, seconds: 60 }), "forbidden");
    ok(await a.call("member:role", { room: id, userId: dan.id, role: "moderator" }));
    failed(await b.call("member:mute", { room: id, userId: dan.id, seconds: 60 }), "forbidden");
    // Bad input.
    for (const seconds of [0, -1, 2_592_001, 1.5, "60", undefined])
      failed(await b.call("member:mute", { room: id, userId: cy.id, seconds }), "bad_request");
    failed(await b.call("member:mute", { room: uid("nope"), userId: cy.id, seconds: 60 }), "not_found");
    failed(await b.call("member:mute", { room: id, userId: "nobody", seconds: 60 }), "not_found");
    failed(await b.call("member:unmute", { room: id, userId: dan.id }), "forbidden");
    failed(await b.call("member:unmute", { room: id, userId: ann.id }), "not_found");

    // Every member may read the mutes in force and slow mode; non-members may not.
    const st = ok(await d.call("moderation:state", { room: id }));
    assert.deepEqual([st.slowMode, st.mutes], [0, [{ userId: cy.id, until: muted.until }]]);
    const outsider = await connect(server, person("out").token);
    failed(await outsider.call("moderation:state", { room: id }), "forbidden");
    outsider.close();
    ok(await b.call("member:unmute", { room: id, userId: cy.id }));
    await d.next("notification", (n) => n.type === "member-unmuted" && n.userId === cy.id);
    await d.next("message:new", (m) => m.message.text === "Bob unmuted Cy");
    ok(await c.call("message:send", { room: id, text: "thanks" }));
    ok(await c.call("reaction:add", { id: still.message.id, emoji: "👍" }));
    failed(await b.call("member:unmute", { room: id, userId: cy.id }), "not_found");

    const log = ok(await a.call("moderation:log", { room: id }));
    assert.deepEqual(log.entries.map((e) => e.action).slice(0, 4), ["unmute", "role", "mute", "role"]);
    failed(await b.call("moderation:log", { room: id }), "forbidden");
  } finally {
    close([a, b, c, d]);
  }
});

test("a mute ends by itself when its time is up", T, async () => {
  const [ann, bob] = [person("ann"), person("bob")];
  const { id, sockets: [a, b] } = await room(ann, bob);
  try {
    ok(await a.call("member:mute", { room: id, userId: bob.id, seconds: 1 }));
    failed(await b.call("message:send", { room: id, text: "x" }), "forbidden");
    await eventually(async () => (await b.call("message:send", { room: id, text: "free" })).ok, "the mute to end", 5000);
  } finally {
    close([a, b]);
  }
});

test("room:slowmode: one message per member per N seconds; owners and moderators exempt; off again", T, async () => {
  const [ann, bob, cy] = [person("ann"), person("bob"), person("cy")];
  const { id, sockets: [a, b, c] } = await room(ann, bob, cy);
  try {
    failed(await c.call("room:slowmode", { room: id, seconds: 10 }), "forbidden");
    for (const seconds of [-1, 21_601, "5", undefined])
      failed(await a.call("room:slowmode", { room: id, seconds }), "bad_request");
    ok(await a.call("member:role", { room: id, userId: bob.id, role: "moderator" }));
    assert.deepEqual(ok(await b.call("room:slowmode", { room: id, seconds: 30 })).seconds, 30);
    const note = await c.next("notification", (n) => n.type === "slow-mode");
    assert.equal(note.seconds, 30);
    const first = ok(await c.call("message:send", { room: id, text: "first", clientMsgId: "c-1" }));
    const second = await c.call("message:send", { room: id, text: "second" });
    failed(second, "rate_limited");
    assert.match(second.error.message, /slow mode: one message every 30 s/);
    // A resend of the first (its ack was lost) is answered as the duplicate it is.
    const resent = ok(await c.call("message:send", { room: id, text: "first", clientMsgId: "c-1" }));
    assert.deepEqual([resent.duplicate, resent.message.id], [true, first.message.id]);
    failed(await c.call("message:send", { room: id, text: "third", clientMsgId: "c-2" }), "rate_limited");
    for (const s of [a, a, b, b]) ok(await s.call("message:send", { room: id, text: "exempt" }));
    ok(await a.call("room:slowmode", { room: id, seconds: 0 }));
    ok(await c.call("message:send", { room: id, text: "free again" }));
    const log = ok(await a.call("moderation:log", { room: id, limit: 2 }));
    assert.deepEqual(log.entries.map((e) => [e.action, e.detail.seconds]), [["slowmode", 0], ["slowmode", 30]]);
    assert.equal(log.hasMore, true);
    const older = ok(await a.call("moderation:log", { room: id, before: log.entries[1].id }));
    assert.deepEqual(older.entries.map((e) => e.action), ["role"]);
    assert.equal(older.hasMore, false);
    for (const limit of [0, 101, "x"]) failed(await a.call("moderation:log", { room: id, limit }), "bad_request");
  } finally {
    close([a, b, c]);
  }
});

test("REST: the audit log for the service and the owner, not for members", T, async () => {
  const [ann, bob] = [person("ann"), person("bob")];
  const { id, sockets } = await room(ann, bob);
  try {
    ok(await sockets[0].call("member:mute", { room: id, userId: bob.id, seconds: 60 }));
    const svc = await rest(server, "GET", `/api/rooms/${id}/audit?limit=5`, { token: API_KEY });
    assert.equal(svc.status, 200);
    assert.deepEqual(svc.body.entries.map((e) => [e.action, e.by, e.target]), [["mute", ann.id, bob.id]]);
    assert.equal((await rest(server, "GET", `/api/rooms/${id}/audit`, { token: ann.token })).status, 200);
    assert.equal((await rest(server, "GET", `/api/rooms/${id}/audit`, { token: bob.token })).status, 403);
    assert.equal((await rest(server, "GET", `/api/rooms/${id}/audit?limit=x`, { token: API_KEY })).status, 400);
    assert.equal((await rest(server, "GET", `/api/rooms/${uid("nope")}/audit`, { token: API_KEY })).status, 404);
  } finally {
    close(sockets);
  }
});

test("bans: the service bans a user (sockets dropped, connects refused) and lifts the ban", T, async () => {
  const [eve, ann] = [person("eve"), person("ann")];
  const e1 = await connect(server, eve.token);
  const e2 = await connect(server, eve.token);
  const a = await connect(server, ann.token);
  try {
    const gone = Promise.all([e1, e2].map((c) => new Promise((r) => c.socket.once("disconnect", r))));
    const r = await rest(server, "POST", `/api/users/${eve.id}/ban`, { token: API_KEY, body: { reason: "spam", seconds: 3600 } });
    assert.equal(r.status, 200);
    assert.equal(r.body.reason, "spam");
    assert.match(r.body.until, ISO_MS);
    assert.deepEqual(await deadline(gone, 5000, "the banned user's sockets to be dropped"), ["io server disconnect", "io server disconnect"]);
    assert.equal(a.connected, true);
    const c = new Client(server, eve.token);
    try {
      await assert.rejects(c.ready(), (err) => {
        assert.equal(err.message, "forbidden");
        assert.equal(err.data.code, "forbidden");
        assert.match(err.data.message, /you are banned until .*: spam/);
        return true;
      });
    } finally {
      c.close();
    }
    // Users may not ban; bad input.
    // A banned user's token is refused over REST too.
    const own = await rest(server, "GET", "/api/rooms", { token: eve.token });
    assert.equal(own.status, 403);
    assert.match(own.body.error.message, /you are banned/);
    assert.equal((await rest(server, "POST", `/api/users/${eve.id}/ban`, { token: ann.token, body: {} })).status, 403);
    failed(await a.call("user:ban", { userId: eve.id }), "forbidden");
    for (const body of [{ seconds: 0 }, { seconds: "1" }, { reason: 5 }, { reason: "x".repeat(501) }])
      assert.equal((await rest(server, "POST", `/api/users/${eve.id}/ban`, { token: API_KEY, body })).status, 400, JSON.stringify(body));

    const list = await rest(server, "GET", "/api/bans?limit=1000", { token: API_KEY });
    assert.equal(list.status, 200);
    const mine = list.body.bans.find((b) => b.userId === eve.id);
    assert.deepEqual([mine.reason, mine.by, mine.until], ["spam", "system", r.body.until]);
    assert.match(mine.at, ISO_MS);
    assert.equal((await rest(server, "GET", "/api/bans", { token: ann.token })).status, 403);
    assert.equal((await rest(server, "GET", "/api/bans?limit=0", { token: API_KEY })).status, 400);
    assert.equal((await rest(server, "DELETE", `/api/users/${eve.id}/ban`, { token: API_KEY })).status, 200);
    assert.equal((await rest(server, "DELETE", `/api/users/${eve.id}/ban`, { token: API_KEY })).status, 404);
    (await connect(server, eve.token)).close();
    // Both are in the server's ban log, newest first.
    const log = await rest(server, "GET", "/api/bans/audit?limit=100", { token: API_KEY });
    assert.equal(log.status, 200);
    const eves = log.body.entries.filter((e) => e.target === eve.id);
    assert.deepEqual(eves.map((e) => [e.action, e.by]), [["unban", "system"], ["ban", "system"]]);
    assert.deepEqual(eves[1].detail, { reason: "spam", until: r.body.until });
    assert.equal((await rest(server, "GET", "/api/bans/audit", { token: ann.token })).status, 403);
  } finally {
    [e1, e2, a].forEach((s) => s.close());
  }
});

test("mutes, slow mode and bans survive a restart", T, async () => {
  const own = await startChatd();
  const [ann, bob, eve] = [person("ann"), person("bob"), person("eve")];
  const id = uid("keep");
  let a = await connect(own, ann.token);
  ok(await a.call("room:create", { id, kind: "group", members: [bob.id] }));
  ok(await a.call("member:mute", { room: id, userId: bob.id, seconds: 600 }));
  ok(await a.call("room:slowmode", { room: id, seconds: 600 }));
  assert.equal((await rest(own, "POST", `/api/users/${eve.id}/ban`, { token: API_KEY, body: {} })).status, 200);
  a.close();
  assert.equal(await own.stop(), 0);
  const again = await startChatd({ dataDir: own.dataDir });
  try {
    const b = await connect(again, bob.token);
    failed(await b.call("message:send", { room: id, text: "x" }), "forbidden");
    ok(await callAs(again, ann, "member:unmute", { room: id, userId: bob.id }));
    ok(await b.call("message:send", { room: id, text: "one" }));
    failed(await b.call("message:send", { room: id, text: "two" }), "rate_limited");
    b.close();
    // The bans are read at start; a connect just before may get in and is then dropped.
    await eventually(async () => {
      const e = new Client(again, eve.token);
      try {
        await e.ready();
        return false;
      } catch (err) {
        return err.message === "forbidden" && /you are banned$/.test(err.data.message);
      } finally {
        e.close();
      }
    }, "eve's connect to be refused");
  } finally {
    assert.equal(await again.stop(), 0);
  }
});
