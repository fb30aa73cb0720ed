// The web client's Web Push in Chromium: a real chatd (--vapid-key)
// serving the built client; the page registers its service worker
// (/push-worker.js, scope /), the "Notify me" button asks for permission
// (granted by the context), subscribes with chatd's VAPID key and
// registers the subscription over REST; a message while the user has no
// tab open is pushed to the local push service (tests/e2e/lib/
// push_service.mjs), which verifies the VAPID token and decrypts it; that
// payload, delivered to the worker through DevTools (ServiceWorker.
// deliverPushMessage), becomes the notification the worker shows.
//
// Headless Chromium cannot reach a real push service (its
// PushManager.subscribe() talks to FCM), so the page's PushManager hands
// out the local service's subscription (an init script); everything else
// is the real client, worker and chatd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { npmPackage, program } from '../lib/needs.mjs';
import { startChatd, connect, devToken, rest, ok, tempDir, eventually } from '../e2e/lib/harness.mjs';
import { startPushService } from '../e2e/lib/push_service.mjs';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run this test through ctest)`);
  return v;
};
const WEB_DIST = env('WEB_DIST');
const WEB_DIR = env('WEB_DIR');
const CHROMIUM = program(process.env.CHROMIUM || '/usr/bin/chromium', 'chromium');
const WAIT = { timeout: 20000 };
const { chromium } = npmPackage(WEB_DIR, 'playwright-core');

test('the web client subscribes to Web Push and its worker shows what chatd pushes', { timeout: 120000 }, async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyFile = path.join(tempDir(), 'vapid.pem');
  fs.writeFileSync(keyFile, privateKey.export({ type: 'sec1', format: 'pem' }));
  const jwk = publicKey.export({ format: 'jwk' });
  const vapidPublic = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')])
    .toString('base64url');
  const push = await startPushService();
  const server = await startChatd({ args: ['--static-dir', WEB_DIST, '--vapid-key', keyFile, '--vapid-subject',
    'mailto:ops@example.com', '--push-allow-http', '--notify-coalesce-ms', '100',
    '--ping-interval', '1000', '--ping-timeout', '1000'] });
  let browser;
  t.after(async () => {
    await browser?.close().catch(() => {});
    await push.close();
    assert.equal(await server.stop(), 0);
  });

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    timeout: 30000,
  });
  const ctx = await browser.newContext();
  await ctx.grantPermissions(['notifications'], { origin: server.url });
  const browserSub = push.subscribe();
  await ctx.addInitScript((sub) => {
    if (!self.PushManager) return;
    let made = null;
    const asSubscription = () => ({ ...sub, toJSON: () => sub });
    PushManager.prototype.subscribe = async function (options) {
      const key = new Uint8Array(options.applicationServerKey);
      self.__pushKey = btoa(String.fromCharCode(...key)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      made = asSubscription();
      return made;
    };
    PushManager.prototype.getSubscription = async function () { return made; };
  }, browserSub);

  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url + '/');
  await page.fill('#login [name=userId]', 'cat');
  await page.fill('#login [name=name]', 'Cat');
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#push-toggle:not([hidden]):text("Notify me")', WAIT);
  const scope = await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return { scope: reg.scope, script: reg.active.scriptURL };
  });
  assert.equal(scope.scope, server.url + '/');
  assert.equal(scope.script, server.url + '/push-worker.js');
  await page.click('#push-toggle');
  await page.waitForSelector('#push-toggle:text("Notifications on")', WAIT);
  assert.equal(await page.evaluate(() => self.__pushKey), vapidPublic, 'subscribed with chatd\'s VAPID key');
  const catToken = await devToken(server, 'cat', 'Cat');
  const subs = await rest(server, 'GET', '/api/push/subscriptions', { token: catToken });
  assert.deepEqual(subs.body.subscriptions.map((s) => s.endpoint), [browserSub.endpoint], 'the subscription reached chatd');

  // Cat closes the tab; Ann writes to a room of theirs. Cat counts as
  // away only once chatd has seen the tab's socket go: a socket still open
  // when the room is made joins it, and its user gets no notice. (A tab
  // closed before its transport upgraded leaves a long-polling session,
  // which ends at the heartbeat: 1 s + 1 s on this server.)
  await page.close();
  await eventually(async () => /^chatd_connections 0$/m.test((await rest(server, 'GET', '/metrics')).text),
    'chatd saw the closed tab\'s socket go', 10000);
  const ann = await connect(server, await devToken(server, 'ann', 'Ann'));
  const room = ok(await ann.call('room:create', { kind: 'group', title: 'Physics', members: ['cat'] })).room.id;
  ok(await ann.call('message:send', { room, text: 'lab moved to 3pm' }));
  const pushed = await push.next((r) => r.payload?.room === room);
  assert.equal(pushed.vapid.ok, true, pushed.vapid.why);
  assert.equal(pushed.payload.text, 'lab moved to 3pm');
  ann.close();

  // The worker gets that payload as the push service would hand it over,
  // and shows it.
  const shown = await ctx.newPage();
  const cdp = await ctx.newCDPSession(shown);
  const registrations = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations));
  await cdp.send('ServiceWorker.enable');
  await shown.goto(server.url + '/');
  await eventually(() => registrations.some((r) => r.scopeURL === server.url + '/' && !r.isDeleted),
    'the worker registration reported', 10000);
  const reg = registrations.find((r) => r.scopeURL === server.url + '/' && !r.isDeleted);
  await cdp.send('ServiceWorker.deliverPushMessage', {
    origin: server.url, registrationId: reg.registrationId, data: JSON.stringify(pushed.payload),
  });
  let notes = [];
  await eventually(async () => {
    notes = await shown.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications())
      .map((n) => ({ title: n.title, body: n.body, tag: n.tag })));
    return notes.length > 0;
  }, 'the worker showed a notification', 10000);
  assert.deepEqual(notes, [{ title: 'Physics', body: 'Ann: lab moved to 3pm', tag: `room:${room}` }]);
  assert.deepEqual(errors, []);
});
