// End-to-end: notifications for members who are away (docs/protocol.md
// "Notifications", docs/operations.md "Webhook"). A real chatd posts to a
// local webhook receiver (lib/webhook_receiver.mjs) that checks the
// signature:
// - a member with no socket in the room gets one signed webhook for a
//   burst of messages (coalesced), retried after a 500 with the same id;
//   members in the room get none; the secret never reaches the log;
// - a receiver that cannot verify the signature answers 401: chatd gives
//   up at once (no retry) and counts it;
// - the queue is bounded: past --notify-queue the oldest waiting
//   notification is dropped, counted on /metrics and logged;
// - in a cluster (and with CLUSTER_THREADS, across loops), a socket in the
//   room on another node means not away, and an away member is told once,
//   by the node that took the message, not by every node;
// - Web Push (lib/push_service.mjs checks the VAPID token and decrypts the
//   payload with the subscription's keys): subscriptions over REST with
//   bad input refused and a bound per user, one push for a burst, and a
//   410 from the push service deletes the subscription; an endpoint that
//   never answers is deleted after three deliveries, and a retry goes to
//   the browsers that did not take the push only; in the cluster a
//   subscription made through one node is pushed to by another.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startChatd, connect, rest, ok, person, eventually } from "./lib/harness.mjs";
import { startCluster } from "./lib/cluster.mjs";
import { startWebhookReceiver, verifySignature } from "./lib/webhook_receiver.mjs";
import { startPushService } from "./lib/push_service.mjs";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { API_KEY, tempDir } from "./lib/harness.mjs";

const T = { timeout: 60000 };

// A VAPID key (P-256, PEM) in a file, and its public key as the browser gets it.
function vapidKey() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const file = join(tempDir(), "vapid.pem");
  writeFileSync(file, privateKey.export({ type: "sec1", format: "pem" }));
  const jwk = publicKey.export({ format: "jwk" });
  const raw = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
  return { file, publicKey: raw.toString("base64url") };
}
const PUSH_ARGS = (key) => ["--vapid-key", key.file, "--vapid-subject", "mailto:ops@example.com", "--push-allow-http"];
const SECRET = "whsec-e2e-0123456789abcdef";
const closers = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

async function webhookChatd(receiver, args = []) {
  const server = await startChatd({
    args: ["--webhook-url", receiver.url, "--notify-retry-ms", "200", ...args],
    env: { CHATD_WEBHOOK_SECRET: SECRET },
  });
  closers.push(() => server.stop());
  return server;
}

async function receiver(opts = {}) {
  const r = await startWebhookReceiver({ secret: SECRET, ...opts });
  closers.push(() => r.close());
  return r;
}

// A group room of `owner` with `members`, made through `owner`'s socket.
async function groupRoom(owner, members, title = "Algebra") {
  const ack = ok(await owner.call("room:create", { kind: "group", title, members: members.map((m) => m.id) }));
  return ack.room.id;
}

const metric = async (server, name) => {
  const m = (await rest(server, "GET", "/metrics")).text.match(new RegExp(`^${name}\\{channel="webhook"\\} (\\d+)$`, "m"));
  return m ? Number(m[1]) : undefined;
};

test("an away member gets one signed webhook for a burst, retried after a 500", T, async () => {
  const hook = await receiver({ statuses: [500] });
  const server = await webhookChatd(hook, ["--notify-coalesce-ms", "400", "--log-level", "debug"]);
  const [ann, bob, cat] = [person("ann"), person("bob"), person("cat")];
  const a = await connect(server, ann.token);
  const b = await connect(server, bob.token);
  const room = await groupRoom(a, [bob, cat]);
  ok(await a.call("room:join", { room }));
  ok(await b.call("room:join", { room }));
  for (const text of ["one", "two", "three"]) ok(await a.call("message:send", { room, text }));

  const first = await hook.next();
  assert.equal(first.status, 500);
  assert.equal(first.verified, true, "the signature checks out");
  assert.equal(first.headers["content-type"], "application/json");
  const retry = await hook.next();
  assert.equal(retry.status, 200);
  assert.equal(retry.verified, true);
  assert.equal(retry.json.id, first.json.id, "a retry keeps the delivery id");
  assert.equal(retry.headers["x-chatd-delivery"], first.json.id);
  assert.deepEqual({ ...retry.json, at: undefined, id: undefined, messageId: undefined }, {
    type: "message.away", userId: cat.id, room, roomTitle: "Algebra", messages: 3, firstSeq: 1, lastSeq: 3,
    senderId: ann.id, senderName: "Ann", text: "three", at: undefined, id: undefined, messageId: undefined,
  }, "three messages in the window make one notification, naming the last");
  assert.match(retry.json.at, /^\d{4}-\d{2}-\d{2}T/);
  assert.ok(hook.received.every((r) => r.json.userId === cat.id), "Bob and Ann are in the room: no webhook for them");
  await eventually(async () => (await metric(server, "chatd_notifications_delivered_total")) === 1 &&
    (await metric(server, "chatd_notifications_retried_total")) === 1, "/metrics counts the delivery and the retry");
  assert.ok(!server.log().includes(SECRET), "the secret is not logged");
  a.close();
  b.close();
});

test("a receiver that cannot verify the signature refuses, and chatd gives up without retrying", T, async () => {
  const hook = await startWebhookReceiver({ secret: "some-other-secret-not-chatds" });
  closers.push(() => hook.close());
  const server = await webhookChatd(hook, ["--notify-coalesce-ms", "0"]);
  const [ann, cat] = [person("ann"), person("cat")];
  const a = await connect(server, ann.token);
  const room = await groupRoom(a, [cat]);
  ok(await a.call("message:send", { room, text: "tampered?" }));
  const r = await hook.next();
  assert.equal(r.verified, false);
  assert.equal(r.status, 401);
  // The signature covers the body: the right secret fails on a changed body.
  assert.equal(verifySignature(SECRET, r.headers["x-chatd-signature"], r.body), true);
  assert.equal(verifySignature(SECRET, r.headers["x-chatd-signature"], r.body.replace("tampered", "tempered")), false);
  await eventually(async () => (await metric(server, "chatd_notifications_failed_total")) === 1,
    "/metrics counts the notification given up");
  assert.equal(await metric(server, "chatd_notifications_retried_total"), 0, "a 401 is not retried");
  assert.equal(hook.received.length, 1);
  a.close();
});

test("past --notify-queue the oldest waiting notification is dropped, counted and logged", T, async () => {
  const hook = await receiver();
  // One sender: held at the receiver, it leaves the queue to fill.
  const server = await webhookChatd(hook, ["--notify-coalesce-ms", "0", "--notify-queue", "2", "--notify-senders", "1"]);
  const ann = person("ann");
  const away = [1, 2, 3, 4].map((i) => person(`m${i}`));
  const x = person("x");
  const a = await connect(server, ann.token);
  // The sender is kept busy: its first request gets no answer until released.
  hook.hold();
  const first = await groupRoom(a, [x]);
  ok(await a.call("message:send", { room: first, text: "keeps the sender busy" }));
  assert.equal((await hook.next()).json.userId, x.id);
  // Four away members, room for two.
  const room = await groupRoom(a, away);
  ok(await a.call("message:send", { room, text: "to four" }));
  await eventually(async () => (await metric(server, "chatd_notifications_dropped_total")) === 2,
    "two notifications dropped");
  assert.equal(await metric(server, "chatd_notifications_queued"), 2);
  assert.match(server.log(), /notification queue full/);
  hook.release();
  const kept = [(await hook.next()).json.userId, (await hook.next()).json.userId].sort();
  assert.deepEqual(kept, [away[2].id, away[3].id].sort(), "the newest two were kept");
  await eventually(async () => (await metric(server, "chatd_notifications_delivered_total")) === 3, "three delivered");
  a.close();
});

test("Web Push: an endpoint that never answers is deleted after three tries; retries skip the browsers reached", T, async () => {
  const vapid = vapidKey();
  const push = await startPushService();
  closers.push(() => push.close());
  const server = await startChatd({ args: [...PUSH_ARGS(vapid), "--notify-coalesce-ms", "100", "--notify-retry-ms", "100",
    "--notify-attempts", "5", "--push-timeout", "300"] });
  closers.push(() => server.stop());
  const [ann, cat] = [person("ann"), person("cat")];
  const [phone, tarpit] = [push.subscribe(), push.subscribe()];
  push.hold(tarpit.endpoint);
  for (const b of [phone, tarpit])
    assert.equal((await rest(server, "POST", "/api/push/subscriptions", { token: cat.token, body: b })).status, 201);

  const a = await connect(server, ann.token);
  const room = await groupRoom(a, [cat], "Chemistry");
  ok(await a.call("message:send", { room, text: "quiz moved" }));
  // Three deliveries hang at the tarpit; the third gets it deleted.
  for (let i = 0; i < 3; ++i) await push.next((r) => r.status === "held");
  const endpoints = async () => (await rest(server, "GET", "/api/push/subscriptions", { token: cat.token })).body.subscriptions
    .map((x) => x.endpoint);
  await eventually(async () => {
    const m = (await rest(server, "GET", "/metrics")).text.match(/^chatd_notifications_delivered_total\{channel="webpush"\} (\d+)$/m);
    return m && Number(m[1]) === 1;
  }, "the notice counted delivered once the tarpit is gone");
  assert.deepEqual(await endpoints(), [phone.endpoint], "the endpoint that never answered is deleted");
  const toPhone = push.received.filter((r) => r.id === phone.endpoint.split("/").pop());
  assert.equal(toPhone.length, 1, "the retries went to the tarpit only, not again to the phone");
  assert.equal(toPhone[0].payload.text, "quiz moved");
  assert.equal(push.received.filter((r) => r.status === "held").length, 3, "no fourth try at a deleted endpoint");
  a.close();
});

test("in a cluster: not away while in the room on another node; told once, by one node", { timeout: 120000 }, async () => {
  const hook = await receiver();
  const vapid = vapidKey();
  const pushService = await startPushService();
  closers.push(() => pushService.close());
  const cluster = await startCluster({
    nodes: 2,
    args: ["--webhook-url", hook.url, "--webhook-secret", SECRET, "--notify-coalesce-ms", "200", "--notify-retry-ms", "200",
      ...PUSH_ARGS(vapid)],
  });
  closers.push(() => cluster.close());
  const [ann, cat, dan, eve] = [person("ann"), person("cat"), person("dan"), person("eve")];
  const a = await connect(cluster.node(1), ann.token);
  const c = await connect(cluster.node(2), cat.token);
  const room = await groupRoom(a, [cat]);
  ok(await a.call("room:join", { room }));
  ok(await c.call("room:join", { room }));
  // Cat's browser subscribes through node 2; node 1 will push to it.
  const catBrowser = pushService.subscribe();
  assert.equal((await rest(cluster.node(2), "POST", "/api/push/subscriptions", { token: cat.token, body: catBrowser })).status, 201);
  // Cat's join has reached node 1 once node 1's presence counts Cat.
  await eventually(async () => {
    const p = await a.call("presence:list", { room });
    return p.ok && p.presence.some((u) => u.userId === cat.id && u.online);
  }, "node 1 sees Cat in the room");
  ok(await a.call("message:send", { room, text: "cat is here, on node 2" }));
  ok(await c.call("room:leave", { room }));
  await eventually(async () => {
    const p = await a.call("presence:list", { room });
    return p.ok && p.presence.some((u) => u.userId === cat.id && !u.online);
  }, "node 1 sees Cat gone");
  ok(await a.call("message:send", { room, text: "cat left" }));
  const told = await hook.next();
  assert.equal(told.json.userId, cat.id);
  assert.equal(told.json.text, "cat left", "the message sent while Cat was in the room notified no one");
  assert.equal(told.json.messages, 1);
  // Markers through each node, sent after: a node's sender delivers in
  // order, so once both arrived no duplicate of Cat's is still coming.
  const d = await connect(cluster.node(2), dan.token);
  const r1 = await groupRoom(a, [eve], "marker 1");
  const r2 = await groupRoom(d, [eve], "marker 2");
  ok(await a.call("message:send", { room: r1, text: "m1" }));
  ok(await d.call("message:send", { room: r2, text: "m2" }));
  await hook.next((r) => r.json.roomTitle === "marker 1");
  await hook.next((r) => r.json.roomTitle === "marker 2");
  const toCat = hook.received.filter((r) => r.json.userId === cat.id);
  assert.equal(toCat.length, 1, `one webhook for Cat, not one per node: ${JSON.stringify(toCat.map((r) => r.json))}`);
  const pushed = await pushService.next();
  assert.equal(pushed.vapid.ok, true, pushed.vapid.why);
  assert.equal(pushed.payload.text, "cat left", "node 1 pushed with the subscription made through node 2");
  assert.equal(pushService.received.length, 1, "one push, not one per node");
  for (const s of [a, c, d]) s.close();
});

test("Web Push: subscriptions over REST, one encrypted VAPID-signed push per burst, a 410 deletes", T, async () => {
  const vapid = vapidKey();
  const push = await startPushService();
  closers.push(() => push.close());
  const server = await startChatd({ args: [...PUSH_ARGS(vapid), "--notify-coalesce-ms", "300", "--push-max-subscriptions", "3"] });
  closers.push(() => server.stop());
  const key = await rest(server, "GET", "/api/push/vapid-public-key");
  assert.equal(key.status, 200);
  assert.equal(key.body.publicKey, vapid.publicKey, "the applicationServerKey is the --vapid-key's public key");

  const [ann, cat] = [person("ann"), person("cat")];
  const browser = push.subscribe();
  const subscribe = (body, token = cat.token) => rest(server, "POST", "/api/push/subscriptions", { token, body });
  // Bad input is refused with the contract's errors.
  assert.equal((await subscribe(browser, API_KEY)).status, 403, "the service has no browser");
  assert.equal((await rest(server, "POST", "/api/push/subscriptions", { body: browser })).status, 401);
  assert.equal((await subscribe({ endpoint: "javascript:alert(1)", keys: browser.keys })).body.error.code, "bad_request");
  assert.equal((await subscribe({ endpoint: `${push.origin}/${"x".repeat(1100)}`, keys: browser.keys })).status, 400);
  assert.equal((await subscribe({ endpoint: browser.endpoint, keys: { p256dh: "AAAA", auth: browser.keys.auth } })).status, 400);
  assert.equal((await subscribe({ endpoint: browser.endpoint })).status, 400);
  assert.equal((await rest(server, "POST", "/api/push/subscriptions", { token: cat.token, raw: "{", headers: { "content-type": "application/json" } })).status, 400);
  assert.equal((await subscribe(browser)).status, 201);

  const a = await connect(server, ann.token);
  const room = await groupRoom(a, [cat], "Physics");
  ok(await a.call("message:send", { room, text: "lab at 3" }));
  ok(await a.call("message:send", { room, text: "bring goggles" }));
  const got = await push.next();
  assert.equal(got.status, 201);
  assert.equal(got.vapid.ok, true, got.vapid.why);
  assert.equal(got.vapid.k, vapid.publicKey);
  assert.equal(got.headers["content-encoding"], "aes128gcm");
  assert.equal(got.headers.ttl, "86400");
  assert.equal(got.headers.urgency, "normal");
  assert.match(got.headers.topic, /^[\w-]{32}$/);
  assert.equal(got.decryptError, undefined);
  assert.deepEqual({ ...got.payload, at: undefined, messageId: undefined },
    { room, roomTitle: "Physics", messages: 2, seq: 2, senderName: "Ann", text: "bring goggles", at: undefined, messageId: undefined },
    "two messages in the window make one push, decrypted with the subscription's keys");

  // The push service says the subscription is gone: chatd deletes it.
  push.answer(browser.endpoint, 410);
  ok(await a.call("message:send", { room, text: "still there?" }));
  assert.equal((await push.next()).status, 410);
  const endpoints = async () => (await rest(server, "GET", "/api/push/subscriptions", { token: cat.token })).body.subscriptions
    .map((x) => x.endpoint);
  await eventually(async () => (await endpoints()).length === 0, "the subscription deleted after 410");

  // At most --push-max-subscriptions per user: the oldest goes.
  const browsers = [1, 2, 3, 4].map(() => push.subscribe());
  for (const b of browsers) assert.equal((await subscribe(b)).status, 201);
  assert.deepEqual(await endpoints(), browsers.slice(1).reverse().map((b) => b.endpoint), "the oldest of four was dropped");
  const unsubscribe = (endpoint) =>
    rest(server, "DELETE", `/api/push/subscriptions?endpoint=${encodeURIComponent(endpoint)}`, { token: cat.token });
  assert.equal((await unsubscribe(browsers[0].endpoint)).status, 404);
  assert.equal((await unsubscribe(browsers[1].endpoint)).status, 200);
  assert.equal((await rest(server, "DELETE", "/api/push/subscriptions", { token: ann.token, body: { endpoint: browsers[3].endpoint } })).status, 404,
    "one user cannot remove another's subscription");
  assert.equal((await rest(server, "DELETE", "/api/push/subscriptions", { token: cat.token, body: { endpoint: browsers[3].endpoint } })).status, 200);
  a.close();
});
