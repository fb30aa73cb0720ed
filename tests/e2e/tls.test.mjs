// chatd over TLS, as an operator runs it: --tls-cert (a chain: leaf, then
// intermediate) and --tls-key made here with the openssl CLI in a temporary
// directory (a throwaway root CA, an intermediate, server certificates for
// 127.0.0.1/localhost), stock socket.io-client over wss:// and over
// https:// polling trusting only the root, clients that must be refused (a
// different CA, TLS 1.1, a weak cipher, plain HTTP), the --tls-redirect-port
// 301, and renewals by SIGHUP: under load nobody is dropped and new
// handshakes see the new serial; a bad pair keeps the old one served.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import net from "node:net";
import tls from "node:tls";
import http from "node:http";
import { startChatd, tempDir, person, ok, deadline, eventually, Client, WAIT_MS } from "./lib/harness.mjs";

const OPENSSL = process.env.OPENSSL || "openssl";
const T = { timeout: 60000 };

let dir;
const pem = {};  // name -> PEM text
const path = (name) => join(dir, name);

function openssl(...args) {
  execFileSync(OPENSSL, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

// A P-256 key and a certificate for it signed by `ca` (or self-signed).
function makeCert(name, { subject, serial, ca, isCa = false, san = "DNS:localhost,IP:127.0.0.1" }) {
  openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
  const ext = isCa ? "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
    : `basicConstraints=CA:FALSE\nsubjectAltName=${san}\nextendedKeyUsage=serverAuth\n`;
  writeFileSync(path(`${name}.ext`), ext);
  if (!ca) {
    openssl("req", "-x509", "-new", "-key", `${name}.key`, "-subj", subject, "-days", "2", "-set_serial", serial,
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", `${name}.crt`);
  } else {
    openssl("req", "-new", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`);
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-set_serial", serial,
      "-days", "1", "-extfile", `${name}.ext`, "-out", `${name}.crt`);
  }
  pem[`${name}.key`] = readFileSync(path(`${name}.key`), "utf8");
  pem[`${name}.crt`] = readFileSync(path(`${name}.crt`), "utf8");
}

before(() => {
  dir = tempDir();
  makeCert("root", { subject: "/CN=chatd test root", serial: "0x01" });
  makeCert("inter", { subject: "/CN=chatd test intermediate", serial: "0x02", ca: "root", isCa: true });
  makeCert("first", { subject: "/CN=localhost/O=first", serial: "0x0A0A01", ca: "inter" });
  makeCert("second", { subject: "/CN=localhost/O=second", serial: "0x0B0B02", ca: "inter" });
  makeCert("other", { subject: "/CN=another root", serial: "0x03" });
});

// What an operator's renewal tool does: the new files written beside the
// live ones and renamed over them.
function install(leaf, { keyText } = {}) {
  writeFileSync(path("live.crt.new"), pem[`${leaf}.crt`] + pem["inter.crt"]);
  writeFileSync(path("live.key.new"), keyText ?? pem[`${leaf}.key`]);
  renameSync(path("live.crt.new"), path("live.crt"));
  renameSync(path("live.key.new"), path("live.key"));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startTls(extra = []) {
  install("first");
  const server = await startChatd({
    store: "memory",
    args: ["--tls-cert", path("live.crt"), "--tls-key", path("live.key"),
      "--message-rate", "1000", "--message-burst", "1000", ...extra],
  });
  server.url = `https://127.0.0.1:${server.port}`;
  return server;
}

// One TLS handshake; resolves with the peer's serial and protocol, or
// rejects with the handshake's error (err.code says who refused and why).
function handshake(port, opts = {}) {
  return deadline(new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: pem["root.crt"], ...opts }, () => {
      const out = { serial: s.getPeerCertificate().serialNumber, protocol: s.getProtocol(), cipher: s.getCipher().name };
      s.end();
      resolve(out);
    });
    s.on("error", reject);
  }), WAIT_MS, "TLS handshake");
}

const sio = (server, who, transports, opts = {}) =>
  new Client(server, who.token, { transports, upgrade: false, ca: pem["root.crt"], ...opts });

async function room(owner, members) {
  const r = ok(await owner.c.call("room:create", { kind: "group", members: members.map((m) => m.id) }));
  for (const m of [owner, ...members]) ok(await m.c.call("room:join", { room: r.room.id }));
  return r.room.id;
}

let server;
before(async () => {
  server = await startTls(["--tls-redirect-port", String(await freePort())]);
});
after(() => server?.stop());

test("the chain is served and verifies against the root alone; TLS 1.2 or 1.3, an AEAD cipher", T, async () => {
  const h = await handshake(server.port);
  assert.equal(h.serial, "0A0A01");
  assert.ok(["TLSv1.2", "TLSv1.3"].includes(h.protocol), h.protocol);
  const h12 = await handshake(server.port, { maxVersion: "TLSv1.2" });
  assert.equal(h12.protocol, "TLSv1.2");
  assert.match(h12.cipher, /^ECDHE-ECDSA-(AES\d+-GCM|CHACHA20-POLY1305)/);
  assert.match(server.log(), /msg="TLS certificate" subject="O=first,CN=localhost" serial=0A0A01 not_after=\S+Z/);
});

test("socket.io-client over wss:// and over https:// polling chat with each other", T, async () => {
  const ann = person("ann");
  const bob = person("bob");
  ann.c = await sio(server, ann, ["websocket"]).ready();
  bob.c = await sio(server, bob, ["polling"]).ready();
  try {
    assert.equal(ann.c.socket.io.engine.transport.name, "websocket");
    assert.equal(bob.c.socket.io.engine.transport.name, "polling");
    const id = await room(ann, [bob]);
    ok(await ann.c.call("message:send", { room: id, text: "over wss" }));
    assert.equal((await bob.c.next("message:new", (e) => e.message.room === id)).message.text, "over wss");
    ok(await bob.c.call("message:send", { room: id, text: "over https polling" }));
    assert.equal((await ann.c.next("message:new", (e) => e.message.text === "over https polling")).message.room, id);
  } finally {
    ann.c.close();
    bob.c.close();
  }
});

test("a client that trusts a different CA is refused, over wss and polling", T, async () => {
  const untrusted = (code) => ["UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"].includes(code);
  await assert.rejects(handshake(server.port, { ca: pem["other.crt"] }), (e) => untrusted(e.code));
  // socket.io-client says why for WebSocket; its polling transport only
  // says that the request failed (the same client with the root CA
  // connects: the test above).
  const refusal = { websocket: (e) => untrusted(e.description?.error?.code), polling: (e) => e.message === "xhr poll error" };
  for (const transport of ["websocket", "polling"]) {
    const c = sio(server, person("eve"), [transport], { ca: pem["other.crt"] });
    try {
      await assert.rejects(c.ready(), refusal[transport], `refused over ${transport}`);
      assert.equal(c.connected, false);
    } finally {
      c.close();
    }
  }
});

test("TLS 1.1, weak ciphers and plain HTTP are refused by the server", T, async () => {
  // The client offers TLS 1.1 only (allowed on its side at security level
  // 0): the server's "protocol version" alert is the refusal.
  await assert.rejects(
    handshake(server.port, { minVersion: "TLSv1.1", maxVersion: "TLSv1.1", ciphers: "DEFAULT:@SECLEVEL=0" }),
    (e) => e.code === "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION");
  // TLS 1.2 with only CBC / static-RSA suites: the server's handshake failure.
  await assert.rejects(
    handshake(server.port, { maxVersion: "TLSv1.2", ciphers: "AES128-SHA:ECDHE-ECDSA-AES128-SHA:DES-CBC3-SHA" }),
    (e) => e.code === "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE");
  // Plain HTTP on the TLS port: no HTTP answer at all.
  await assert.rejects(deadline(fetch(`http://127.0.0.1:${server.port}/healthz`), WAIT_MS, "plain GET"));
});

function plainGet(port, target, { method = "GET", host } = {}) {
  return deadline(new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: target, method, headers: host ? { host } : {} }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, location: res.headers.location }));
    });
    req.on("error", reject);
    req.end();
  }), WAIT_MS, `${method} ${target} on the redirect port`);
}

test("--tls-redirect-port answers every request 301 to the https URL, and serves nothing else", T, async () => {
  const port = Number(server.log().match(/redirect_port=(\d+)/)[1]);
  assert.ok(port > 0);
  const https = `https://127.0.0.1:${server.port}`;
  assert.deepEqual(await plainGet(port, "/healthz"), { status: 301, location: `${https}/healthz` });
  assert.deepEqual(await plainGet(port, "/api/rooms?limit=5&x=a%20b"), { status: 301, location: `${https}/api/rooms?limit=5&x=a%20b` });
  assert.deepEqual(await plainGet(port, "/socket.io/?EIO=4&transport=polling", { method: "POST" }),
    { status: 301, location: `${https}/socket.io/?EIO=4&transport=polling` });
  assert.deepEqual(await plainGet(port, "/", { host: "localhost:8080" }), { status: 301, location: `https://localhost:${server.port}/` });
  // A Host that could not be a host name is not echoed.
  assert.deepEqual(await plainGet(port, "/", { host: "a\"b<c" }), { status: 301, location: `${https}/` });
});

test("start: a missing, mismatched or half-given pair is a clear error, never a plain-text server", T, async () => {
  const { runChatd } = await import("./lib/harness.mjs");
  const base = ["--host", "127.0.0.1", "--port", "0", "--store", "memory", "--dev"];
  let r = await runChatd([...base, "--tls-cert", path("nothere.crt"), "--tls-key", path("first.key")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /TLS certificate file .*nothere\.crt: No such file or directory/);
  r = await runChatd([...base, "--tls-cert", path("first.crt"), "--tls-key", path("second.key")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /second\.key: is not the private key of the certificate/);
  r = await runChatd([...base, "--tls-cert", path("first.crt")]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--tls-cert and --tls-key go together/);
  r = await runChatd([...base, "--tls-redirect-port", "8081"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--tls-redirect-port needs --tls-cert/);
  // The file and environment forms of the options.
  writeFileSync(path("chatd.conf"), `tls-cert = ${path("nothere.crt")}\ntls-key = ${path("first.key")}\n`);
  r = await runChatd([...base, "--config", path("chatd.conf")]);
  assert.match(r.stderr, /nothere\.crt: No such file/);
  r = await runChatd(base, { env: { CHATD_TLS_CERT: path("gone.crt"), CHATD_TLS_KEY: path("first.key") } });
  assert.match(r.stderr, /gone\.crt: No such file/);
});

// A keep-alive HTTPS connection opened before a renewal: it must keep
// working after it, with the certificate it started with.
function openKeepAlive(port) {
  return deadline(new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: pem["root.crt"] }, () => resolve(s));
    s.on("error", reject);
  }), WAIT_MS, "keep-alive connection");
}
function getOver(socket) {
  return deadline(new Promise((resolve, reject) => {
    let got = "";
    const onData = (d) => {
      got += d;
      const m = got.match(/content-length: (\d+)\r\n/i);
      const head = got.indexOf("\r\n\r\n");
      if (m && head >= 0 && got.length >= head + 4 + Number(m[1])) {
        socket.off("data", onData);
        resolve(got.split("\r\n")[0]);
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("close", () => reject(new Error("the kept connection was closed")));
    socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
  }), WAIT_MS, "GET over the kept connection");
}

test("renewal under load: SIGHUP swaps the certificate, nobody is dropped, new handshakes see the new serial", T, async () => {
  // The kept HTTPS connection idles while the chat runs: the keep-alive
  // timeout must not be what closes it.
  const s2 = await startTls(["--http-keepalive-timeout", "300"]);
  try {
    const kept = await openKeepAlive(s2.port);
    assert.equal(await getOver(kept), "HTTP/1.1 200 OK");
    const users = ["ann", "bob", "cid", "dan", "eva", "fay"].map((n) => person(n));
    users.forEach((u, i) => {
      u.c = sio(s2, u, i % 2 === 0 ? ["websocket"] : ["polling"]);
      u.disconnects = 0;
      u.c.socket.on("disconnect", () => (u.disconnects += 1));
    });
    await Promise.all(users.map((u) => u.c.ready()));
    const id = await room(users[0], users.slice(1));
    const PER_USER = 40;
    let sent = 0;
    const chat = Promise.all(users.map(async (u) => {
      for (let i = 0; i < PER_USER; i += 1) {
        ok(await u.c.call("message:send", { room: id, text: `${u.name} ${i}` }));
        sent += 1;
      }
    }));
    // Mid-conversation: the renewal.
    await eventually(() => sent >= users.length * 5, "chat under way");
    install("second");
    s2.proc.kill("SIGHUP");
    await eventually(() => /msg="TLS certificate reloaded" subject="O=second,CN=localhost" serial=0B0B02/.test(s2.log()),
      "the reload to be logged");
    assert.equal((await handshake(s2.port)).serial, "0B0B02");
    assert.ok(sent < users.length * PER_USER, `the chat went on after the reload (${sent} sent by then)`);
    await chat;
    assert.ok(sent === users.length * PER_USER);
    // Every message reached every member, and no socket ever dropped.
    for (const u of users) {
      for (let n = 0; n < users.length * PER_USER; n += 1) await u.c.next("message:new", (e) => e.message.room === id);
      assert.equal(u.disconnects, 0, `${u.name} was disconnected`);
      assert.equal(u.c.connected, true);
    }
    assert.equal(await getOver(kept), "HTTP/1.1 200 OK");
    assert.equal(kept.getPeerCertificate().serialNumber, "0A0A01");
    kept.end();

    // A bad renewal (the key of another certificate): logged, the pair
    // served stays, chat goes on.
    install("second", { keyText: pem["first.key"] });
    s2.proc.kill("SIGHUP");
    await eventually(() => /level=error msg="TLS certificate reload failed, still serving the previous one" cause="[^"]*is not the private key/.test(s2.log()),
      "the failed reload to be logged");
    assert.equal((await handshake(s2.port)).serial, "0B0B02");
    // Garbage in place of the certificate: the same.
    writeFileSync(path("live.crt"), "-----BEGIN CERTIFICATE-----\nnot base64\n");
    s2.proc.kill("SIGHUP");
    await eventually(() => (s2.log().match(/TLS certificate reload failed/g) ?? []).length === 2, "the second failed reload");
    assert.equal((await handshake(s2.port)).serial, "0B0B02");
    ok(await users[1].c.call("message:send", { room: id, text: "still here" }));
    await users[0].c.next("message:new", (e) => e.message.text === "still here");
    for (const u of users) {
      assert.equal(u.disconnects, 0);
      u.c.close();
    }
    assert.equal(s2.proc.exitCode, null);
  } finally {
    await s2.stop();
  }
});
