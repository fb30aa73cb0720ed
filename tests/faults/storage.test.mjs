// Storage faults under a running chatd (SQLite store): a full file system
// (a small tmpfs), a file system that turns read-only (ext4 on a loop
// device, errors=remount-ro, after an error), the database file deleted
// or renamed, and the file corrupted. For each: chatd answers clear errors
// (`unavailable`/`internal` with a message; REST 503/500), /healthz says
// 503 while the store cannot write, nothing that failed was acked, and
// once the fault is gone chatd recovers without a restart: every acked
// message is in history exactly once, also after a restart.
//
// Mounting needs root (CI runs as root). Without it the file exits 77,
// which CTest reports as skipped, saying why.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  closeSync, existsSync, linkSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, unlinkSync,
  writeFileSync, writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { startChatd, connect, rest, userToken, ok, uid, deadline } from "../e2e/lib/harness.mjs";

const T = { timeout: 90000 };

function run(cmd, args, { allowFail = false } = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 30000 });
  if (!allowFail && r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr || r.error?.message}`);
  }
  return r;
}

// What this file started, made and mounted: stopped, unmounted and
// removed at the end, whatever the outcome.
const made = [];
const mounts = [];
const servers = [];
const clients = [];
function scratch(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
after(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.stop("SIGKILL").catch(() => {});
  for (const m of mounts.reverse()) run("umount", [m], { allowFail: true });
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

// chatd on `dataDir`, without the per-socket message limit (a test sends
// faster than a person).
async function chatd(dataDir) {
  const server = await startChatd({ dataDir, args: ["--message-rate", "10000", "--message-burst", "10000"] });
  servers.push(server);
  return server;
}

function skipUnlessMountable() {
  if (!process.env.CHATD) return "CHATD does not name the chatd binary";
  if (process.getuid?.() !== 0) return "they mount file systems, which needs root";
  const dir = mkdtempSync(join(tmpdir(), "chatd-faults-probe-"));
  try {
    const r = run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir], { allowFail: true });
    if (r.status !== 0) return `mount is not permitted here: ${(r.stderr || r.error?.message || "").trim()}`;
    run("umount", [dir]);
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const skip = skipUnlessMountable();
if (skip) {
  console.log(`SKIP: storage fault tests: ${skip}`);
  process.exit(77);
}

// Waits (bounded) until /healthz answers `status`.
async function healthBecomes(server, status, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  for (let i = 0; i < 1000 && Date.now() < end; i++) {
    last = await rest(server, "GET", "/healthz");
    if (last.status === status) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`/healthz stayed ${last?.status} ${last?.text}, expected ${status}`);
}

// A started chatd with one room of one user, and what was acked so far.
async function setUp(dataDir) {
  const server = await chatd(dataDir);
  const user = uid("u");
  const token = userToken(user);
  const client = await connect(server, token);
  clients.push(client);
  const room = ok(await client.call("room:create", { kind: "group", title: "faults" })).room.id;
  return { server, token, client, room, acked: new Map(), failed: [] };
}

// Sends one message per id in order; records acks and failures. A failure
// must be a clear error: `unavailable` or `internal`, with a message.
async function send(s, ids) {
  for (const id of ids) {
    const ack = await s.client.call("message:send", { room: s.room, text: `text of ${id}`, clientMsgId: id });
    if (ack.ok) {
      s.acked.set(id, ack.message);
    } else {
      assert.ok(["unavailable", "internal"].includes(ack.error?.code), `${id}: ${JSON.stringify(ack)}`);
      assert.ok(typeof ack.error.message === "string" && ack.error.message.length > 10, JSON.stringify(ack));
      s.failed.push({ id, error: ack.error });
    }
  }
}

// Every message of the room, oldest first.
async function history(server, token, room) {
  const out = [];
  let after = 0;
  for (let page = 0; page < 100; page++) {
    const r = await rest(server, "GET", `/api/rooms/${room}/messages?after=${after}&limit=200`, { token });
    assert.equal(r.status, 200, r.text);
    out.push(...r.body.messages);
    if (!r.body.hasMore) return out;
    after = out[out.length - 1].seq;
  }
  throw new Error("history did not end after 100 pages");
}

// Every acked message is stored exactly once, as acked; seq has no gaps.
async function checkHistory(s, server = s.server) {
  const msgs = await history(server, s.token, s.room);
  const byClientId = new Map();
  for (const m of msgs) {
    assert.ok(!byClientId.has(m.clientMsgId), `${m.clientMsgId} stored twice`);
    byClientId.set(m.clientMsgId, m);
  }
  for (const [id, m] of s.acked) {
    assert.ok(byClientId.has(id), `acked ${id} is not in history`);
    assert.equal(byClientId.get(id).id, m.id);
    assert.equal(byClientId.get(id).seq, m.seq);
  }
  msgs.forEach((m, i) => assert.equal(m.seq, i + 1));
  return msgs;
}

// After the fault: the failed messages are retried with their clientMsgId
// (each stored once whatever happened to the first try), new ones sent.
async function recover(s, tag) {
  const retry = s.failed.map((f) => f.id);
  s.failed = [];
  await send(s, [...retry, `${tag}-after-1`, `${tag}-after-2`]);
  assert.deepEqual(s.failed, [], "sends fail after the fault is gone");
  const msgs = await checkHistory(s);
  assert.equal(msgs.length, s.acked.size, "history holds exactly the acked messages");
}

// Stops chatd, starts it again on the same data and checks history again.
async function restartAndCheck(s) {
  s.client.close();
  assert.equal(await s.server.stop(), 0);
  const again = await chatd(s.server.dataDir);
  try {
    await healthBecomes(again, 200);
    const msgs = await checkHistory(s, again);
    assert.equal(msgs.length, s.acked.size);
  } finally {
    assert.equal(await again.stop(), 0);
  }
}

function dbPath(s) {
  return join(s.server.dataDir, "chatd.db");
}

test("full file system: sends fail with unavailable, nothing unstored is acked, writes resume when space returns", T, async () => {
  const dir = scratch("chatd-full-");
  run("mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", dir]);
  mounts.push(dir);
  const s = await setUp(dir);
  await send(s, ["a1", "a2", "a3", "a4", "a5"]);
  assert.equal(s.acked.size, 5);

  // Take every free block; the WAL cannot grow.
  const filler = join(dir, "filler");
  const fd = openSync(filler, "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let i = 0; i < 1000; i++) writeSync(fd, chunk);
    assert.fail("a 6 MiB tmpfs took 64 MB");
  } catch (e) {
    if (e.code !== "ENOSPC") throw e;
  } finally {
    closeSync(fd);
  }

  await send(s, ["f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"]);
  assert.ok(s.failed.length > 0, "a full disk failed no send");
  for (const f of s.failed) {
    assert.equal(f.error.code, "unavailable", JSON.stringify(f));
    assert.match(f.error.message, /full/);
  }
  const viaRest = await rest(s.server, "POST", `/api/rooms/${s.room}/messages`, {
    token: s.token, body: { text: "rest", clientMsgId: "f-rest" },
  });
  assert.equal(viaRest.status, 503, viaRest.text);
  assert.equal(viaRest.body.error.code, "unavailable");
  const health = await healthBecomes(s.server, 503);
  assert.equal(health.body.status, "degraded");
  assert.match(health.body.error.message, /full/);
  // Reads go on.
  await checkHistory(s);

  unlinkSync(filler);
  await healthBecomes(s.server, 200);
  s.failed.push({ id: "f-rest" });
  await recover(s, "full");
  await restartAndCheck(s);
});

test("read-only file system: sends fail, chatd lets go of the file, and comes back when it is mounted again", T, async () => {
  const work = scratch("chatd-ro-");
  const image = join(work, "fs.img");
  const dir = join(work, "data");
  run("mkdir", [dir]);
  run("truncate", ["-s", "32M", image]);
  run("mkfs.ext4", ["-q", "-F", image]);
  run("mount", ["-o", "loop,errors=remount-ro", image, dir]);
  mounts.push(dir);
  const device = basename(run("findmnt", ["-n", "-o", "SOURCE", dir]).stdout.trim());
  const trigger = `/sys/fs/ext4/${device}/trigger_fs_error`;
  assert.ok(existsSync(trigger), `${trigger} is missing: this kernel cannot make ext4 fail on demand`);

  const s = await setUp(dir);
  await send(s, ["a1", "a2", "a3", "a4", "a5"]);
  assert.equal(s.acked.size, 5);

  // An ext4 error with errors=remount-ro: the file system turns read-only
  // under the open database, as a failing disk would make it.
  writeFileSync(trigger, "chatd fault test");
  await send(s, ["r1", "r2", "r3", "r4"]);
  assert.equal(s.failed.length, 4, `acked on a read-only file system: ${[...s.acked.keys()]}`);
  const health = await healthBecomes(s.server, 503);
  assert.equal(health.body.status, "degraded");

  // Repair it as an operator would: unmount (chatd must have closed the
  // file for that), check, mount again. chatd keeps running.
  const end = Date.now() + 15000;
  let unmounted = false;
  for (let i = 0; i < 300 && !unmounted && Date.now() < end; i++) {
    unmounted = run("umount", [dir], { allowFail: true }).status === 0;
    if (!unmounted) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(unmounted, "chatd still holds the database open on the failed file system");
  const fsck = run("e2fsck", ["-f", "-y", image], { allowFail: true });
  assert.ok(fsck.status === 0 || fsck.status === 1, `e2fsck: ${fsck.status} ${fsck.stderr}`);
  run("mount", ["-o", "loop,errors=remount-ro", image, dir]);

  await healthBecomes(s.server, 200);
  await recover(s, "ro");
  await restartAndCheck(s);
});

test("database file deleted or renamed: nothing is acked while it is away, writes resume when it is back", T, async () => {
  const s = await setUp(scratch("chatd-gone-"));
  await send(s, ["a1", "a2", "a3"]);
  const db = dbPath(s);

  // Renamed away and back.
  renameSync(db, `${db}.away`);
  await send(s, ["m1", "m2"]);
  assert.equal(s.failed.length, 2, "acked while the file was renamed away");
  for (const f of s.failed) assert.match(f.error.message, /deleted, renamed or replaced/);
  assert.equal((await healthBecomes(s.server, 503)).body.status, "degraded");
  await checkHistory(s);  // reads go on from the open file
  renameSync(`${db}.away`, db);
  await healthBecomes(s.server, 200);
  await recover(s, "renamed");

  // Deleted (its data survives only in a second link, as in a snapshot),
  // then linked back.
  linkSync(db, `${db}.link`);
  unlinkSync(db);
  await send(s, ["d1", "d2"]);
  assert.equal(s.failed.length, 2, "acked into a deleted file");
  await healthBecomes(s.server, 503);
  linkSync(`${db}.link`, db);
  unlinkSync(`${db}.link`);
  await healthBecomes(s.server, 200);
  await recover(s, "deleted");
  await restartAndCheck(s);
});

test("database file corrupted: clear errors, nothing unstored acked, recovers once the file is repaired", T, async () => {
  const s = await setUp(scratch("chatd-corrupt-"));
  const many = Array.from({ length: 40 }, (_, i) => `a${i}`);
  await send(s, many);
  assert.equal(s.acked.size, 40);
  const db = dbPath(s);
  // Everything into the main file (as a checkpoint would), so that the
  // corruption hits what chatd reads.
  const ckpt = run("sqlite3", ["-cmd", ".timeout 5000", db, "PRAGMA wal_checkpoint(TRUNCATE);"]);
  assert.match(ckpt.stdout, /^0\|/, `checkpoint was blocked: ${ckpt.stdout}`);
  const good = readFileSync(db);
  assert.ok(good.length >= 4 * 4096, `only ${good.length} bytes`);

  // Garbage over every page but the first (the header stays: it is still
  // recognisably chatd's database, with every table broken).
  const garbage = Buffer.alloc(good.length - 4096);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0xff;
  const fd = openSync(db, "r+");
  writeSync(fd, garbage, 0, garbage.length, 4096);
  closeSync(fd);

  await send(s, ["c1", "c2", "c3"]);
  const page = await rest(s.server, "GET", `/api/rooms/${s.room}/messages?limit=10`, { token: s.token });
  assert.ok([200, 500, 503].includes(page.status), page.text);
  if (page.status !== 200) assert.ok(page.body.error.message.length > 10, page.text);
  assert.ok(s.failed.length > 0 || page.status !== 200, "corruption went unnoticed");
  if (s.failed.length > 0) await healthBecomes(s.server, 503);

  // Repaired in place: the bytes it had.
  const fd2 = openSync(db, "r+");
  writeSync(fd2, good, 4096, good.length - 4096, 4096);
  closeSync(fd2);
  await healthBecomes(s.server, 200);
  await recover(s, "corrupt");
  await restartAndCheck(s);
  const check = run("sqlite3", [db, "PRAGMA integrity_check;"]);
  assert.equal(check.stdout.trim(), "ok");
});
