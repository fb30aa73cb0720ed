// End-to-end: chatd checking an identity provider's tokens. A local JWKS
// server (node:http, in this process) publishes keys that node:crypto makes
// and signs tokens with; it counts every fetch and can go down. Against a
// real chatd: tokens refused while the provider was never reached, RS256
// accepted once it is, a rotated-in ES256 key found by the unknown-kid
// refresh, the last keys kept while the provider is down, and a flood of
// made-up kids that causes no more fetches than the configured budget.
// A second chatd checks PS256 and EdDSA tokens from a --jwt-public-key file.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { generateKeyPairSync, sign, constants } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startChatd, runChatd, Client, connect, refusedAtConnect, ok, eventually, tempDir } from "./lib/harness.mjs";

const T = { timeout: 60000 };
const ISSUER = "https://idp.test/";
const AUDIENCE = "chat-app";
const BURST = 10;
const now = () => Math.floor(Date.now() / 1000);

function makeKey(alg, kid) {
  const pair =
    alg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" })
    : alg === "EdDSA" ? generateKeyPairSync("ed25519")
    : generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { alg, kid, ...pair, jwk: { ...pair.publicKey.export({ format: "jwk" }), kid, use: "sig" } };
}

function b64url(v) {
  return Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
}

// A compact JWS of `claims` with `key`; `kid` overrides the key's own.
function token(key, claims = {}, kid = key.kid) {
  const header = { alg: key.alg, typ: "JWT", ...(kid ? { kid } : {}) };
  const body = { iss: ISSUER, aud: AUDIENCE, exp: now() + 600, ...claims };
  const input = `${b64url(header)}.${b64url(body)}`;
  const data = Buffer.from(input);
  const sig =
    key.alg === "ES256" ? sign("sha256", data, { key: key.privateKey, dsaEncoding: "ieee-p1363" })
    : key.alg === "EdDSA" ? sign(null, data, key.privateKey)
    : key.alg === "PS256" ? sign("sha256", data, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
    : sign("sha256", data, key.privateKey);
  return `${input}.${sig.toString("base64url")}`;
}

// The provider: serves `keys` at /jwks.json, or 503 while down.
const provider = { keys: [], down: true, fetches: 0 };
let jwksServer;
let server;

const refused = (tok, opts) => refusedAtConnect(server, tok, opts);

// Connects with `tok`, retrying while it is refused (the refusal that
// starts a key refresh), until `ms` passes.
async function connectEventually(tok, what, ms = 10000) {
  let client;
  await eventually(async () => {
    try {
      client = await connect(server, tok);
      return true;
    } catch {
      return false;
    }
  }, what, ms);
  return client;
}

const k1 = makeKey("RS256", "rsa-2026-01");
const k2 = makeKey("ES256", "ec-2026-02");
let started;

before(async () => {
  jwksServer = createServer((req, res) => {
    if (req.url !== "/jwks.json") return res.writeHead(404).end();
    provider.fetches += 1;
    if (provider.down) return res.writeHead(503).end("down");
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: provider.keys.map((k) => k.jwk) }));
  });
  await new Promise((r) => jwksServer.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${jwksServer.address().port}/jwks.json`;
  started = Date.now();
  server = await startChatd({
    dev: false,
    args: ["--jwks-url", url, "--jwt-issuer", ISSUER, "--jwt-audience", `other,${AUDIENCE}`,
      "--jwks-kid-fetch-burst", String(BURST), "--jwks-kid-fetches-per-minute", "1", "--jwks-timeout", "2000"],
  });
});

after(async () => {
  assert.equal(await server?.stop(), 0);
  await new Promise((r) => jwksServer.close(r));
});

test("JWKS: refused until the provider answers, then rotation, a provider outage and a flood of unknown kids", T, async () => {
  // 1. The provider is down from the start: a refusal, promptly.
  await eventually(() => provider.fetches >= 1, "chatd's first JWKS fetch");
  await refused(token(k1, { sub: "ann" }));

  // 2. It comes up with k1: an RS256 token works, over the stock client's
  //    default transports (polling, then the WebSocket upgrade).
  provider.keys = [k1];
  provider.down = false;
  const ann = await connectEventually(token(k1, { sub: "ann", name: "Ann" }), "an RS256 token once the provider is up");
  ok(await ann.call("rooms:list", {}));
  ann.close();
  const polling = new Client(server, token(k1, { sub: "bob" }), { transports: ["polling", "websocket"] });
  await polling.ready();
  ok(await polling.call("rooms:list", {}));
  polling.close();

  // Wrong audience or issuer: refused, with keys loaded.
  await refused(token(k1, { sub: "ann", aud: "someone-else" }));
  await refused(token(k1, { sub: "ann", iss: "https://evil.test/" }));

  // 3. Rotation: the provider adds k2. Its first token names a kid chatd
  //    has not seen; the refresh that causes lets a retry in.
  provider.keys = [k1, k2];
  const beforeRotation = provider.fetches;
  const cy = await connectEventually(token(k2, { sub: "cy" }), "an ES256 token with the rotated-in kid");
  assert.ok(provider.fetches > beforeRotation, "the unknown kid caused a fetch");
  ok(await cy.call("rooms:list", {}));
  cy.close();

  // 4. The provider goes down; a fetch fails (an unknown kid asks for
  //    one), and the keys chatd has keep working.
  provider.down = true;
  const beforeOutage = provider.fetches;
  await refused(token(k2, { sub: "cy" }, "not-published-yet"));
  await eventually(() => provider.fetches > beforeOutage, "a fetch while the provider is down");
  for (const [key, sub] of [[k1, "dee"], [k2, "eve"]]) {
    const c = await connect(server, token(key, { sub }));
    ok(await c.call("rooms:list", {}));
    c.close();
  }

  // 5. A flood of tokens with made-up kids, provider up again: every one
  //    refused, and chatd fetches no more than its budget allows. Without
  //    the limit each batch would cause a fetch of its own.
  provider.down = false;
  const beforeFlood = provider.fetches;
  for (let batch = 0; batch < 3; batch++) {
    await Promise.all(Array.from({ length: 10 }, (_, i) => refused(token(k2, { sub: "mallory" }, `forged-${batch}-${i}`))));
  }
  // One at a time too: each would find no fetch under way to join.
  for (let i = 0; i < 30; i++) await refused(token(k2, { sub: "mallory" }, `forged-one-${i}`));
  assert.ok(provider.fetches - beforeFlood <= BURST, `the flood caused ${provider.fetches - beforeFlood} fetches`);
  const minutes = (Date.now() - started) / 60000;
  // The first fetch, the burst, one per minute of refill, and a retry per
  // 30 s after the failures of steps 1 and 4.
  const bound = 1 + BURST + Math.ceil(minutes) + 2 * Math.ceil(minutes * 2);
  assert.ok(provider.fetches <= bound, `${provider.fetches} JWKS fetches, at most ${bound} allowed`);
  // The known keys still work after the flood.
  const fin = await connect(server, token(k1, { sub: "fin" }));
  fin.close();
  assert.doesNotMatch(server.log(), /eyJ/, "no token in chatd's log");
});

test("a --jwt-public-key file: PS256 and EdDSA tokens, alg none and HS256 with the public key refused", T, async () => {
  const ps = makeKey("PS256");
  const ed = makeKey("EdDSA");
  const dir = tempDir();
  const file = join(dir, "keys.pem");
  writeFileSync(file, ps.publicKey.export({ type: "spki", format: "pem" }) + ed.publicKey.export({ type: "spki", format: "pem" }));
  // Through the environment, as a unit file or container would set it.
  const other = await startChatd({ dev: false, env: { CHATD_JWT_PUBLIC_KEY: file } });
  try {
    for (const key of [ps, ed]) {
      const c = await connect(other, token(key, { sub: `u-${key.alg}` }));
      ok(await c.call("rooms:list", {}));
      c.close();
    }
    const claims = b64url({ sub: "x", exp: now() + 600 });
    const pem = ps.publicKey.export({ type: "spki", format: "pem" });
    const { createHmac } = await import("node:crypto");
    const hsInput = `${b64url({ alg: "HS256", typ: "JWT" })}.${claims}`;
    const confused = `${hsInput}.${createHmac("sha256", pem).update(hsInput).digest("base64url")}`;
    const none = `${b64url({ alg: "none" })}.${claims}.`;
    for (const tok of [confused, none]) {
      const c = new Client(other, tok);
      await assert.rejects(c.ready(), (err) => err.message === "unauthorized");
      c.close();
    }
  } finally {
    assert.equal(await other.stop(), 0);
  }
});

test("bad identity provider settings stop chatd at start, saying why", T, async () => {
  const dir = tempDir();
  const base = ["--host", "127.0.0.1", "--port", "0", "--data-dir", dir];
  let r = await runChatd([...base, "--jwks-url", "ftp://idp.test/jwks"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--jwks-url must be an http/);
  const priv = join(dir, "private.pem");
  writeFileSync(priv, makeKey("ES256").privateKey.export({ type: "pkcs8", format: "pem" }));
  r = await runChatd([...base, "--jwt-public-key", priv]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no PUBLIC KEY block/);
  assert.doesNotMatch(r.stderr, /BEGIN/, "the key itself is not echoed");
  r = await runChatd([...base, "--jwt-public-key", join(dir, "missing.pem")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot read/);
  const big = join(dir, "big.pem");
  writeFileSync(big, "x".repeat(300 * 1024));  // past --jwks-max-bytes' default of 256 KiB
  r = await runChatd([...base, "--jwt-public-key", big]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /larger than --jwks-max-bytes \(262144\)/);
});

test("a JWKS provider that hangs or answers too much: the fetch ends at --jwks-timeout or --jwks-max-bytes", T, async () => {
  const hung = [];
  const slow = createServer((req, res) => {
    if (req.url === "/hang") return hung.push(res);  // never answers
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: [k1.jwk], padding: "x".repeat(64 * 1024) }));
  });
  await new Promise((r) => slow.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${slow.address().port}`;
  const servers = [];
  try {
    const hanging = await startChatd({ dev: false, args: ["--jwks-url", `${base}/hang`, "--jwks-timeout", "300"] });
    servers.push(hanging);
    await eventually(() => /JWKS fetch failed.*timed out after \d+ milliseconds/.test(hanging.log()), "the fetch to time out", 5000);
    const big = await startChatd({ dev: false, args: ["--jwks-url", `${base}/big`, "--jwks-max-bytes", "4096"] });
    servers.push(big);
    await eventually(() => /JWKS fetch failed.*larger than 4096 bytes/.test(big.log()), "the oversized JWKS to be refused", 5000);
    // Neither has keys: tokens are refused at once, not held.
    const c = new Client(big, token(k1, { sub: "ann" }));
    await assert.rejects(c.ready(), (err) => err.message === "unauthorized");
    c.close();
  } finally {
    for (const s of servers) assert.equal(await s.stop(), 0);
    for (const res of hung) res.destroy();
    await new Promise((r) => slow.close(r));
  }
});
