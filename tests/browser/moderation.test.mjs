// The web client's moderation in Chromium (web/public/js/moderation.js):
// the owner makes a member a moderator, who then mutes a third member (the
// muted member sees it in the composer and cannot send), unmutes them and
// deletes their message; the owner sets slow mode, which everyone sees.
// Shares chatd, Chromium and the page steps with chat_call.test.mjs
// (browser_lib.mjs). Every wait is for a condition, bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SHOTS, WAIT, createRoom, message, roomItem, signIn, startWebTest } from './browser_lib.mjs';

test('an owner, a moderator and a muted member, in Chromium', async (t) => {
  const { base, browser } = await startWebTest(t, 'mod');
  const viewport = { width: 1180, height: 760 };
  const [owner, mod, member] = await Promise.all([0, 1, 2].map(async () => (await browser.newContext({ viewport })).newPage()));
  const errors = [];
  for (const [who, page] of [['owner', owner], ['mod', mod], ['member', member]])
    page.on('pageerror', (e) => errors.push(`${who}: ${e.message}`));

  await signIn(owner, base, 'olga', 'Olga', 'tutor');
  await signIn(mod, base, 'max', 'Max', 'student');
  await signIn(member, base, 'mia', 'Mia', 'student');
  await createRoom(owner, 'group', 'Course chat', 'max,mia');
  await owner.waitForSelector('#room-title:text("Course chat")', WAIT);
  for (const page of [mod, member]) {
    await roomItem(page, 'Course chat').click(WAIT);
    await page.waitForSelector('#room-title:text("Course chat")', WAIT);
    await page.click('#toggle-members');
  }
  await owner.click('#toggle-members');

  // Members see no moderation buttons; the owner does.
  const li = (page, user) => page.locator(`#member-list li[data-user=${user}]`);
  await li(owner, 'max').locator('button.make-moderator').waitFor(WAIT);
  await li(member, 'max').waitFor(WAIT);
  assert.equal(await member.locator('#member-list button.mute, #member-list button.make-moderator').count(), 0);
  await member.waitForSelector('#moderation .slowmode:text("Slow mode: off")', WAIT);

  // The owner makes Max a moderator; Max gets the buttons, not on the owner.
  await li(owner, 'max').locator('button.make-moderator').click();
  await li(mod, 'max').locator('small:text("moderator")').waitFor(WAIT);
  await li(mod, 'mia').locator('button.mute').waitFor(WAIT);
  assert.equal(await li(mod, 'olga').locator('button').count(), 0);

  // Max mutes Mia: she sees it in the composer, and her send is refused.
  await li(mod, 'mia').locator('button.mute').click();
  await member.waitForSelector('#text[placeholder^="You are muted until"]', WAIT);
  await li(owner, 'mia').locator('.muted-label').waitFor(WAIT);
  await member.fill('#text', 'can I talk?');
  await member.press('#text', 'Enter');
  await member.waitForSelector('#banner:text("Not sent: you are muted in")', WAIT);
  await message(owner, 'Max muted Mia until').waitFor(WAIT);

  // Unmuted, she writes; the moderator deletes her message for everyone.
  await li(mod, 'mia').locator('button.unmute').click();
  await member.waitForSelector('#text[placeholder="Write a message"]', WAIT);
  await member.fill('#text', 'buy cheap watches');
  await member.press('#text', 'Enter');
  await message(mod, 'buy cheap watches').hover(WAIT);
  await message(mod, 'buy cheap watches').locator('button.delete').click();
  await message(owner, 'buy cheap watches').waitFor({ state: 'detached', ...WAIT });

  // Slow mode set by the owner, shown to the others.
  await owner.selectOption('#slowmode-select', '30');
  await member.waitForSelector('#moderation .slowmode:text("Slow mode: 1 message / 30 s")', WAIT);
  await mod.waitForFunction(() => document.querySelector('#slowmode-select')?.value === '30', null, WAIT);

  fs.mkdirSync(SHOTS, { recursive: true });
  await mod.screenshot({ path: path.join(SHOTS, 'moderation.png') });
  assert.deepEqual(errors, []);
});
