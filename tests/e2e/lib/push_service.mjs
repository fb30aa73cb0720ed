// A local Web Push service for the notification tests, in the role of a
// browser vendor's (RFC 8030): subscribe() makes a browser's subscription
// (a P-256 key pair and an auth secret, as PushManager.subscribe() would),
// and each POST to its endpoint is checked the way a real service and
// browser check it: the VAPID token (RFC 8292: an ES256 JWT whose
// signature verifies with the k= key, aud the endpoint's origin, exp
// within 24 hours, a sub) and the payload, decrypted with the
// subscription's private key and auth secret (RFC 8291, aes128gcm of RFC
// 8188) with node's crypto. Answers 201, or the next status a test
// scripted for that subscription (410 to make chatd delete it), or, for a
// subscription put on hold, nothing at all (the request stays open until
// chatd gives up on it; received with status "held").
import { createServer } from "node:http";
import { once } from "node:events";
import { createECDH, createDecipheriv, createPublicKey, hkdfSync, randomBytes, verify } from "node:crypto";
import { deadline, WAIT_MS } from "./harness.mjs";

const b64u = (b) => Buffer.from(b).toString("base64url");

// The JWT of `Authorization: vapid t=..., k=...` checked against the raw
// public key k: { ok, why, claims }.
export function checkVapid(authorization, audience) {
  const m = /^vapid t=([\w-]+)\.([\w-]+)\.([\w-]+), k=([\w-]+)$/.exec(authorization ?? "");
  if (!m) return { ok: false, why: `not a vapid authorization: ${authorization}` };
  const [, head, body, sig, k] = m;
  const point = Buffer.from(k, "base64url");
  if (point.length !== 65 || point[0] !== 4) return { ok: false, why: "k is not a P-256 point" };
  const key = createPublicKey({ key: { kty: "EC", crv: "P-256", x: b64u(point.subarray(1, 33)), y: b64u(point.subarray(33)) }, format: "jwk" });
  const header = JSON.parse(Buffer.from(head, "base64url"));
  const claims = JSON.parse(Buffer.from(body, "base64url"));
  if (header.alg !== "ES256") return { ok: false, why: `alg ${header.alg}` };
  const good = verify("sha256", Buffer.from(`${head}.${body}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(sig, "base64url"));
  if (!good) return { ok: false, why: "bad signature" };
  const now = Date.now() / 1000;
  if (claims.aud !== audience) return { ok: false, why: `aud ${claims.aud}, not ${audience}` };
  if (!(claims.exp > now && claims.exp <= now + 24 * 3600)) return { ok: false, why: `exp ${claims.exp}` };
  if (!/^(mailto:|https:)/.test(claims.sub ?? "")) return { ok: false, why: `sub ${claims.sub}` };
  return { ok: true, claims, k };
}

// RFC 8291 section 3.4 and RFC 8188 section 2, from the receiving side.
export function decrypt(body, ecdh, auth) {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20];
  const asPublic = body.subarray(21, 21 + idlen);
  const record = body.subarray(21 + idlen);
  if (record.length > rs) throw new Error("more than one record");
  const shared = ecdh.computeSecret(asPublic);
  const uaPublic = ecdh.getPublicKey();
  const keyInfo = Buffer.concat([Buffer.from("WebPush: info\0"), uaPublic, asPublic]);
  const ikm = Buffer.from(hkdfSync("sha256", shared, auth, keyInfo, 32));
  const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  const d = createDecipheriv("aes-128-gcm", cek, nonce);
  d.setAuthTag(record.subarray(record.length - 16));
  const plain = Buffer.concat([d.update(record.subarray(0, record.length - 16)), d.final()]);
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) --end;
  if (plain[end] !== 2) throw new Error("the last record lacks its 0x02 delimiter");
  return plain.subarray(0, end).toString("utf8");
}

export async function startPushService() {
  const subs = new Map();  // id -> { ecdh, auth, answers: [] }
  const received = [];
  const waiters = [];
  let counter = 0;
  const wake = () => {
    for (const w of [...waiters]) {
      const r = received.find((x) => !x.taken && w.pred(x));
      if (r) {
        r.taken = true;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(r);
      }
    }
  };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const id = req.url.split("/").pop();
      const sub = subs.get(id);
      const r = { id, headers: req.headers, status: 404 };
      if (req.method === "POST" && sub?.hold) {
        r.status = "held";
        received.push(r);
        wake();
        return;
      }
      if (req.method === "POST" && sub) {
        r.vapid = checkVapid(req.headers.authorization, origin);
        try {
          r.payload = JSON.parse(decrypt(Buffer.concat(chunks), sub.ecdh, sub.auth));
        } catch (e) {
          r.decryptError = e.message;
        }
        r.status = !r.vapid.ok ? 403 : r.decryptError ? 400 : sub.answers.length ? sub.answers.shift() : 201;
      }
      received.push(r);
      wake();
      res.writeHead(r.status).end();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    received,
    // A browser's subscription: what PushSubscription.toJSON() gives.
    subscribe() {
      const id = `s${++counter}`;
      const ecdh = createECDH("prime256v1");
      ecdh.generateKeys();
      const auth = randomBytes(16);
      subs.set(id, { ecdh, auth, answers: [] });
      return { endpoint: `${origin}/push/${id}`, keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(auth) } };
    },
    // The next answers to deliveries to `endpoint` (then 201).
    answer(endpoint, ...statuses) {
      subs.get(endpoint.split("/").pop()).answers.push(...statuses);
    },
    // Deliveries to `endpoint` get no answer from now on.
    hold(endpoint) {
      subs.get(endpoint.split("/").pop()).hold = true;
    },
    next(pred = () => true, ms = WAIT_MS) {
      return deadline(new Promise((resolve) => {
        waiters.push({ pred, resolve });
        wake();
      }), ms, "a push delivery");
    },
    close() {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}
