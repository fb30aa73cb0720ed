// End-to-end: bad input for every client event of protocol section 4
// (missing fields, wrong types, oversized text, invalid UTF-8 as a lone
// surrogate, invalid room ids, unknown events) gets the specified error
// code from a real chatd, and the socket stays connected and usable. Also:
// the `error` event when there is no ack, and the per-socket rate limits
// (rate_limited, the event dropped, the connection kept).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { npmPackage } from "../lib/needs.mjs";
import { startChatd, connect, userToken, ok, failed, uid, deadline, WAIT_MS } from "./lib/harness.mjs";

const WebSocket = npmPackage(new URL("../interop", import.meta.url).pathname, "ws");

let server;
let ann, bob, room, session, msg, otherRoom;
before(async () => {
  server = await startChatd();
  ann = { id: uid("ann"), token: null };
  ann.token = userToken(ann.id, "Ann");
  bob = { id: uid("bob") };
  const c = await connect(server, ann.token);
  try {
    room = ok(await c.call("room:create", { kind: "group", members: [bob.id] })).room;
    otherRoom = ok(await c.call("room:create", { kind: "group" })).room;
    session = ok(await c.call("room:create", { kind: "session", members: [bob.id] })).room;
    msg = ok(await c.call("message:send", { room: room.id, text: "first", clientMsgId: "taken-id" })).message;
  } finally {
    c.close();
  }
});
after(async () => {
  assert.equal(await server?.stop(), 0);
});

const LONE = "\ud800";
const BAD_IDS = ["", "has space", "slash/no", "x".repeat(129), "é", 42, null, ["r"], { id: "r" }];

// The cases of one event: [payload, expected code]. Functions run after
// setup, so they can name the rooms and message created in before().
const CASES = {
  "room:create": () => [
    [{}, "bad_request"],
    [{ kind: "chatroom" }, "bad_request"],
    [{ kind: 1 }, "bad_request"],
    [{ kind: "group", title: 7 }, "bad_request"],
    [{ kind: "group", title: LONE }, "bad_request"],
    [{ kind: "group", members: "bob" }, "bad_request"],
    [{ kind: "group", members: [1] }, "bad_request"],
    [{ kind: "group", members: [{ userId: "x".repeat(129) }] }, "bad_request"],
    [{ kind: "group", id: "bad id" }, "bad_request"],
    [{ kind: "group", id: room.id }, "conflict"],
    [{ kind: "direct", members: ["a", "b"] }, "bad_request"],
    [{ kind: "direct" }, "bad_request"],
  ],
  "room:join": () => [
    ...BAD_IDS.map((id) => [{ room: id }, "bad_request"]),
    [{}, "bad_request"],
    [{ room: room.id, afterSeq: "1" }, "bad_request"],
    [{ room: room.id, afterSeq: -1 }, "bad_request"],
    [{ room: room.id, afterSeq: 1.5 }, "bad_request"],
    [{ room: session.id, joinToken: 5 }, "bad_request"],
    [{ room: "no-such-room" }, "not_found"],
  ],
  "room:leave": () => [[{}, "bad_request"], [{ room: "a b" }, "bad_request"], [{ room: 3 }, "bad_request"]],
  "member:add": () => [
    [{ room: room.id }, "bad_request"],
    [{ userId: "x" }, "bad_request"],
    [{ room: "bad id", userId: "x" }, "bad_request"],
    [{ room: room.id, userId: 5 }, "bad_request"],
    [{ room: room.id, userId: "" }, "bad_request"],
    [{ room: room.id, userId: "x".repeat(129) }, "bad_request"],
    [{ room: room.id, userId: "x", role: 5 }, "bad_request"],
    [{ room: room.id, userId: LONE }, "bad_request"],
    [{ room: "no-such-room", userId: "x" }, "not_found"],
  ],
  "member:remove": () => [
    [{ room: room.id }, "bad_request"],
    [{ room: "bad id", userId: "x" }, "bad_request"],
    [{ room: room.id, userId: false }, "bad_request"],
    [{ room: room.id, userId: "not-a-member" }, "not_found"],
  ],
  "message:send": () => [
    [{ text: "no room" }, "bad_request"],
    ...BAD_IDS.map((id) => [{ room: id, text: "x" }, "bad_request"]),
    [{ room: room.id }, "bad_request"],
    [{ room: room.id, text: 5 }, "bad_request"],
    [{ room: room.id, text: ["a"] }, "bad_request"],
    [{ room: room.id, text: "   \n\t " }, "bad_request"],
    [{ room: room.id, text: "" }, "bad_request"],
    [{ room: room.id, text: Buffer.from("binary") }, "bad_request"],
    [{ room: room.id, text: "x".repeat(4001) }, "payload_too_large"],
    [{ room: room.id, text: "😀".repeat(4001) }, "payload_too_large"],
    [{ room: room.id, text: `bad ${LONE} text` }, "bad_request"],
    [{ room: room.id, text: "\udc00" }, "bad_request"],
    [{ room: room.id, text: "hi", type: "system" }, "bad_request"],
    [{ room: room.id, text: "hi", type: "video" }, "bad_request"],
    [{ room: room.id, text: "hi", type: "image" }, "bad_request"],
    [{ room: room.id, text: "hi", attachment: { url: "javascript:alert(1)" } }, "bad_request"],
    [{ room: room.id, text: "hi", attachment: { name: "no url" } }, "bad_request"],
    [{ room: room.id, text: "hi", attachment: "https://x" }, "bad_request"],
    [{ room: room.id, text: "hi", replyTo: 12 }, "bad_request"],
    [{ room: room.id, text: "hi", replyTo: "no-such-message" }, "bad_request"],
    [{ room: room.id, text: "hi", clientMsgId: "c".repeat(129) }, "bad_request"],
    [{ room: room.id, text: "hi", clientMsgId: 7 }, "bad_request"],
    [{ room: otherRoom.id, text: "hi", clientMsgId: "taken-id" }, "conflict"],
    [{ room: "no-such-room", text: "hi" }, "not_found"],
  ],
  "message:edit": () => [
    [{ text: "x" }, "bad_request"],
    [{ id: msg.id }, "bad_request"],
    [{ id: 5, text: "x" }, "bad_request"],
    [{ id: "", text: "x" }, "bad_request"],
    [{ id: msg.id, text: "x".repeat(4001) }, "payload_too_large"],
    [{ id: msg.id, text: LONE }, "bad_request"],
    [{ id: msg.id, text: " " }, "bad_request"],
    [{ id: "no-such-message", text: "x" }, "not_found"],
  ],
  "message:delete": () => [[{}, "bad_request"], [{ id: 1 }, "bad_request"], [{ id: "x".repeat(200) }, "bad_request"], [{ id: "nope" }, "not_found"]],
  "message:history": () => [
    [{}, "bad_request"],
    [{ room: "bad id" }, "bad_request"],
    [{ room: room.id, limit: "10" }, "bad_request"],
    [{ room: room.id, limit: 2.5 }, "bad_request"],
    [{ room: room.id, before: "5" }, "bad_request"],
    [{ room: room.id, after: true }, "bad_request"],
    [{ room: "no-such-room" }, "not_found"],
  ],
  "message:read": () => [
    [{ room: room.id }, "bad_request"],
    [{ seq: 1 }, "bad_request"],
    [{ room: room.id, seq: "1" }, "bad_request"],
    [{ room: room.id, seq: -1 }, "bad_request"],
    [{ room: room.id, seq: 1000 }, "bad_request"],
    [{ room: "bad id", seq: 1 }, "bad_request"],
  ],
  "message:search": () => [
    [{ room: room.id }, "bad_request"],
    [{ room: room.id, q: 5 }, "bad_request"],
    [{ room: room.id, q: LONE }, "bad_request"],
    [{ room: room.id, q: "x", limit: "5" }, "bad_request"],
    [{ q: "x" }, "bad_request"],
  ],
  typing: () => [
    [{ room: room.id }, "bad_request"],
    [{ typing: true }, "bad_request"],
    [{ room: room.id, typing: "yes" }, "bad_request"],
    [{ room: "bad id", typing: true }, "bad_request"],
  ],
  "presence:list": () => [[{}, "bad_request"], [{ room: "bad id" }, "bad_request"], [{ room: 9 }, "bad_request"], [{ room: "no-such-room" }, "not_found"]],
  "session:end": () => [[{}, "bad_request"], [{ room: "bad id" }, "bad_request"], [{ room: room.id }, "bad_request"], [{ room: "no-such-room" }, "not_found"]],
  "rtc:offer": () => [
    [{ room: session.id, to: "sid" }, "bad_request"],
    [{ room: session.id, sdp: { type: "offer" } }, "bad_request"],
    [{ room: session.id, to: 5, sdp: "x" }, "bad_request"],
    [{ room: session.id, to: "sid", sdp: null }, "bad_request"],
    [{ room: "bad id", to: "sid", sdp: "x" }, "bad_request"],
    [{ room: session.id, to: "sid", sdp: LONE }, "bad_request"],
  ],
  "rtc:answer": () => [
    [{ room: session.id, to: "sid" }, "bad_request"],
    [{ to: "sid", sdp: "x" }, "bad_request"],
  ],
  "rtc:ice": () => [
    [{ room: session.id, to: "sid" }, "bad_request"],
    [{ room: session.id, candidate: {} }, "bad_request"],
    [{ room: [], to: "sid", candidate: null }, "bad_request"],
  ],
  "rooms:list": () => [],
};

// Payloads that are not an object, for every event.
const NOT_OBJECTS = ["text", 42, true, ["array"]];

async function stillUsable(c) {
  assert.equal(c.connected, true, "the socket stays connected");
  const r = ok(await c.call("message:history", { room: room.id, limit: 1 }));
  assert.equal(r.messages.length, 1);
}

for (const [event, cases] of Object.entries(CASES)) {
  test(`bad input: ${event}`, { timeout: 20000 }, async () => {
    // The rate limit comes before validation, so the cases are spread over
    // sockets that each stay within their burst (typing: 5, others: 40).
    const all = [...cases(), ...(event === "rooms:list" ? [] : NOT_OBJECTS.map((p) => [p, "bad_request"]))];
    const per = event === "typing" ? 4 : 30;
    for (let i = 0; i < all.length || i === 0; i += per) {
      const c = await connect(server, ann.token);
      try {
        for (const [payload, code] of all.slice(i, i + per)) {
          const r = await c.call(event, payload);
          try {
            failed(r, code);
          } catch (e) {
            e.message = `${event} ${JSON.stringify(payload).slice(0, 80)}: ${e.message}`;
            throw e;
          }
        }
        await stillUsable(c);
      } finally {
        c.close();
      }
    }
  });
}

test("text limits count code points: 4000 emoji are accepted", { timeout: 10000 }, async () => {
  const c = await connect(server, ann.token);
  try {
    const m = ok(await c.call("message:send", { room: room.id, text: "😀".repeat(4000) })).message;
    assert.equal([...m.text].length, 4000);
  } finally {
    c.close();
  }
});

test("unknown events, including a non-UTF-8 name, are bad_request and the socket stays", { timeout: 10000 }, async () => {
  const c = await connect(server, ann.token);
  try {
    failed(await c.call("room:explode", { room: room.id }), "bad_request");
    failed(await c.call("message", "hello"), "bad_request");
    failed(await c.call(`evt${LONE}`, {}), "bad_request");
    await stillUsable(c);
  } finally {
    c.close();
  }
});

test("without an ack, a failure is emitted as `error` {code, message, event}", { timeout: 10000 }, async () => {
  const c = await connect(server, ann.token);
  try {
    c.socket.emit("message:send", { room: "bad id", text: "x" });
    const e1 = await c.next("error");
    assert.equal(e1.code, "bad_request");
    assert.equal(e1.event, "message:send");
    assert.equal(typeof e1.message, "string");
    c.socket.emit("message:send", { room: room.id, text: "y".repeat(5000) });
    assert.deepEqual({ ...(await c.next("error")), message: "" }, { code: "payload_too_large", message: "", event: "message:send" });
    c.socket.emit("no:such:event", {});
    const e3 = await c.next("error");
    assert.equal(e3.code, "bad_request");
    assert.equal(e3.event, "no:such:event");
    c.socket.emit("room:join", { room: "no-such-room" });
    assert.equal((await c.next("error")).code, "not_found");
    // A success without an ack sends nothing back.
    c.socket.emit("message:read", { room: room.id, seq: 1 });
    await stillUsable(c);
    assert.deepEqual(c.drain("error"), []);
  } finally {
    c.close();
  }
});

test("rate limit: 45 quick message:send, some rate_limited and not stored, the connection stays", { timeout: 15000 }, async () => {
  const c = await connect(server, ann.token);
  try {
    const own = ok(await c.call("room:create", { kind: "group" })).room;
    ok(await c.call("room:join", { room: own.id }));
    const acks = await Promise.all(Array.from({ length: 45 }, (_, i) => c.call("message:send", { room: own.id, text: `burst ${i}` })));
    const limited = acks.filter((a) => a.ok === false);
    assert.ok(limited.length >= 1, "some sends are over the limit");
    for (const a of limited) failed(a, "rate_limited");
    const stored = acks.filter((a) => a.ok).length;
    assert.ok(stored >= 35, `most of the burst passes (${stored})`);
    assert.equal(c.connected, true);
    // typing has its own bucket, so it answers at once.
    ok(await c.call("typing", { room: own.id, typing: true }));
    const seqs = acks.filter((a) => a.ok).map((a) => a.message.seq);
    assert.deepEqual(seqs, Array.from({ length: stored }, (_, i) => i + 1), "no gaps from dropped sends");

    // typing: 5/s, burst 5; rtc: 100/s, burst 100.
    const typing = await Promise.all(Array.from({ length: 10 }, (_, i) => c.call("typing", { room: own.id, typing: i % 2 === 0 })));
    assert.ok(typing.some((a) => a.ok === false && a.error.code === "rate_limited"));
    // Half again the burst, so that refills during a slow (sanitizer) run cannot cover it.
    const ice = await Promise.all(Array.from({ length: 150 }, () => c.call("rtc:ice", { room: own.id, to: c.id, candidate: null })));
    assert.ok(ice.some((a) => a.ok === false && a.error.code === "rate_limited"));
    assert.ok(ice.filter((a) => a.ok).length >= 90);
    assert.equal(c.connected, true);
  } finally {
    c.close();
  }
});

// Raw Engine.IO/Socket.IO frames that no well-behaved client sends: the
// offending connection may be closed, but chatd survives and keeps serving.
test("malformed packets and deeply nested payloads: that connection at most, never the server", { timeout: 20000 }, async () => {
  const deep = "[".repeat(100000) + "]".repeat(100000);
  for (const frame of ['42["message:send",{', "42" + JSON.stringify(["message:send", { room: room.id, text: "x" }]).slice(0, -1) + "," + deep + "]",
    "42" + deep, '49["x"]', "4", "42null", '42["typing",' + '{"a":'.repeat(50000) + "1" + "}".repeat(50000) + "]"]) {
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
    const closed = new Promise((resolve) => ws.on("close", resolve));
    const opened = await deadline(new Promise((resolve, reject) => {
      ws.on("error", reject);
      ws.on("message", (d) => {
        const text = d.toString();
        if (text.startsWith("0")) ws.send(`40${JSON.stringify({ token: ann.token })}`);
        else if (text.startsWith("40")) resolve(true);
      });
    }), WAIT_MS, "raw connect");
    assert.ok(opened);
    ws.send(frame);
    // Either an answer or a close; then the server must still work.
    const c = await connect(server, ann.token);
    try {
      await stillUsable(c);
    } finally {
      c.close();
      ws.close();
      await deadline(closed, WAIT_MS, "raw socket close");
    }
  }
});

test("per-socket rate limits come from chatd's flags", { timeout: 15000 }, async () => {
  const strict = await startChatd({ args: ["--message-rate", "0.5", "--message-burst", "3", "--typing-rate", "0.5", "--typing-burst", "2"] });
  try {
    const c = await connect(strict, ann.token);
    try {
      // room:create and room:join take 2 of the 3 tokens.
      const own = ok(await c.call("room:create", { kind: "group" })).room;
      ok(await c.call("room:join", { room: own.id }));
      const acks = await Promise.all(Array.from({ length: 6 }, (_, i) => c.call("message:send", { room: own.id, text: `m${i}` })));
      const passed = acks.filter((a) => a.ok).length;
      assert.ok(passed >= 1 && passed <= 2, `one token left, maybe one refill (${passed} passed)`);
      for (const a of acks.filter((x) => !x.ok)) failed(a, "rate_limited");
      const typing = await Promise.all(Array.from({ length: 4 }, (_, i) => c.call("typing", { room: own.id, typing: i % 2 === 0 })));
      assert.ok(typing.filter((a) => a.ok === false && a.error.code === "rate_limited").length >= 1);
      assert.equal(c.connected, true);
    } finally {
      c.close();
    }
  } finally {
    assert.equal(await strict.stop(), 0);
  }
});

// chatd's resident memory, from /proc (Linux).
function rssBytes(proc) {
  const status = readFileSync(`/proc/${proc.pid}/status`, "utf8");
  return Number(status.match(/VmRSS:\s+(\d+) kB/)[1]) * 1024;
}

// Opens a raw Engine.IO WebSocket; with a token, also CONNECTs to "/".
async function rawSocket(token) {
  const ws = new WebSocket(`${server.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
  const closed = new Promise((resolve) => ws.on("close", resolve));
  await deadline(new Promise((resolve, reject) => {
    ws.on("error", reject);
    ws.on("message", (d) => {
      const text = d.toString();
      if (text.startsWith("0")) {
        if (token) ws.send(`40${JSON.stringify({ token })}`);
        else resolve();
      } else if (text.startsWith("40")) resolve();
    });
  }), WAIT_MS, "raw socket open");
  return { ws, closed };
}

// Regression: every placeholder naming an attachment got its own copy of
// the bytes, before the namespace and token were checked: one 64 KB
// attachment named from a 60 KB packet took the server from 12 to 137 MB.
test("binary attachments: one copy per attachment, none before CONNECT, at most maxPayload", { timeout: 20000 }, async () => {
  const before = rssBytes(server.proc);
  const placeholders = Array.from({ length: 2000 }, () => ({ _placeholder: true, num: 0 }));
  const attachment = Buffer.alloc(64 * 1024, 7);
  const cases = [
    // [token, header]: no token means no CONNECT first.
    [null, `451-${JSON.stringify(["message:send", { _placeholder: true, num: 0 }])}`],
    [ann.token, `451-${JSON.stringify(["message:send", ...placeholders])}`],
  ];
  for (const [token, header] of cases) {
    const { ws, closed } = await rawSocket(token);
    ws.send(header);
    if (ws.readyState === WebSocket.OPEN) ws.send(attachment);
    await deadline(closed, WAIT_MS, "the server to close the connection");
  }
  // Ten attachments of 200 KB each: 2 MB, over the 1 MB a packet may carry.
  {
    const { ws, closed } = await rawSocket(ann.token);
    const ten = Array.from({ length: 10 }, (_, num) => ({ _placeholder: true, num }));
    ws.send(`4510-${JSON.stringify(["message:send", ...ten])}`);
    for (let i = 0; i < 10 && ws.readyState === WebSocket.OPEN; ++i) ws.send(Buffer.alloc(200 * 1024));
    await deadline(closed, WAIT_MS, "the server to close the connection");
  }
  const grown = rssBytes(server.proc) - before;
  assert.ok(grown < 20 * 1024 * 1024, `chatd grew by ${grown} bytes`);
  const c = await connect(server, ann.token);
  try {
    await stillUsable(c);
  } finally {
    c.close();
  }
});
