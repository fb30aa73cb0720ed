// The client's wire layer: REST calls to chatd (dev token, attachments,
// ICE servers) and a thin promise wrapper over socket.io-client's acks.
// socket.io-client is the global `io` from /socket.io/socket.io.js.

export class ApiError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

async function json(res) {
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = body.error || {};
    throw new ApiError(e.code || String(res.status), e.message || res.statusText);
  }
  return body;
}

// POST /api/dev/token: only when chatd runs with --dev.
export async function devToken(userId, name, role) {
  const res = await fetch('/api/dev/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ userId, name, role }),
  });
  return (await json(res)).token;
}

export async function iceServers(token) {
  const res = await fetch('/api/ice-servers', { headers: { Authorization: `Bearer ${token}` } });
  return (await json(res)).iceServers || [];
}

// Raw-body upload; resolves to {url, name, size, mime}.
export async function uploadAttachment(token, room, file) {
  const res = await fetch(`/api/rooms/${encodeURIComponent(room)}/attachments?name=${encodeURIComponent(file.name)}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': file.type || 'application/octet-stream' },
    body: file,
  });
  return (await json(res)).attachment;
}

// Attachments need the bearer token, so <img src> cannot load them
// directly: fetch once, show through a blob: URL (cached per url).
const blobs = new Map();
export function attachmentBlobUrl(token, url) {
  if (!url.startsWith('/api/attachments/')) return Promise.resolve(url);
  if (!blobs.has(url)) {
    blobs.set(url, fetch(url, { headers: { Authorization: `Bearer ${token}` } }).then(async (res) => {
      if (!res.ok) throw new ApiError(String(res.status), 'attachment not available');
      return URL.createObjectURL(await res.blob());
    }));
  }
  return blobs.get(url);
}

// socket.emit with an ack, as a promise: resolves the ack's payload when
// ok, rejects with ApiError otherwise or when no ack comes in time.
export function request(socket, event, payload, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    socket.timeout(timeoutMs).emit(event, payload, (err, ack) => {
      if (err) return reject(new ApiError('timeout', `${event}: no answer`));
      if (!ack || !ack.ok) {
        const e = (ack && ack.error) || {};
        return reject(new ApiError(e.code || 'internal', e.message || `${event} failed`));
      }
      resolve(ack);
    });
  });
}

export function connect(token) {
  // eslint-disable-next-line no-undef
  return io({ auth: { token }, reconnectionDelay: 500, reconnectionDelayMax: 3000 });
}
