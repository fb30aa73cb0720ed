// End-to-end: emoji reactions on one chatd (SQLite), as docs/protocol.md
// ("Reactions") says:
// - reaction:add / reaction:remove acks, one reaction per user and emoji,
//   message:reactions to the room with `me` per receiving user (two tabs
//   of one user both see it), nothing sent when nothing changed;
// - the same summary on the message objects of message:history,
//   message:search and the room:join replay, for the asking user, and no
//   `reactions` on a message without any;
// - bad input: missing, oversized or invalid emoji, missing or unknown id,
//   a non-member (a non-member admin may), a deleted message, the 51st
//   distinct emoji, and the per-socket event rate (a second chatd with a
//   tight --message-rate);
// - past 16 reactors of an emoji (what a live update lists), and sockets
//   on three loops of one chatd (--threads 3).
// cluster_reactions.test.mjs takes the same events across nodes and loops.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChatd, connect, rest, ok, failed, person, uid, API_KEY } from "./lib/harness.mjs";
import { NO_LIMITS } from "./lib/cluster.mjs";

const T = { timeout: 30000 };

let server;
before(async () => {
  server = await startChatd({ args: NO_LIMITS });
});
after(async () => {
  assert.equal(await server?.stop(), 0);
});

// A group room of `owner` with `members`, made over REST by the service.
async function groupRoom(srv, owner, members) {
  const r = await rest(srv, "POST", "/api/rooms", {
    token: API_KEY, body: { kind: "group", id: uid("react-"), createdBy: owner.id, members: members.map((m) => m.id) },
  });
  assert.equal(r.status, 201, r.text);
  return r.body.room;
}

const withClients = async (clients, body) => {
  try {
    await body();
  } finally {
    for (const c of clients) c.close();
  }
};

// The next message:reactions for message `id` on client `c`.
const reactionsOn = (c, id) => c.next("message:reactions", (e) => e.id === id);
// Waits for message:reactions of `id` showing `reactions` on `c` (changes
// made close together may come as one event), then drops the earlier ones.
async function settled(c, id, reactions) {
  const want = JSON.stringify(reactions);
  const e = await c.next("message:reactions", (x) => x.id === id && JSON.stringify(x.reactions) === want);
  c.drain("message:reactions");
  return e;
}

test("add and remove: acks, message:reactions with `me` per user and tab, nothing sent when nothing changes", T, async () => {
  const ann = person("ann"), bob = person("bob");
  const room = await groupRoom(server, ann, [bob]);
  const a = await connect(server, ann.token);
  const a2 = await connect(server, ann.token); // Ann's second tab
  const b = await connect(server, bob.token);
  await withClients([a, a2, b], async () => {
    for (const c of [a, a2, b]) ok(await c.call("room:join", { room: room.id }));
    const { id } = ok(await a.call("message:send", { room: room.id, text: "react to me" })).message;

    assert.deepEqual(await a.call("reaction:add", { id, emoji: "👍" }), { ok: true });
    const mine = [{ emoji: "👍", count: 1, me: true }];
    assert.deepEqual(await reactionsOn(a, id), { room: room.id, id, reactions: mine });
    assert.deepEqual(await reactionsOn(a2, id), { room: room.id, id, reactions: mine }, "both of Ann's tabs");
    assert.deepEqual(await reactionsOn(b, id), { room: room.id, id, reactions: [{ emoji: "👍", count: 1 }] });

    ok(await b.call("reaction:add", { id, emoji: "👍" }));
    assert.deepEqual((await reactionsOn(b, id)).reactions, [{ emoji: "👍", count: 2, me: true }]);
    ok(await b.call("reaction:add", { id, emoji: ":tada:" }));
    assert.deepEqual((await reactionsOn(b, id)).reactions,
      [{ emoji: "👍", count: 2, me: true }, { emoji: ":tada:", count: 1, me: true }]);
    // Emojis in the order first added; `me` is Ann's own.
    await settled(a, id, [{ emoji: "👍", count: 2, me: true }, { emoji: ":tada:", count: 1 }]);
    await settled(a2, id, [{ emoji: "👍", count: 2, me: true }, { emoji: ":tada:", count: 1 }]);

    // Twice is once; removing what is not there is fine; neither is news.
    ok(await a.call("reaction:add", { id, emoji: "👍" }));
    ok(await a.call("reaction:remove", { id, emoji: "🎉" }));
    await a.barrier();
    await b.barrier();
    assert.deepEqual(a.drain("message:reactions"), []);
    assert.deepEqual(b.drain("message:reactions"), []);

    ok(await b.call("reaction:remove", { id, emoji: ":tada:" }));
    assert.deepEqual((await reactionsOn(a, id)).reactions, [{ emoji: "👍", count: 2, me: true }]);
    assert.deepEqual((await reactionsOn(b, id)).reactions, [{ emoji: "👍", count: 2, me: true }]);
    ok(await a.call("reaction:remove", { id, emoji: "👍" }));
    assert.deepEqual((await reactionsOn(b, id)).reactions, [{ emoji: "👍", count: 1, me: true }]);
    ok(await b.call("reaction:remove", { id, emoji: "👍" }));
    await settled(a, id, []); // the last one gone
  });
});

test("history, search and the join replay carry each message's reactions for the asking user", T, async () => {
  const ann = person("ann"), bob = person("bob"), cy = person("cy");
  const room = await groupRoom(server, ann, [bob, cy]);
  const a = await connect(server, ann.token);
  const b = await connect(server, bob.token);
  await withClients([a, b], async () => {
    const first = ok(await a.call("message:send", { room: room.id, text: "apples first" })).message;
    const plain = ok(await a.call("message:send", { room: room.id, text: "apples plain" })).message;
    ok(await a.call("reaction:add", { id: first.id, emoji: "🍎" }));
    ok(await b.call("reaction:add", { id: first.id, emoji: "🍎" }));
    ok(await b.call("reaction:add", { id: first.id, emoji: "👍🏽" }));

    const history = ok(await a.call("message:history", { room: room.id })).messages;
    assert.deepEqual(history.map((m) => m.id), [first.id, plain.id]);
    assert.deepEqual(history[0].reactions, [{ emoji: "🍎", count: 2, me: true }, { emoji: "👍🏽", count: 1 }]);
    assert.equal("reactions" in history[1], false, "no reactions: no field");
    const bobs = ok(await b.call("message:history", { room: room.id })).messages;
    assert.deepEqual(bobs[0].reactions, [{ emoji: "🍎", count: 2, me: true }, { emoji: "👍🏽", count: 1, me: true }]);

    const found = ok(await a.call("message:search", { room: room.id, q: "apples" })).messages;
    assert.deepEqual(found.map((m) => m.id), [plain.id, first.id]);
    assert.deepEqual(found[1].reactions, history[0].reactions);

    // Cy (no reaction of his) comes in with a replay of everything.
    const c = await connect(server, cy.token);
    await withClients([c], async () => {
      ok(await c.call("room:join", { room: room.id, afterSeq: 0 }));
      const replayed = [await c.next("message:new"), await c.next("message:new")].map((e) => e.message);
      assert.deepEqual(replayed.map((m) => m.id), [first.id, plain.id]);
      assert.deepEqual(replayed[0].reactions, [{ emoji: "🍎", count: 2 }, { emoji: "👍🏽", count: 1 }]);
      assert.equal("reactions" in replayed[1], false);
    });

    // A deleted message shows none.
    ok(await a.call("message:delete", { id: first.id }));
    const after = ok(await b.call("message:history", { room: room.id })).messages;
    assert.equal("reactions" in after[0], false);
  });
});

test("emoji forms: one grapheme cluster or a :short_name:, at most 32 bytes", T, async () => {
  const ann = person("ann");
  const room = await groupRoom(server, ann, []);
  const a = await connect(server, ann.token);
  await withClients([a], async () => {
    const { id } = ok(await a.call("message:send", { room: room.id, text: "forms" })).message;
    for (const emoji of ["👍", "👍🏽", "🇫🇷", "👨‍👩‍👧", "1️⃣", "❤️", "é", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", ":+1:", ":thumbs_up-2:", `:${"a".repeat(30)}:`])
      assert.deepEqual(await a.call("reaction:add", { id, emoji }), { ok: true }, emoji);
    for (const emoji of ["", "ab", "👍👍", "🇫", " ", "\u0301", "\u200d👍", ":Thumbs:", "::", ":a b:", "a:", ":x", 7])
      failed(await a.call("reaction:add", { id, emoji }), "bad_request");
    failed(await a.call("reaction:add", { id, emoji: `:${"a".repeat(31)}:` }), "payload_too_large");
    failed(await a.call("reaction:add", { id, emoji: "👍" + "\u{1F3FD}".repeat(8) }), "payload_too_large");
  });
});

test("refusals: missing fields, unknown id, non-member, deleted message, the 51st distinct emoji", T, async () => {
  const ann = person("ann"), bob = person("bob"), eve = person("eve");
  const room = await groupRoom(server, ann, [bob]);
  const a = await connect(server, ann.token);
  const b = await connect(server, bob.token);
  const e = await connect(server, eve.token);
  await withClients([a, b, e], async () => {
    const { id } = ok(await a.call("message:send", { room: room.id, text: "limits" })).message;
    failed(await a.call("reaction:add", { id }), "bad_request");
    failed(await a.call("reaction:add", { emoji: "👍" }), "bad_request");
    failed(await a.call("reaction:remove", { id, emoji: "nope" }), "bad_request");
    failed(await a.call("reaction:add", { id: "m999999", emoji: "👍" }), "not_found");
    failed(await a.call("reaction:add", { id: "no-such-id", emoji: "👍" }), "not_found");
    // Eve is in no room with it: the message is not hers to see.
    failed(await e.call("reaction:add", { id, emoji: "👍" }), "not_found");
    failed(await e.call("reaction:remove", { id, emoji: "👍" }), "not_found");
    // An admin may, as with message:send, without being a member.
    const root = await connect(server, person("root", { role: "admin" }).token);
    await withClients([root], async () => {
      ok(await root.call("reaction:add", { id, emoji: "👀" }));
      ok(await root.call("reaction:remove", { id, emoji: "👀" }));
    });

    for (let i = 0; i < 50; ++i) ok(await a.call("reaction:add", { id, emoji: `:e${i}:` }));
    const over = await a.call("reaction:add", { id, emoji: ":e50:" });
    failed(over, "conflict");
    assert.match(over.error.message, /50 different reactions/);
    ok(await b.call("reaction:add", { id, emoji: ":e7:" })); // one already there is fine
    ok(await a.call("reaction:remove", { id, emoji: ":e0:" }));
    ok(await b.call("reaction:add", { id, emoji: ":e50:" })); // room for one again

    ok(await a.call("message:delete", { id }));
    const gone = await b.call("reaction:add", { id, emoji: "👍" });
    failed(gone, "not_found");
    assert.match(gone.error.message, /deleted/);
    failed(await b.call("reaction:remove", { id, emoji: ":e7:" }), "not_found");
  });
});

test("reaction events draw from the socket's event rate (--message-rate) and answer rate_limited past it", T, async () => {
  const tight = await startChatd({ args: ["--message-rate", "0.5", "--message-burst", "4"] });
  try {
    const ann = person("ann");
    const room = await groupRoom(tight, ann, []);
    const a = await connect(tight, ann.token);
    await withClients([a], async () => {
      const { id } = ok(await a.call("message:send", { room: room.id, text: "fast" })).message;
      const acks = await Promise.all(Array.from({ length: 8 }, (_, i) => a.call("reaction:add", { id, emoji: `:r${i}:` })));
      const limited = acks.filter((x) => x.ok === false);
      assert.ok(limited.length >= 4, JSON.stringify(acks));
      for (const x of limited) failed(x, "rate_limited");
      assert.ok(a.connected, "the socket stays");
    });
  } finally {
    assert.equal(await tight.stop(), 0);
  }
});

test("past 16 reactors of an emoji, live updates leave `me` out; history still has it", T, async () => {
  const people = Array.from({ length: 18 }, (_, i) => person(`p${i}_`));
  const room = await groupRoom(server, people[0], people.slice(1));
  const clients = await Promise.all(people.map((p) => connect(server, p.token)));
  await withClients(clients, async () => {
    for (const c of clients) ok(await c.call("room:join", { room: room.id }));
    const { id } = ok(await clients[0].call("message:send", { room: room.id, text: "popular" })).message;
    for (let i = 0; i < 16; ++i) ok(await clients[i].call("reaction:add", { id, emoji: "👍" }));
    await settled(clients[0], id, [{ emoji: "👍", count: 16, me: true }]);
    await settled(clients[15], id, [{ emoji: "👍", count: 16, me: true }]);
    await settled(clients[17], id, [{ emoji: "👍", count: 16 }]);
    ok(await clients[16].call("reaction:add", { id, emoji: "👍" }));
    for (const i of [0, 16, 17]) await settled(clients[i], id, [{ emoji: "👍", count: 17 }]);
    const history = async (i) => ok(await clients[i].call("message:history", { room: room.id })).messages[0].reactions;
    assert.deepEqual(await history(16), [{ emoji: "👍", count: 17, me: true }]);
    assert.deepEqual(await history(17), [{ emoji: "👍", count: 17 }]);
  });
});

test("with --threads 3, sockets on every loop get message:reactions with their own `me`", T, async () => {
  const loops = await startChatd({ args: ["--threads", "3", ...NO_LIMITS] });
  try {
    const ann = person("ann"), bob = person("bob"), cy = person("cy");
    const room = await groupRoom(loops, ann, [bob, cy]);
    const users = [ann, bob, cy, ann, bob, cy];
    const clients = await Promise.all(users.map((u) => connect(loops, u.token)));
    await withClients(clients, async () => {
      const used = new Set(clients.map((c) => c.socket.io.engine.id[0])); // the sid's first character names its loop
      assert.ok(used.size >= 2, `sockets on one loop only: ${clients.map((c) => c.id).join(" ")}`);
      for (const c of clients) ok(await c.call("room:join", { room: room.id }));
      const { id } = ok(await clients[0].call("message:send", { room: room.id, text: "loops" })).message;
      ok(await clients[1].call("reaction:add", { id, emoji: "🎉" }));
      for (const [i, c] of clients.entries())
        await settled(c, id, users[i] === bob ? [{ emoji: "🎉", count: 1, me: true }] : [{ emoji: "🎉", count: 1 }]);
    });
  } finally {
    assert.equal(await loops.stop(), 0);
  }
});
