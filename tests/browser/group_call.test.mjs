// A group lesson in Chromium: three participants (a tutor and two
// students, each in their own browser context with a fake camera) hold a
// mesh call in a session room. Every pair's RTCPeerConnection must reach
// `connected` and every remote <video> must play; a student shares their
// (fake) screen and the others see the share tile appear, play and go when
// the share stops; then a student closes their page and both other grids
// drop them. A fifth person, rung by four, is told the call is full.
// chatd must have recorded rtc:stats from every participant
// (GET /api/rooms/{id}/quality as the tutor, the session's owner).
// Saves a screenshot of the tutor's page with the shared screen
// (UPDATE_DOCS_SCREENSHOTS=1: docs/screenshots/group-call.png too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SHOTS, WAIT, WEB_DIR, createRoom, roomItem, signIn, startWebTest } from './browser_lib.mjs';
import { npmPackage } from '../lib/needs.mjs';

const { io } = npmPackage(WEB_DIR, 'socket.io-client');
const API_KEY = 'group-call-test-key';

// The tiles of remote cameras (or screens) on a page, and whether each one's
// <video> has frames and a clock that moves.
const remoteTiles = (kind) => `#videos .tile[data-kind="${kind}"]`;

async function videoPlays(page, selector) {
  await page.waitForFunction((sel) => {
    const v = document.querySelector(`${sel} video`);
    return v && v.videoWidth > 0 && v.readyState >= 2 && v.currentTime > 0;
  }, selector, WAIT);
  const t0 = await page.evaluate((sel) => document.querySelector(`${sel} video`).currentTime, selector);
  await page.waitForFunction(([sel, start]) => document.querySelector(`${sel} video`).currentTime > start + 0.5,
    [selector, t0], WAIT);
}

// Polls `probe` until it returns a truthy value, at most 20 s.
async function eventually(probe, what) {
  const end = Date.now() + WAIT.timeout;
  let last;
  for (let i = 0; i < 200 && Date.now() < end; i++) {
    last = await probe();
    if (last.ok) return last.value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not reached; last ${JSON.stringify(last)}`);
}

test('three participants: mesh call, screen share, one leaves', async (t) => {
  const { base, browser } = await startWebTest(t, 'group', ['--api-key', API_KEY]);
  const viewport = { width: 1100, height: 700 };
  const people = [['tess', 'Tess', 'tutor'], ['sam', 'Sam', 'student'], ['ana', 'Ana', 'student']];
  const pages = {};
  const errors = [];
  for (const [id, name, role] of people) {
    const ctx = await browser.newContext({ viewport, permissions: ['camera', 'microphone'] });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`${id}: ${e.message}`));
    await signIn(page, base, id, name, role);
    pages[id] = page;
  }
  const { tess, sam, ana } = pages;

  await createRoom(tess, 'session', 'Group lesson', 'sam, ana');
  await tess.waitForSelector('#room-title:text("Group lesson")', WAIT);
  for (const page of [sam, ana]) {
    await roomItem(page, 'Group lesson').click();
    await page.waitForSelector('#room-title:text("Group lesson")', WAIT);
  }
  await tess.waitForSelector('#member-list li[data-user=ana].online', { state: 'attached', ...WAIT });
  await tess.waitForSelector('#member-list li[data-user=sam].online', { state: 'attached', ...WAIT });
  const sid = {};
  for (const id of Object.keys(pages)) sid[id] = await pages[id].evaluate(() => window.chatd.socket.id);

  // The tutor starts; each student is rung and joins.
  await tess.click('#call-start');
  await sam.waitForSelector('#ring:not([hidden]) #ring-text:text("Tess is calling")', WAIT);
  await sam.click('#ring-join');
  await ana.waitForSelector('#ring:not([hidden]) #ring-text:text("Sam")', WAIT);
  await ana.click('#ring-join');

  // Every pair connected, both ways; every remote camera plays.
  for (const [id, page] of Object.entries(pages)) {
    for (const other of Object.keys(pages).filter((o) => o !== id)) {
      const tile = `${remoteTiles('camera')}[data-sid="${sid[other]}"]`;
      await page.waitForSelector(`${tile}[data-state=connected]`, WAIT);
      await videoPlays(page, tile);
    }
    assert.equal(await page.locator(remoteTiles('camera')).count(), 2, `${id} sees two cameras`);
    const labels = await page.locator(`${remoteTiles('camera')} figcaption`).allTextContents();
    assert.equal(labels.length, 2);
    for (const l of labels) assert.match(l, /^(Tess|Sam|Ana) · connected$/, `${id}'s tiles are labelled`);
  }

  // Sam shares a screen: one more tile on the others' pages, which plays.
  const samScreen = `${remoteTiles('screen')}[data-sid="${sid.sam}"]`;
  await sam.click('#call-share');
  await sam.waitForSelector('#local-screen:not([hidden])', WAIT);
  for (const page of [tess, ana]) {
    await page.waitForSelector(samScreen, WAIT);
    await videoPlays(page, samScreen);
    assert.equal(await page.locator(`${samScreen} figcaption`).textContent(), "Sam's screen");
  }
  fs.mkdirSync(SHOTS, { recursive: true });
  await tess.screenshot({ path: path.join(SHOTS, 'group-call.png') });
  if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
    await tess.screenshot({ path: path.join(WEB_DIR, '..', 'docs', 'screenshots', 'group-call.png') });
  }

  // ... and stops: the tile goes on both pages, the cameras stay.
  await sam.click('#call-share');
  await sam.waitForSelector('#local-screen', { state: 'hidden', ...WAIT });
  for (const page of [tess, ana]) {
    await page.waitForSelector(samScreen, { state: 'detached', ...WAIT });
    assert.equal(await page.locator(remoteTiles('camera')).count(), 2);
  }

  // chatd got rtc:stats from every participant (every 5 s per connection).
  const { token } = await (await fetch(`${base}/api/dev/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'tess' }),
  })).json();
  const room = await tess.evaluate(() => window.chatd.current);
  const quality = await eventually(async () => {
    const res = await fetch(`${base}/api/rooms/${encodeURIComponent(room)}/quality`, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.json();
    const who = new Set((body.participants ?? []).filter((p) => p.reports > 0).map((p) => p.userId));
    return { ok: res.status === 200 && ['tess', 'sam', 'ana'].every((u) => who.has(u)), value: body, status: res.status };
  }, 'stats from every participant');
  for (const p of quality.participants) assert.ok(p.kbpsIn === null || p.kbpsIn.max >= p.kbpsIn.min);
  assert.ok(quality.pairs.some((p) => p.from === 'sam' && p.to === 'tess'), 'pairs are kept');

  // Ana closes her page: both other grids drop her.
  await ana.context().close();
  for (const page of [tess, sam]) {
    await page.waitForSelector(`#videos .tile[data-sid="${sid.ana}"]`, { state: 'detached', ...WAIT });
    assert.equal(await page.locator(remoteTiles('camera')).count(), 1);
    await page.waitForSelector(`${remoteTiles('camera')}[data-state=connected]`, WAIT);
  }

  // A fifth person: four others (socket.io clients standing in for pages
  // in a full call) ring Cy, who is refused politely and keeps the camera off.
  const ring = await browser.newContext({ viewport, permissions: ['camera', 'microphone'] });
  const cy = await ring.newPage();
  cy.on('pageerror', (e) => errors.push(`cy: ${e.message}`));
  await signIn(cy, base, 'cy', 'Cy', 'student');
  const four = ['p1', 'p2', 'p3', 'p4'];
  const created = await fetch(`${base}/api/rooms`, {
    method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'session', title: 'Full lesson', createdBy: 'cy', members: four }),
  });
  assert.equal(created.status, 201);
  const fullRoom = (await created.json()).room.id;
  await roomItem(cy, 'Full lesson').click();
  await cy.waitForSelector('#room-title:text("Full lesson")', WAIT);
  const cySid = await cy.evaluate(() => window.chatd.socket.id);
  const sockets = [];
  try {
    for (const id of four) {
      const token = (await (await fetch(`${base}/api/dev/token`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: id }),
      })).json()).token;
      const s = io(base, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
      sockets.push(s);
      await s.timeout(5000).emitWithAck('room:join', { room: fullRoom });
      const ack = await s.timeout(5000).emitWithAck('rtc:offer', { room: fullRoom, to: cySid, sdp: { type: 'offer', sdp: 'v=0', screen: null } });
      assert.equal(ack.ok, true, JSON.stringify(ack));
    }
    await cy.waitForSelector('#ring:not([hidden]) #ring-text:text("p1, p2, p3, p4 are calling")', WAIT);
    await cy.click('#ring-join');
    await cy.waitForSelector('#banner:not([hidden]):text("This call is full: 4 people at most.")', WAIT);
    assert.equal(await cy.locator('#call').isHidden(), true, 'the call did not start');
    assert.equal(await cy.evaluate(() => window.chatd.call.inCall), false);
  } finally {
    for (const s of sockets) s.disconnect();
  }

  assert.deepEqual(errors, [], 'no uncaught errors in the pages');
});
