// End-to-end: the chat service's quotas as chatd's flags set them, each
// answered with the contract's codes: a socket past --max-sockets-per-user
// is refused at connect (rate_limited), a room:create past
// --room-create-quota is rate_limited, a members list past
// --max-create-members is payload_too_large, and a room at
// --max-room-members takes nobody more (forbidden).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChatd, Client, connect, userToken, ok, failed, uid } from "./lib/harness.mjs";

let server;
before(async () => {
  server = await startChatd({
    args: ["--max-sockets-per-user", "2", "--room-create-quota", "2", "--max-create-members", "3",
      "--max-room-members", "4"],
  });
});
after(async () => {
  assert.equal(await server?.stop(), 0);
});

const T = { timeout: 20000 };

test("a third socket of one user is refused at connect with rate_limited", T, async () => {
  const token = userToken(uid("ann"));
  const a = await connect(server, token);
  const b = await connect(server, token);
  const c = new Client(server, token);
  try {
    await assert.rejects(c.ready(), (err) => {
      assert.equal(err.message, "rate_limited");
      assert.equal(err.data.code, "rate_limited");
      return true;
    });
    assert.ok(a.connected && b.connected, "the first two stay");
    a.close();
    const again = await connect(server, token);
    again.close();
  } finally {
    a.close();
    b.close();
    c.close();
  }
});

test("room quota, members per create and members per room", T, async () => {
  const ann = uid("ann");
  const a = await connect(server, userToken(ann));
  try {
    failed(await a.call("room:create", { kind: "group", members: ["u1", "u2", "u3", "u4"] }), "payload_too_large");
    const room = ok(await a.call("room:create", { kind: "group", members: ["u1", "u2", "u3"] })).room;
    assert.equal(room.members.length, 4);
    failed(await a.call("member:add", { room: room.id, userId: "u5" }), "forbidden");
    ok(await a.call("room:create", { kind: "group" }));
    failed(await a.call("room:create", { kind: "group" }), "rate_limited");
    assert.ok(a.connected);
  } finally {
    a.close();
  }
});
