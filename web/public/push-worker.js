// chatd's service worker: shows the notification chatd pushes when a
// message arrives in a room where none of the user's tabs is (payload:
// docs/protocol.md, "What a push carries"), and opens the chat on a click.
// At the site's root so that its scope is the whole client.

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { text: event.data ? event.data.text() : '' };
  }
  const more = data.messages > 1 ? ` (+${data.messages - 1} more)` : '';
  const title = data.roomTitle || data.senderName || 'New message';
  const body = `${data.senderName ? `${data.senderName}: ` : ''}${data.text || ''}${more}`;
  event.waitUntil(self.registration.showNotification(title, {
    body,
    tag: `room:${data.room}`,  // one notification per room, replaced by the newest
    renotify: true,
    data: { room: data.room },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    if (open.length) return open[0].focus();
    return self.clients.openWindow('/');
  })());
});
