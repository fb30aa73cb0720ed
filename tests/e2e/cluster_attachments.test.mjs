// End-to-end: attachments in a chatd cluster (lib/cluster.mjs: three nodes
// on one PostgreSQL and one Redis, each with its own data directory) work
// whichever node each request reaches, with the bytes in PostgreSQL:
// - uploaded through node 1, used by a message sent through node 2,
//   downloaded through node 3: the same bytes and type; nothing of it on
//   any node's disk;
// - someone outside the room gets the same refusal on every node, and a
//   message of another room cannot use it through any node;
// - deleting the last message that uses it, through node 3, removes it
//   for every node;
// - --attachment-quota-bytes counts a user's files on every node: two
//   uploads through two nodes exceed it together, also when they race;
// - the unclaimed sweep of one node (--attachment-unclaimed-minutes 0, run
//   at its start) removes another node's unused upload, never a used one.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { connect, rest, ok, failed, person, uid, eventually, API_KEY } from "./lib/harness.mjs";
import { startCluster } from "./lib/cluster.mjs";

const T = { timeout: 60000 };
const QUOTA = 30000;

let cluster;
before(async () => {
  cluster = await startCluster({ nodes: 3, args: ["--attachment-quota-bytes", String(QUOTA)] });
});
after(async () => {
  assert.deepEqual(await cluster?.close(), [0, 0, 0], "every node stops cleanly");
});

const node = (i) => cluster.node(i);

async function groupRoom(owner, members, on = 1) {
  const r = await rest(node(on), "POST", "/api/rooms", {
    token: API_KEY, body: { kind: "group", id: uid("att-"), createdBy: owner.id, members: members.map((m) => m.id) },
  });
  assert.equal(r.status, 201, r.text);
  return r.body.room;
}

function upload(server, who, roomId, bytes, { type = "application/octet-stream", name = "f.bin" } = {}) {
  return rest(server, "POST", `/api/rooms/${roomId}/attachments?name=${encodeURIComponent(name)}`, {
    token: who.token, raw: bytes, headers: { "content-type": type },
  });
}

// Random bytes, so that a download that served another file shows.
const bytesOf = (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(Math.random() * 256)));

test("uploaded through node 1, sent through node 2, downloaded through node 3; deleted through node 3, gone everywhere", T, async () => {
  const ann = person("ann"), bob = person("bob"), eve = person("eve");
  const room = await groupRoom(ann, [bob]);
  const other = await groupRoom(eve, []);
  const bytes = bytesOf(25_000);
  const up = await upload(node(1), ann, room.id, bytes, { type: "image/png", name: "cat.png" });
  assert.equal(up.status, 201, up.text);
  const att = up.body.attachment;
  assert.deepEqual({ ...att, url: undefined }, { url: undefined, name: "cat.png", size: bytes.length, mime: "image/png" });

  const b = await connect(node(2), bob.token);
  const e = await connect(node(1), eve.token);
  try {
    const sent = ok(await b.call("message:send", { room: room.id, type: "file", text: "", attachment: att })).message;
    assert.equal(sent.attachment.url, att.url);
    // Only its own room's messages may use it, whichever node is asked.
    failed(await e.call("message:send", { room: other.id, text: "mine now", attachment: att }), "bad_request");

    for (let i = 1; i <= 3; ++i) {
      const got = await rest(node(i), "GET", att.url, { token: ann.token });
      assert.equal(got.status, 200, `node ${i}: ${got.text.slice(0, 200)}`);
      assert.equal(got.headers.get("content-type"), "image/png");
      assert.equal(got.headers.get("x-content-type-options"), "nosniff");
      assert.ok(got.bytes.equals(bytes), `node ${i} serves the same bytes`);
    }
    // Someone outside the room: the same refusal as on one node, on every node.
    const refusals = [];
    for (let i = 1; i <= 3; ++i) refusals.push((await rest(node(i), "GET", att.url, { token: eve.token })).status);
    assert.ok([403, 404].includes(refusals[0]), `refused: ${refusals[0]}`);
    assert.deepEqual(refusals, [refusals[0], refusals[0], refusals[0]]);
    // No node keeps the file on its own disk: only the (empty) spool.
    for (const s of cluster.nodes()) {
      assert.deepEqual(readdirSync(join(s.dataDir, "attachments")).filter((f) => f !== ".spool"), []);
    }

    const c = await connect(node(3), ann.token);
    try {
      ok(await c.call("message:delete", { id: sent.id }));
    } finally {
      c.close();
    }
    // Just after the delete's ack, the ref goes and the file with it.
    await eventually(async () => (await rest(node(1), "GET", att.url, { token: ann.token })).status === 404, "node 1 to answer 404");
    for (let i = 2; i <= 3; ++i) assert.equal((await rest(node(i), "GET", att.url, { token: ann.token })).status, 404, `node ${i}`);
    failed(await b.call("message:send", { room: room.id, text: "again", attachment: att }), "not_found");
  } finally {
    b.close();
    e.close();
  }
});

test("a file used by two messages sent through two nodes stays until both are deleted", T, async () => {
  const ann = person("ann"), bob = person("bob");
  const room = await groupRoom(ann, [bob], 2);
  const att = (await upload(node(3), bob, room.id, bytesOf(5000))).body.attachment;
  const a = await connect(node(1), ann.token);
  const b = await connect(node(2), bob.token);
  try {
    const m1 = ok(await a.call("message:send", { room: room.id, text: "one", attachment: att })).message;
    const m2 = ok(await b.call("message:send", { room: room.id, text: "two", attachment: att })).message;
    ok(await b.call("message:delete", { id: m2.id }));
    ok(await a.call("presence:list", { room: room.id }));  // a round trip after the delete's ref update
    assert.equal((await rest(node(3), "GET", att.url, { token: bob.token })).status, 200, "still used by the first message");
    ok(await a.call("message:delete", { id: m1.id }));
    await eventually(async () => (await rest(node(2), "GET", att.url, { token: bob.token })).status === 404, "the file to go");
  } finally {
    a.close();
    b.close();
  }
});

test("--attachment-quota-bytes counts a user's files on every node: two uploads through two nodes exceed it together", T, async () => {
  const cy = person("cy"), dee = person("dee");
  const room = await groupRoom(cy, [dee]);
  const first = await upload(node(1), cy, room.id, bytesOf(20000));
  assert.equal(first.status, 201, first.text);
  // On the headers already: node 2 asks the store for Cy's usage.
  const over = await upload(node(2), cy, room.id, bytesOf(15000));
  assert.equal(over.status, 413, over.text);
  assert.equal(over.body.error.code, "quota_exceeded");
  assert.equal((await upload(node(2), dee, room.id, bytesOf(15000))).status, 201, "quotas are per user");

  // Racing through two nodes at once, both past the headers' check: the
  // store lets exactly one in.
  const fay = person("fay");
  const room2 = await groupRoom(fay, []);
  for (let round = 0; round < 3; ++round) {
    const [x, y] = await Promise.all([upload(node(2), fay, room2.id, bytesOf(20000)), upload(node(3), fay, room2.id, bytesOf(20000))]);
    if (round === 0) {
      assert.deepEqual([x.status, y.status].sort(), [201, 413], `${x.text} ${y.text}`);
      const refused = x.status === 413 ? x : y;
      assert.equal(refused.body.error.code, "quota_exceeded");
    } else {
      assert.deepEqual([x.status, y.status], [413, 413], "the quota is full");
    }
  }

  // Deleting the message that used the first file gives its bytes back on every node.
  const c = await connect(node(3), cy.token);
  try {
    const m = ok(await c.call("message:send", { room: room.id, text: "f", attachment: first.body.attachment })).message;
    ok(await c.call("message:delete", { id: m.id }));
  } finally {
    c.close();
  }
  await eventually(async () => (await upload(node(2), cy, room.id, bytesOf(15000))).status === 201, "the quota to be freed");
});

test("the unclaimed sweep of one node removes another node's unused upload, never a used one", T, async () => {
  // A second cluster on the same servers whose nodes sweep everything unused at start.
  const sweepers = await startCluster({ nodes: 2, pg: cluster.pg, redis: cluster.redis, args: ["--attachment-unclaimed-minutes", "0"] });
  try {
    const n = (i) => sweepers.node(i);
    const ann = person("ann");
    const r = await rest(n(1), "POST", "/api/rooms", { token: API_KEY, body: { kind: "group", id: uid("sw-"), createdBy: ann.id, members: [] } });
    assert.equal(r.status, 201, r.text);
    const room = r.body.room;
    const unused = (await upload(n(1), ann, room.id, bytesOf(1000))).body.attachment;
    const used = (await upload(n(1), ann, room.id, bytesOf(1000))).body.attachment;
    const a = await connect(n(1), ann.token);
    try {
      ok(await a.call("message:send", { room: room.id, text: "keep", attachment: used }));
    } finally {
      a.close();
    }
    assert.equal((await rest(n(1), "GET", unused.url, { token: ann.token })).status, 200);
    await sweepers.restart(2);  // node 2's start sweeps the shared store
    await eventually(async () => (await rest(n(1), "GET", unused.url, { token: ann.token })).status === 404,
      "node 1 to miss the upload node 2 swept");
    assert.equal((await rest(n(2), "GET", used.url, { token: ann.token })).status, 200, "a used file stays");
    assert.equal((await rest(n(1), "GET", used.url, { token: ann.token })).status, 200);
  } finally {
    assert.deepEqual(await sweepers.close(), [0, 0]);
  }
});
