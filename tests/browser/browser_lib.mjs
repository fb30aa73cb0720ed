// What the browser tests share: the environment CTest sets, chatd started
// with the built web client and stopped with SIGTERM, Chromium launched
// headless with fake media, and the page steps every test needs (sign in,
// create a room, find a room or a message). Every wait is bounded.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { npmPackage, program } from '../lib/needs.mjs';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run this test through ctest)`);
  return v;
};
export const CHATD = env('CHATD');
export const WEB_DIST = env('WEB_DIST');
export const WEB_DIR = env('WEB_DIR');
export const CHROMIUM = program(process.env.CHROMIUM || '/usr/bin/chromium', 'chromium');
export const SHOTS = process.env.SCREENSHOT_DIR || path.join(os.tmpdir(), 'chatd-browser-shots');
export const WAIT = { timeout: 20000 };

const { chromium } = npmPackage(WEB_DIR, 'playwright-core');

// Starts chatd and resolves {proc, base, log} once its "chatd listening"
// line (logfmt on stderr) names the port. `extra`: more chatd options.
export function startChatd(dataDir, extra = []) {
  const proc = spawn(CHATD, ['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--dev',
    '--static-dir', WEB_DIST, '--log-level', 'info', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chatd did not start:\n${log}`)), 15000);
    proc.on('exit', (code) => reject(new Error(`chatd exited (${code}):\n${log}`)));
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk) => {
      log += chunk;
      const line = log.split('\n').find((l) => l.includes('chatd listening'));
      const m = line && /\bport=(\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, base: `http://127.0.0.1:${m[1]}`, log: () => log });
      }
    });
  });
}

export function stopChatd(proc) {
  if (proc.exitCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
    proc.removeAllListeners('exit');
    proc.on('exit', (code) => { clearTimeout(timer); resolve(code); });
    proc.kill('SIGTERM');
  });
}

// Headless Chromium with a fake camera, microphone and screen (the fake UI
// accepts getUserMedia and getDisplayMedia). playwright gives every launch a
// fresh temporary profile; the other flags keep Chromium off the network.
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream'],
    timeout: 30000,
  });
}

export async function signIn(page, base, userId, name, role) {
  await page.goto(base + '/');
  await page.fill('#login [name=userId]', userId);
  await page.fill('#login [name=name]', name);
  await page.selectOption('#login [name=role]', role);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#app:not([hidden]) #conn-state:text("online")', WAIT);
}

export async function createRoom(page, kind, title, members) {
  await page.selectOption('#new-room [name=kind]', kind);
  await page.fill('#new-room [name=title]', title);
  await page.fill('#new-room [name=members]', members);
  await page.click('#new-room button[type=submit]');
}

export const roomItem = (page, title) => page.locator('#rooms li', { has: page.locator('.title', { hasText: title }) });
export const message = (page, text) => page.locator('#messages li.msg', { has: page.locator('.text', { hasText: text }) });

// What every browser test starts with: chatd on a fresh data directory and
// one Chromium. When the test ends both are stopped, the directory removed,
// and chatd must have exited 0.
export async function startWebTest(t, name, chatdArgs = []) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `chatd-browser-${name}-`));
  const { proc, base, log } = await startChatd(dataDir, chatdArgs);
  let browser;
  t.after(async () => {
    await browser?.close().catch(() => {});
    const code = await stopChatd(proc);
    fs.rmSync(dataDir, { recursive: true, force: true });
    assert.equal(code, 0, `chatd exit code:\n${log()}`);
  });
  browser = await launchChromium();
  return { base, browser, log };
}
