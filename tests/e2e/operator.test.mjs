// The operator's first day, end to end: chatd pointed at a certificate
// (made here with the openssl CLI) and at an identity provider's JWKS (a
// local node:http server publishing an RS256 key that node:crypto made),
// with the issuer and audience checked. Stock socket.io-clients holding
// that provider's tokens chat over wss:// and over https:// polling; a token
// minted for another app is refused; SIGHUP reloads the certificate through
// the one reload dispatcher and names it in its summary line.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { generateKeyPairSync, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startChatd, tempDir, ok, eventually, Client, refusedAtConnect } from "./lib/harness.mjs";

const OPENSSL = process.env.OPENSSL || "openssl";
const T = { timeout: 60000 };
const ISSUER = "https://idp.example/";
const AUDIENCE = "tutoring-app";

const b64url = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const key = { kid: "idp-key-1", ...generateKeyPairSync("rsa", { modulusLength: 2048 }) };

// An RS256 token as the provider would mint it.
function providerToken(claims) {
  const header = { alg: "RS256", typ: "JWT", kid: key.kid };
  const body = { iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600, ...claims };
  const input = `${b64url(header)}.${b64url(body)}`;
  return `${input}.${sign("sha256", Buffer.from(input), key.privateKey).toString("base64url")}`;
}

let dir, cert, jwks, server, fetches = 0;

before(async () => {
  dir = tempDir();
  execFileSync(OPENSSL, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", "key.pem", "-out", "cert.pem", "-subj", "/CN=localhost", "-days", "1",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  cert = readFileSync(join(dir, "cert.pem"), "utf8");
  jwks = createServer((req, res) => {
    fetches += 1;
    const jwk = { ...key.publicKey.export({ format: "jwk" }), kid: key.kid, use: "sig", alg: "RS256" };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise((r) => jwks.listen(0, "127.0.0.1", r));
  server = await startChatd({
    dev: false,
    store: "memory",
    args: ["--tls-cert", join(dir, "cert.pem"), "--tls-key", join(dir, "key.pem"),
      "--jwks-url", `http://127.0.0.1:${jwks.address().port}/jwks.json`,
      "--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE],
  });
  server.url = `https://127.0.0.1:${server.port}`;
});

after(async () => {
  assert.equal(await server?.stop(), 0);
  await new Promise((r) => jwks?.close(r));
});

// A stock client with a provider token, trusting only our certificate;
// retried while chatd's first JWKS fetch is under way.
async function join_as(sub, name, transports) {
  let client;
  await eventually(async () => {
    client = new Client(server, providerToken({ sub, name }), { transports, upgrade: false, ca: cert });
    try {
      await client.ready();
      return true;
    } catch {
      client.close();
      return false;
    }
  }, `${sub} connects with a provider token`, 10000);
  return client;
}

test("provider tokens over wss:// and https:// polling: a tutor and a student chat", T, async () => {
  const tutor = await join_as("tutor-1", "Tess", ["websocket"]);
  const student = await join_as("student-7", "Sam", ["polling"]);
  assert.ok(fetches >= 1, "chatd fetched the provider's keys");
  const room = ok(await tutor.call("room:create", { kind: "direct", members: ["student-7"] })).room.id;
  ok(await tutor.call("room:join", { room }));
  ok(await student.call("room:join", { room }));
  const heard = student.next("message:new");
  ok(await tutor.call("message:send", { room, text: "Ready for algebra?" }));
  const m = await heard;
  assert.equal(m.message.text, "Ready for algebra?");
  assert.equal(m.message.senderId, "tutor-1");
  tutor.close();
  student.close();
});

test("a token the provider minted for another app is refused over wss://", T, async () => {
  await refusedAtConnect(server, providerToken({ sub: "tutor-1", aud: "another-app" }),
    { transports: ["websocket"], upgrade: false, ca: cert });
});

test("SIGHUP reloads the certificate through the reload dispatcher", T, async () => {
  server.proc.kill("SIGHUP");
  await eventually(() => /msg="SIGHUP: reloaded: [^"]*tls-certificate/.test(server.log()), "the reload summary names the certificate");
  await eventually(() => /msg="TLS certificate reloaded" subject="CN=localhost"/.test(server.log()), "the certificate reloaded");
});
