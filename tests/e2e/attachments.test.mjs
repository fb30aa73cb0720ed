// End-to-end: the life of an attachment file in a real chatd. What an
// upload may be (a real media type, a name cut on a character), which
// messages may use it (its own room's), when its file goes (with the last
// message that uses it; unused uploads after --attachment-unclaimed-minutes;
// crash leftovers at startup; refs a crash left behind), the per-user quota
// (--attachment-quota-bytes) and the free space kept for the database
// (--min-free-bytes, on a small tmpfs when the test runs as root).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, readdirSync, mkdirSync, statfsSync, statSync, unlinkSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { startChatd, connect, rest, userToken, ok, failed, uid, person, tempDir, eventually } from "./lib/harness.mjs";

const T = { timeout: 30000 };
const servers = [];
after(async () => {
  for (const s of servers) assert.equal(await s.stop(), 0);  // a sanitizer report would exit non-zero
});

async function start(args = [], dataDir, env = {}) {
  const s = await startChatd({ args, dataDir, env });
  servers.push(s);
  return s;
}


async function room(server, owner, members = []) {
  const r = await rest(server, "POST", "/api/rooms", { token: owner.token, body: { kind: "group", members } });
  assert.equal(r.status, 201);
  return r.body.room;
}

async function upload(server, who, roomId, bytes, { type = "application/octet-stream", name = "f.bin" } = {}) {
  return rest(server, "POST", `/api/rooms/${roomId}/attachments?name=${encodeURIComponent(name)}`, {
    token: who.token, raw: bytes, headers: { "content-type": type },
  });
}

const idOf = (att) => att.url.split("/").pop();
const attachmentsDir = (server) => join(server.dataDir, "attachments");

// Waits (bounded) until the condition on the data directory holds.

// Regression: a part's Content-Type with a bare LF was stored, came back
// as a header of the download, and passed the --attachment-types check.
test("a type that is not a media type is refused; a good one is stored without its other parameters", T, async () => {
  const server = await start(["--attachment-types", "image/,text/plain"]);
  const ann = person("ann");
  const r = await room(server, ann);
  const boundary = "----b0und";
  const body = (type) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n` +
    `Content-Type: ${type}\r\n\r\nPNGDATA\r\n--${boundary}--\r\n`);
  for (const type of ["image/png\nX-Evil: 1", "image/png\rX-Evil: 1", "image/", "image/png; a=\"open"]) {
    const up = await rest(server, "POST", `/api/rooms/${r.id}/attachments`, {
      token: ann.token, raw: body(type), headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    });
    assert.equal(up.status, 400, JSON.stringify(type));
    assert.equal(up.body.error.code, "bad_request");
  }
  const good = await rest(server, "POST", `/api/rooms/${r.id}/attachments`, {
    token: ann.token, raw: body("Text/Plain; charset=UTF-8; x=\"y\""), headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
  });
  assert.equal(good.status, 201);
  assert.equal(good.body.attachment.mime, "text/plain; charset=utf-8");
  const down = await rest(server, "GET", good.body.attachment.url, { token: ann.token });
  assert.equal(down.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(down.text, "PNGDATA");
});

// Regression: names were cut at byte 255, which could split a character:
// the upload answered 201 and the file could never be downloaded.
test("a long name is cut on a character boundary and the file downloads", T, async () => {
  const server = await start();
  const ann = person("ann");
  const r = await room(server, ann);
  const name = "é".repeat(200) + ".txt";  // 404 bytes; byte 255 is inside an é
  const up = await upload(server, ann, r.id, Buffer.from("hello"), { type: "text/plain", name });
  assert.equal(up.status, 201);
  assert.ok(Buffer.byteLength(up.body.attachment.name) <= 255);
  assert.equal(up.body.attachment.name, "é".repeat(127));
  const down = await rest(server, "GET", up.body.attachment.url, { token: ann.token });
  assert.equal(down.status, 200);
  assert.equal(down.text, "hello");
  const invalid = await rest(server, "POST", `/api/rooms/${r.id}/attachments?name=%FF%FE`, {
    token: ann.token, raw: Buffer.from("x"), headers: { "content-type": "text/plain" },
  });
  assert.equal(invalid.status, 400);
});

// Regression: deleting a message never deleted its file.
test("a file goes with the last message that uses it, never before; only its own room's messages may use it", T, async () => {
  const server = await start();
  const ann = person("ann"), bob = person("bob");
  const r = await room(server, ann, [bob.id]);
  const other = await room(server, ann);
  const att = (await upload(server, ann, r.id, Buffer.alloc(3000, 7))).body.attachment;
  const data = join(attachmentsDir(server), idOf(att));
  const a = await connect(server, ann.token);
  try {
    const first = ok(await a.call("message:send", { room: r.id, type: "file", text: "", attachment: att })).message;
    const second = ok(await a.call("message:send", { room: r.id, text: "again", attachment: att })).message;
    failed(await a.call("message:send", { room: other.id, text: "elsewhere", attachment: att }), "bad_request");
    failed(await a.call("message:send", { room: r.id, text: "x", attachment: { ...att, url: "/api/attachments/AAAAAAAAAAAAAAAAAAAAAA" } }), "not_found");
    failed(await a.call("message:send", { room: r.id, text: "x", attachment: { ...att, url: "/api/attachments/../../x" } }), "bad_request");

    ok(await a.call("message:delete", { id: first.id }));
    assert.equal((await rest(server, "GET", att.url, { token: bob.token })).status, 200, "still used by the second message");
    assert.ok(existsSync(data));
    ok(await a.call("message:delete", { id: second.id }));
    await eventually(() => !existsSync(data) && !existsSync(`${data}.json`), "the file to go");
    assert.equal((await rest(server, "GET", att.url, { token: bob.token })).status, 404);
  } finally {
    a.close();
  }
});

test("--attachment-quota-bytes: refused on the headers with quota_exceeded; deleting frees it", T, async () => {
  const server = await start(["--attachment-quota-bytes", "30000"]);
  const ann = person("ann"), bob = person("bob");
  const r = await room(server, ann, [bob.id]);
  const first = await upload(server, ann, r.id, Buffer.alloc(20000, 1));
  assert.equal(first.status, 201);
  const over = await upload(server, ann, r.id, Buffer.alloc(15000, 2));
  assert.equal(over.status, 413);
  assert.equal(over.body.error.code, "quota_exceeded");
  assert.equal((await upload(server, bob, r.id, Buffer.alloc(15000, 3))).status, 201, "quotas are per user");
  const a = await connect(server, ann.token);
  try {
    const m = ok(await a.call("message:send", { room: r.id, text: "f", attachment: first.body.attachment })).message;
    ok(await a.call("message:delete", { id: m.id }));
    // The bytes are given back once the file is gone (just after the delete's ack).
    await eventually(() => !existsSync(join(attachmentsDir(server), idOf(first.body.attachment))), "the file to go");
    let status;
    for (let i = 0; i < 50 && status !== 201; i++) status = (await upload(server, ann, r.id, Buffer.alloc(15000, 2))).status;
    assert.equal(status, 201);
  } finally {
    a.close();
  }
});

test("restart: unclaimed uploads and crash leftovers go; refs a crash left are settled against the history", T, async () => {
  const dataDir = tempDir();
  let server = await start([], dataDir);
  const ann = person("ann");
  const r = await room(server, ann);
  const unused = (await upload(server, ann, r.id, Buffer.from("unused"))).body.attachment;
  const used = (await upload(server, ann, r.id, Buffer.from("used"))).body.attachment;
  const pending = (await upload(server, ann, r.id, Buffer.from("pending"))).body.attachment;
  const twice = (await upload(server, ann, r.id, Buffer.from("twice"))).body.attachment;
  let m1, m2, m3;
  const a = await connect(server, ann.token);
  try {
    ok(await a.call("message:send", { room: r.id, text: "u", attachment: used }));
    m1 = ok(await a.call("message:send", { room: r.id, text: "p", attachment: pending })).message;
    m2 = ok(await a.call("message:send", { room: r.id, text: "t1", attachment: twice })).message;
    m3 = ok(await a.call("message:send", { room: r.id, text: "t2", attachment: twice })).message;
    ok(await a.call("message:delete", { id: m2.id }));
  } finally {
    a.close();
  }
  assert.equal(await server.stop(), 0);
  servers.splice(servers.indexOf(server), 1);

  const dir = join(dataDir, "attachments");
  const metaOf = (att) => JSON.parse(readFileSync(join(dir, `${idOf(att)}.json`), "utf8"));
  const writeMeta = (att, m) => writeFileSync(join(dir, `${idOf(att)}.json`), JSON.stringify(m));
  // As a crash would leave them: the ref of a stored message still pending
  // (and one of a message never stored), a ref to a message since deleted,
  // a half-received body, a half-written file, bytes without metadata.
  const at = Date.parse(m1.createdAt);
  writeMeta(pending, { ...metaOf(pending), refs: [{ sender: ann.id, at }, { sender: ann.id, at: at - 5000 }] });
  writeMeta(twice, { ...metaOf(twice), refs: [{ msg: m2.id }, { msg: m3.id }] });
  mkdirSync(join(dir, ".spool"), { recursive: true });
  writeFileSync(join(dir, ".spool", "abc.part"), "half a body");
  writeFileSync(join(dir, "BBBBBBBBBBBBBBBBBBBBBB.json.tmp"), "{");
  writeFileSync(join(dir, "CCCCCCCCCCCCCCCCCCCCCC"), "no metadata");

  server = await start(["--attachment-unclaimed-minutes", "0"], dataDir);
  assert.deepEqual(readdirSync(join(dir, ".spool")), []);
  assert.equal(existsSync(join(dir, "BBBBBBBBBBBBBBBBBBBBBB.json.tmp")), false);
  assert.equal(existsSync(join(dir, "CCCCCCCCCCCCCCCCCCCCCC")), false);
  assert.equal((await rest(server, "GET", unused.url, { token: ann.token })).status, 404, "unclaimed: removed");
  assert.equal((await rest(server, "GET", used.url, { token: ann.token })).status, 200);
  await eventually(() => JSON.stringify(metaOf(pending).refs) === JSON.stringify([{ msg: m1.id }]), "the pending ref to be settled");
  await eventually(() => JSON.stringify(metaOf(twice).refs) === JSON.stringify([{ msg: m3.id }]), "the deleted message's ref to go");
  const b = await connect(server, ann.token);
  try {
    ok(await b.call("message:delete", { id: m1.id }));
    ok(await b.call("message:delete", { id: m3.id }));
  } finally {
    b.close();
  }
  await eventually(() => !existsSync(join(dir, idOf(pending))) && !existsSync(join(dir, idOf(twice))), "both files to go");
});

// chatd's resident memory in MiB.
function rssMiB(server) {
  return Number(readFileSync(`/proc/${server.proc.pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)[1]) / 1024;
}

// Regression: an upload's body was held whole in memory (10 uploads in
// progress took 118 MB), and so was every download.
test("uploads in progress and stalled downloads hold little memory: bodies go to disk, files come from it", T, async () => {
  // Under AddressSanitizer freed memory waits in a quarantine (256 MB) and
  // counts as resident: without one, what is measured is what is held.
  const asan = [process.env.ASAN_OPTIONS, "quarantine_size_mb=0"].filter(Boolean).join(":");
  const server = await start(["--max-attachment-bytes", String(10 << 20), "--attachment-quota-bytes", "0"], undefined,
    { ASAN_OPTIONS: asan });
  const ann = person("ann");
  const r = await room(server, ann);
  const file = (await upload(server, ann, r.id, Buffer.alloc(10 << 20, 5))).body.attachment;
  const socks = [];
  const open = (request, body) => {
    const s = net.connect({ host: "127.0.0.1", port: server.port });
    s.on("error", () => {});
    s.pause();  // an answer, if any, is never read
    socks.push(s);
    s.write(request);
    if (body) s.write(body);
    return new Promise((resolve) => s.once("connect", resolve));
  };
  try {
    const before = rssMiB(server);
    const nine = Buffer.alloc(9 << 20, 6);
    for (let i = 0; i < 10; i++) {
      await open(`POST /api/rooms/${r.id}/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ann.token}\r\n` +
        `Content-Length: ${10 << 20}\r\n\r\n`, nine);  // 9 of 10 MiB sent
      await open(`GET ${file.url} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ann.token}\r\n\r\n`);
    }
    // Until the uploads' bytes are in (the spool holds them), bounded.
    const spool = join(attachmentsDir(server), ".spool");
    const spooled = () => readdirSync(spool).reduce((n, f) => n + statSync(join(spool, f)).size, 0);
    await eventually(() => spooled() >= 10 * (8 << 20), "the uploads to reach the spool", 15000);
    const grew = rssMiB(server) - before;
    // Held in memory these would be 90 MiB of uploads and 100 of downloads.
    assert.ok(grew < 30, `chatd grew by ${grew.toFixed(1)} MiB`);
  } finally {
    for (const s of socks) s.destroy();
  }
});

// The database must keep room when uploads fill the disk: uploads stop at
// --min-free-bytes. Needs a small file system of its own (tmpfs, as root).
test("--min-free-bytes: on a full-ish disk uploads are refused (507) first, messages keep working", T, async (t) => {
  const mnt = tempDir();
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt], { stdio: "ignore" });
  } catch {
    t.skip("needs root to mount a tmpfs");
    return;
  }
  let server;
  try {
    server = await start(["--min-free-bytes", String(8 << 20), "--max-attachment-bytes", String(20 << 20)], mnt);
    const ann = person("ann");
    const r = await room(server, ann);
    assert.equal((await upload(server, ann, r.id, Buffer.alloc(5 << 20, 1))).status, 201);
    const refused = await upload(server, ann, r.id, Buffer.alloc(5 << 20, 2));
    assert.equal(refused.status, 507);
    assert.equal(refused.body.error.code, "unavailable");
    const m = await rest(server, "POST", `/api/rooms/${r.id}/messages`, { token: ann.token, body: { text: "still here" } });
    assert.equal(m.status, 201);
    assert.deepEqual(readdirSync(join(mnt, "attachments", ".spool")), [], "nothing half-written is left");

    // Regression: the metadata file's write error was checked before
    // close() (so a buffered write that failed went unseen: 201 for an
    // attachment that could never be downloaded) and partial files stayed.
    // Leave exactly room for the bytes, and none for their metadata.
    assert.equal(await server.stop(), 0);
    servers.splice(servers.indexOf(server), 1);
    server = await start(["--min-free-bytes", "0", "--max-attachment-bytes", String(20 << 20)], mnt);
    const before = readdirSync(join(mnt, "attachments")).sort();
    const fs = statfsSync(mnt);
    const pages = 64;
    writeFileSync(join(mnt, "filler"), Buffer.alloc(Number(fs.bavail) * fs.bsize - pages * 4096));
    try {
      const tight = await upload(server, ann, r.id, Buffer.alloc(pages * 4096, 3));
      assert.equal(tight.status, 507);
      assert.equal(tight.body.error.code, "unavailable");
      assert.deepEqual(readdirSync(join(mnt, "attachments")).sort(), before, "no partial data or metadata file");
      assert.deepEqual(readdirSync(join(mnt, "attachments", ".spool")), []);
    } finally {
      unlinkSync(join(mnt, "filler"));
    }
  } finally {
    let code = 0;
    if (server) {
      code = await server.stop();
      servers.splice(servers.indexOf(server), 1);
    }
    execFileSync("umount", [mnt], { stdio: "ignore", timeout: 10000 });
    assert.equal(code, 0);
  }
});
