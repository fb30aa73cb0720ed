// End-to-end test of chatd's web client in a real browser: starts chatd
// (temporary data dir, ephemeral port, --dev, --static-dir = the built
// web-dist), drives Debian's chromium with playwright-core in two browser
// contexts (a tutor and a student) through chat both ways (typing, read
// receipts, unread count, reply, edit, delete, reactions, image
// attachment), a group
// whose owner adds and removes members, then a video
// call in a session room: both RTCPeerConnections must reach `connected`
// and the remote <video> must decode frames; after the student hangs up the
// tutor must show rtc:peer-left. Then a reconnection with a replayed
// message, and the end of the session. Saves screenshots of both pages.
//
// Environment (set by CTest): CHATD, WEB_DIST, WEB_DIR (for playwright-core
// from web/node_modules), CHROMIUM, SCREENSHOT_DIR; UPDATE_DOCS_SCREENSHOTS=1
// also writes docs/screenshots/. Every wait is for a condition, bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SHOTS, WAIT, WEB_DIR, createRoom, message, roomItem, signIn, startWebTest } from './browser_lib.mjs';

// A tiny valid PNG (2x2, red), for the attachment.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==', 'base64');

test('two users chat, then call each other, in Chromium', async (t) => {
  const { base, browser } = await startWebTest(t, 'chat');

  // chatd serves socket.io-client's browser bundle where Node's server does.
  const res = await fetch(base + '/socket.io/socket.io.js');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /javascript/);
  assert.equal(await res.text(), fs.readFileSync(path.join(WEB_DIR, 'node_modules/socket.io-client/dist/socket.io.min.js'), 'utf8'));
  const viewport = { width: 1180, height: 760 };
  const tutorCtx = await browser.newContext({ viewport, permissions: ['camera', 'microphone'] });
  const studentCtx = await browser.newContext({ viewport, permissions: ['camera', 'microphone'] });
  const tutor = await tutorCtx.newPage();
  const student = await studentCtx.newPage();
  const errors = [];
  for (const [who, page] of [['tutor', tutor], ['student', student]]) {
    page.on('pageerror', (e) => errors.push(`${who}: ${e.message}`));
  }

  await signIn(tutor, base, 'tess', 'Tess', 'tutor');
  await signIn(student, base, 'sam', 'Sam', 'student');

  // --- chat in a direct room
  await createRoom(tutor, 'direct', '', 'sam');
  await tutor.waitForSelector('#chat:not([hidden]) #room-title:text("sam")', WAIT);
  await tutor.fill('#text', 'Welcome to the course!');
  await tutor.press('#text', 'Enter');
  await message(tutor, 'Welcome to the course!').waitFor(WAIT);

  // The student was not looking: the room shows one unread and the preview.
  const samRoom = roomItem(student, 'tess');
  await samRoom.locator('.unread:text-is("1")').waitFor(WAIT);
  await samRoom.locator('.last:text("Tess: Welcome to the course!")').waitFor(WAIT);
  await samRoom.click();
  await message(student, 'Welcome to the course!').waitFor(WAIT);
  await samRoom.locator('.unread').waitFor({ state: 'detached', ...WAIT });
  // ... and the tutor sees the read receipt.
  await message(tutor, 'Welcome to the course!').locator('.receipt:text("Seen by Sam")').waitFor(WAIT);

  // Typing, both ways.
  await tutor.type('#text', 'How was');
  await student.waitForSelector('#typing:text("Tess is typing")', WAIT);
  await tutor.type('#text', ' the exercise?');
  await tutor.press('#text', 'Enter');
  await message(student, 'How was the exercise?').waitFor(WAIT);
  await student.waitForSelector('#typing:text-is("")', { state: 'attached', ...WAIT });

  await message(student, 'How was the exercise?').hover();
  await message(student, 'How was the exercise?').locator('button.reply').click();
  await student.type('#text', 'Hard, but I did it');
  await tutor.waitForSelector('#typing:text("Sam is typing")', WAIT);
  await student.press('#text', 'Enter');
  const reply = message(tutor, 'Hard, but I did it');
  await reply.locator('.quote:text("Tess: How was the exercise?")').waitFor(WAIT);
  await message(student, 'Hard, but I did it').locator('.receipt:text("Seen by Tess")').waitFor(WAIT);

  // Edit of one's own message, seen by the other.
  await message(student, 'Hard, but I did it').hover();
  await message(student, 'Hard, but I did it').locator('button.edit').click();
  await student.fill('#text', 'Hard, but I did it all');
  await student.press('#text', 'Enter');
  await message(tutor, 'Hard, but I did it all').locator('.meta:text("edited")').waitFor(WAIT);

  // Delete of one's own message: the other side shows it deleted.
  await student.fill('#text', 'oops, wrong chat');
  await student.press('#text', 'Enter');
  await message(tutor, 'oops, wrong chat').waitFor(WAIT);
  await message(student, 'oops, wrong chat').hover();
  await message(student, 'oops, wrong chat').locator('button.delete').click();
  await message(tutor, 'oops, wrong chat').waitFor({ state: 'detached', ...WAIT });
  await tutor.locator('#messages li.msg.deleted .text:text("message deleted")').waitFor(WAIT);

  // Reactions: Tess picks one, Sam sees it and adds his, Tess takes hers back.
  const welcome = (page) => message(page, 'Welcome to the course!');
  const reaction = (page, mine, n) => welcome(page).locator(`.reaction${mine ? '.mine' : ':not(.mine)'}[data-emoji="👍"] .count:text-is("${n}")`);
  await welcome(tutor).locator('button.react-add').click();
  await welcome(tutor).locator('.picker button[data-emoji="👍"]').click();
  await reaction(tutor, true, 1).waitFor(WAIT);
  await reaction(student, false, 1).waitFor(WAIT);
  await welcome(student).locator('.reaction[data-emoji="👍"]').click();
  await reaction(student, true, 2).waitFor(WAIT);
  await reaction(tutor, true, 2).waitFor(WAIT);
  await welcome(tutor).locator('.reaction[data-emoji="👍"]').click();
  await reaction(tutor, false, 1).waitFor(WAIT);
  await reaction(student, true, 1).waitFor(WAIT);

  // An image attachment, fetched with the token and shown from a blob: URL.
  await tutor.setInputFiles('#file-input', { name: 'diagram.png', mimeType: 'image/png', buffer: PNG });
  const img = student.locator('#messages li.msg img[alt="diagram.png"]');
  await img.waitFor(WAIT);
  await student.waitForFunction(() => {
    const i = document.querySelector('#messages li.msg img[alt="diagram.png"]');
    return i && i.src.startsWith('blob:') && i.complete && i.naturalWidth === 2;
  }, null, WAIT);

  // A group: the owner adds a member and removes another; the removed
  // user's room list drops the room.
  await createRoom(tutor, 'group', 'Study group', 'sam');
  await tutor.waitForSelector('#room-title:text("Study group")', WAIT);
  await roomItem(student, 'Study group').waitFor(WAIT);
  await tutor.click('#toggle-members');
  await tutor.fill('#add-member [name=userId]', 'rita');
  await tutor.click('#add-member button');
  await tutor.waitForSelector('#member-list li[data-user=rita]', { state: 'attached', ...WAIT });
  await tutor.locator('#member-list li[data-user=sam] button:text("Remove")').click();
  await tutor.waitForSelector('#member-list li[data-user=sam]', { state: 'detached', ...WAIT });
  await roomItem(student, 'Study group').waitFor({ state: 'detached', ...WAIT });
  await tutor.click('#toggle-members');
  await tutor.waitForSelector('#members', { state: 'hidden', ...WAIT });

  // --- a video call in a session room
  await createRoom(tutor, 'session', 'Algebra lesson', 'sam');
  await tutor.waitForSelector('#room-title:text("Algebra lesson")', WAIT);
  await roomItem(student, 'Algebra lesson').click();
  await student.waitForSelector('#room-title:text("Algebra lesson")', WAIT);
  await tutor.waitForSelector('#member-list li[data-user=sam].online', { state: 'attached', ...WAIT });
  await tutor.fill('#text', 'Camera on when you are ready.');
  await tutor.press('#text', 'Enter');
  await message(student, 'Camera on when you are ready.').waitFor(WAIT);

  await tutor.click('#call-start');
  await student.waitForSelector('#ring:not([hidden]) #ring-text:text("Tess is calling")', WAIT);
  await student.click('#ring-join');

  for (const page of [tutor, student]) {
    await page.waitForSelector('#videos .tile.remote[data-state=connected]', WAIT);
    // The remote video decodes frames: it has a size and its clock moves.
    await page.waitForFunction(() => {
      const v = document.querySelector('#videos .tile.remote video');
      return v && v.videoWidth > 0 && v.readyState >= 2 && v.currentTime > 0;
    }, null, WAIT);
    const t0 = await page.evaluate(() => document.querySelector('#videos .tile.remote video').currentTime);
    await page.waitForFunction((start) => document.querySelector('#videos .tile.remote video').currentTime > start + 0.5, t0, WAIT);
    const local = await page.evaluate(() => document.querySelector('#local-video').videoWidth);
    assert.ok(local > 0, 'the local camera preview shows');
  }
  await student.fill('#text', 'I can see you!');
  await student.press('#text', 'Enter');
  await message(tutor, 'I can see you!').waitFor(WAIT);
  await tutor.click('#toggle-members');
  await tutor.waitForSelector('#members:not([hidden])', WAIT);

  fs.mkdirSync(SHOTS, { recursive: true });
  await tutor.screenshot({ path: path.join(SHOTS, 'tutor.png') });
  await student.screenshot({ path: path.join(SHOTS, 'student.png') });
  if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
    const docs = path.join(WEB_DIR, '..', 'docs', 'screenshots');
    fs.mkdirSync(docs, { recursive: true });
    await tutor.screenshot({ path: path.join(docs, 'web-client-tutor.png') });
    await student.screenshot({ path: path.join(docs, 'web-client-student.png') });
  }

  // --- the student hangs up: the tutor handles rtc:peer-left
  await student.click('#call-hangup');
  await student.waitForSelector('#call', { state: 'hidden', ...WAIT });
  await tutor.waitForSelector('#videos .tile.remote', { state: 'detached', ...WAIT });
  await tutor.waitForSelector('#call-state[data-peer-left="Sam"]', { state: 'attached', ...WAIT });
  await tutor.waitForSelector('#call-state:text("Sam left the call")', WAIT);
  // The student is back in the room's chat and still gets messages.
  await tutor.fill('#text', 'See you next week.');
  await tutor.press('#text', 'Enter');
  await message(student, 'See you next week.').waitFor(WAIT);

  // --- reconnection: the student drops off, misses a message, comes back
  // and gets it replayed (room:join with afterSeq), with a banner.
  await student.evaluate(() => { window.chatd.socket.io.reconnection(false); window.chatd.socket.io.engine.close(); });
  await student.waitForSelector('#banner:not([hidden]):text("Connection lost")', WAIT);
  await tutor.waitForSelector('#member-list li[data-user=sam]:not(.online)', { state: 'attached', ...WAIT });
  await tutor.fill('#text', 'Homework: page 12.');
  await tutor.press('#text', 'Enter');
  await message(tutor, 'Homework: page 12.').waitFor(WAIT);
  await student.evaluate(() => { window.chatd.socket.io.reconnection(true); window.chatd.socket.connect(); });
  await student.waitForSelector('#banner:not([hidden]):text("Reconnected. 1 missed message replayed.")', WAIT);
  await message(student, 'Homework: page 12.').waitFor(WAIT);

  // --- the tutor ends the session: both pages show it ended.
  await tutor.click('#session-end');
  for (const page of [tutor, student]) {
    await page.waitForSelector('#room-meta:text("session · ended")', WAIT);
    await page.waitForSelector('#composer', { state: 'hidden', ...WAIT });
  }

  assert.deepEqual(errors, [], 'no uncaught errors in the pages');
});
