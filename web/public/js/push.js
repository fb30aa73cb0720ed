// Web Push in the web client: registers the service worker
// (/push-worker.js), and on the "Notify me" button asks for permission,
// subscribes with chatd's VAPID key and registers the subscription over
// REST (docs/protocol.md, "Notifications for members who are away"). The
// worker shows what chatd pushes while no tab of the user is in the room.
// The button stays hidden where the browser or chatd (no --vapid-key)
// cannot do it.

import { ApiError } from './api.js';

const b64urlToBytes = (s) => {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
};

async function register(token, subscription) {
  const res = await fetch('/api/push/subscriptions', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(subscription.toJSON()),
  });
  if (!res.ok) {
    const e = (await res.json().catch(() => ({}))).error || {};
    throw new ApiError(e.code || String(res.status), e.message || 'cannot register for notifications');
  }
}

function show(button, state, text) {
  button.hidden = false;
  button.dataset.state = state;
  button.textContent = text;
}

// Sets up `button` for the signed-in user (`getToken()` gives the current token).
export async function initPush(button, getToken) {
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) return;
  const keyRes = await fetch('/api/push/vapid-public-key').catch(() => null);
  if (!keyRes || !keyRes.ok) return;  // chatd runs without --vapid-key
  const { publicKey } = await keyRes.json();
  const reg = await navigator.serviceWorker.register('/push-worker.js');
  await navigator.serviceWorker.ready;
  // Already subscribed in this browser: make sure chatd has it for this user.
  const existing = Notification.permission === 'granted' ? await reg.pushManager.getSubscription() : null;
  if (existing) {
    await register(getToken(), existing).catch((e) => console.warn('push register', e));
    show(button, 'on', 'Notifications on');
  } else if (Notification.permission === 'denied') {
    show(button, 'denied', 'Notifications blocked');
    button.disabled = true;
  } else {
    show(button, 'off', 'Notify me');
  }
  button.onclick = async () => {
    if (button.dataset.state === 'on') return;
    try {
      if ((await Notification.requestPermission()) !== 'granted') {
        show(button, 'denied', 'Notifications blocked');
        return;
      }
      const sub = (await reg.pushManager.getSubscription()) ||
        (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlToBytes(publicKey) }));
      await register(getToken(), sub);
      show(button, 'on', 'Notifications on');
    } catch (e) {
      console.warn('push subscribe', e);
      show(button, 'off', 'Notify me (failed, retry)');
    }
  };
}
