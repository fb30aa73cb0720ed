// chatd web client: the page's state and rendering. Signs in with a dev
// token, keeps one socket.io connection, joins the user's direct and group
// rooms (so unread counts and last messages stay live) and a session room
// when it is opened, and renders the room list, the chat, the members and
// the call. After a reconnection every joined room is re-joined with
// afterSeq, so chatd replays what was missed.
import { ApiError, attachmentBlobUrl, connect, devToken, iceServers, request, uploadAttachment } from './api.js';
import { Call, MAX_PARTICIPANTS } from './call.js';
import { initPush } from './push.js';
import * as reactions from './reactions.js';
import { canModerate, loadModeration, memberControls, mutedNotice, noteModeration, slowModeControl } from './moderation.js';

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
};

const state = {
  token: null,
  me: null,            // {userId, name, role}
  socket: null,
  everConnected: false,
  rooms: new Map(),    // id -> {room, lastMessage, unread}
  rs: new Map(),       // id -> RoomState of joined rooms
  current: null,       // open room id
  replyTo: null,       // message being replied to
  editing: null,       // message being edited
  call: null,          // Call in the open session room
  typingSent: false,
  typingRefresh: 0,
  typingIdle: null,
};

// What the client knows about one joined room.
function roomState(id) {
  if (!state.rs.has(id)) {
    state.rs.set(id, {
      id,
      messages: new Map(),  // seq -> message
      hasMoreOlder: true,
      loadingOlder: false,
      lastSeq: 0,           // the highest seq received (afterSeq on rejoin)
      reads: new Map(),     // userId -> seq
      presence: new Map(),  // userId -> {userId,name,role,online,lastSeen}
      peers: new Map(),     // sid -> {sid,userId,name,role}
      typing: new Map(),    // userId -> name
      joined: false,
    });
  }
  return state.rs.get(id);
}

function showError(target, e) {
  $(target).textContent = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e.message || e);
}

function banner(text, ok = false) {
  const b = $('banner');
  clearTimeout(banner.timer);
  if (!text) { b.hidden = true; return; }
  b.textContent = text;
  b.className = ok ? 'banner ok' : 'banner';
  b.hidden = false;
  if (ok) banner.timer = setTimeout(() => { b.hidden = true; }, 4000);
}

// ---------------------------------------------------------------- sign-in

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const me = { userId: f.get('userId').trim(), name: f.get('name').trim(), role: f.get('role') };
  try {
    state.token = await devToken(me.userId, me.name, me.role);
  } catch (e) {
    showError('login-error', e);
    return;
  }
  state.me = me;
  $('me-name').textContent = me.name;
  $('me-role').textContent = `${me.userId} · ${me.role}`;
  start();
});

function start() {
  const s = connect(state.token);
  state.socket = s;
  reactions.init({ request: (event, payload) => request(s, event, payload), changed: () => renderMessages(),
    failed: (e) => banner(`Reaction failed: ${e.message}`) });
  window.chatd = state;  // for debugging in the console
  s.on('connect', onConnect);
  s.on('disconnect', (reason) => {
    $('conn-state').textContent = 'offline';
    $('conn-state').className = 'conn off';
    for (const rs of state.rs.values()) { rs.joined = false; rs.peers.clear(); rs.typing.clear(); }
    if (state.call) endCall('Call dropped: the connection was lost.');
    if (reason !== 'io client disconnect') banner('Connection lost. Reconnecting…');
    renderChat();
  });
  s.on('connect_error', (err) => {
    if (err.message === 'unauthorized') {
      $('login-error').textContent = 'unauthorized';
      $('app').hidden = true;
      $('login').hidden = false;
    }
  });
  s.on('message:new', ({ message }) => { reactions.fromMessage(message); onMessage(message); });
  s.on('message:reactions', (e) => {
    reactions.onEvent(e);
    if (e.room === state.current) renderMessages();
  });
  s.on('message:edited', ({ message }) => onMessage(message, true));
  s.on('message:deleted', ({ room, id }) => {
    const rs = state.rs.get(room);
    const m = rs && [...rs.messages.values()].find((x) => x.id === id);
    if (m) onMessage({ ...m, deleted: true, text: '', attachment: null }, true);
  });
  s.on('message:read', ({ room, userId, seq }) => {
    const rs = roomState(room);
    if ((rs.reads.get(userId) ?? 0) < seq) rs.reads.set(userId, seq);
    if (room === state.current) renderMessages();
  });
  s.on('typing', ({ room, userId, name, typing }) => {
    const rs = roomState(room);
    if (typing) rs.typing.set(userId, name || userId); else rs.typing.delete(userId);
    if (room === state.current) renderTyping();
  });
  s.on('presence:join', ({ room, peer }) => {
    const rs = roomState(room);
    rs.peers.set(peer.sid, peer);
    const p = rs.presence.get(peer.userId) ?? { userId: peer.userId, lastSeen: null };
    rs.presence.set(peer.userId, { ...p, name: peer.name, role: peer.role, online: true });
    if (room === state.current) {
      renderMembers();
      state.call?.onPeerJoined(peer.sid);
    }
  });
  s.on('presence:leave', ({ room, sid, userId }) => {
    const rs = roomState(room);
    rs.peers.delete(sid);
    rs.typing.delete(userId);
    if (![...rs.peers.values()].some((p) => p.userId === userId)) refreshPresence(room);
    if (room === state.current) { renderMembers(); renderTyping(); }
  });
  s.on('notification', onNotification);
  s.on('session:state', ({ room, status, startedAt }) => {
    const r = state.rooms.get(room);
    if (r) { r.room.status = status; r.room.startedAt = startedAt; }
    if (room === state.current) renderHeader();
  });
  s.on('session:ended', ({ room, endedAt, durationSec }) => {
    const r = state.rooms.get(room);
    if (r) { r.room.status = 'ended'; r.room.endedAt = endedAt; }
    const rs = state.rs.get(room);
    if (rs) { rs.joined = false; rs.peers.clear(); }
    if (room === state.current) {
      if (state.call) endCall(`The session ended after ${Math.floor(durationSec / 60)} min ${durationSec % 60} s.`);
      else banner(`The session ended after ${Math.floor(durationSec / 60)} min ${durationSec % 60} s.`, true);
      renderHeader();
      renderMembers();
    }
  });
  const forCall = (handler) => (payload) => {
    if (state.call && payload.room === state.call.room) handler(payload);
  };
  s.on('rtc:offer', forCall((p) => {
    state.call.onOffer(p).catch((e) => console.warn('offer', e));
  }));
  s.on('rtc:answer', forCall((p) => state.call.onAnswer(p).catch((e) => console.warn('answer', e))));
  s.on('rtc:ice', forCall((p) => state.call.onIce(p)));
  s.on('rtc:peer-left', forCall((p) => {
    const who = roomState(p.room).presence.get(p.userId)?.name ?? p.userId;
    const wasInCall = state.call.peers.has(p.sid);
    state.call.onPeerLeft(p);
    if (wasInCall) $('call-state').dataset.peerLeft = who;
    renderCallState(wasInCall ? `${who} left the call` : null);
  }));
  s.on('error', (e) => console.warn('chatd error', e));
}

async function onConnect() {
  $('conn-state').textContent = 'online';
  $('conn-state').className = 'conn';
  const again = state.everConnected;
  state.everConnected = true;
  $('login').hidden = true;
  $('app').hidden = false;
  if (!state.pushStarted) {  // Web Push (push.js), once per page
    state.pushStarted = true;
    initPush($('push-toggle'), () => state.token).catch((e) => console.warn('push', e));
  }
  try {
    await loadRooms();
  } catch (e) {
    banner(`Cannot list the rooms: ${e.message}`);
    return;
  }
  // Join the chats (not the sessions: joining starts them) so that their
  // new messages arrive live, then the open room, replaying what was missed.
  let replayed = 0;
  const toJoin = [...state.rooms.values()].filter((r) => r.room.kind !== 'session' && r.room.status !== 'ended').map((r) => r.room.id);
  if (state.current && !toJoin.includes(state.current)) toJoin.push(state.current);
  for (const id of toJoin) {
    try { replayed += await joinRoom(id); } catch (e) { console.warn('join', id, e); }
  }
  if (again) banner(`Reconnected. ${replayed} missed message${replayed === 1 ? '' : 's'} replayed.`, true);
  renderRooms();
  renderChat();
}

// room:join (with afterSeq when the room was seen before); returns how
// many messages chatd replayed.
async function joinRoom(id, joinToken) {
  const rs = roomState(id);
  const before = rs.lastSeq;
  const payload = { room: id };
  if (joinToken) payload.joinToken = joinToken;
  if (rs.lastSeq > 0) payload.afterSeq = rs.lastSeq;
  const ack = await request(state.socket, 'room:join', payload);
  rs.joined = true;
  upsertRoom(ack.room);
  rs.peers = new Map(ack.peers.map((p) => [p.sid, p]));
  rs.presence = new Map(ack.presence.map((p) => [p.userId, p]));
  for (const r of ack.reads) if ((rs.reads.get(r.userId) ?? 0) < r.seq) rs.reads.set(r.userId, r.seq);
  const entry = state.rooms.get(id);
  if (entry && id !== state.current) entry.unread = ack.unread;
  if (ack.lastSeq === 0) rs.hasMoreOlder = false;
  // A cut-short replay resumes after its last message: live ones may
  // already have arrived past the gap.
  if (ack.replayTruncated) await catchUp(rs, ack.replayLastSeq ?? before);
  if (rs.messages.size === 0 && ack.lastSeq > 0) await loadNewest(rs);
  return before > 0 ? rs.lastSeq - before : 0;
}

async function catchUp(rs, after) {
  for (;;) {
    const h = await request(state.socket, 'message:history', { room: rs.id, after, limit: 200 });
    for (const m of h.messages) addMessage(rs, m);
    if (!h.hasMore || h.messages.length === 0) break;
    after = h.messages[h.messages.length - 1].seq;
  }
}

async function loadNewest(rs) {
  const h = await request(state.socket, 'message:history', { room: rs.id, limit: 30 });
  for (const m of h.messages) { reactions.fromMessage(m); addMessage(rs, m); }
  rs.hasMoreOlder = h.hasMore;
}

async function loadOlder() {
  const rs = state.rs.get(state.current);
  if (!rs || rs.loadingOlder || !rs.hasMoreOlder || rs.messages.size === 0) return;
  rs.loadingOlder = true;
  try {
    const oldest = Math.min(...rs.messages.keys());
    const h = await request(state.socket, 'message:history', { room: rs.id, before: oldest, limit: 30 });
    for (const m of h.messages) { reactions.fromMessage(m); addMessage(rs, m); }
    rs.hasMoreOlder = h.hasMore;
    const list = $('messages');
    const fromBottom = list.scrollHeight - list.scrollTop;
    renderMessages();
    list.scrollTop = list.scrollHeight - fromBottom;  // keep the reader's place
  } finally {
    rs.loadingOlder = false;
  }
}

async function loadRooms() {
  const seen = new Set();
  // Page by page: a user in very many rooms gets them in several answers.
  for (let cursor = null, pages = 0; pages < 1000; pages++) {
    const ack = await request(state.socket, 'rooms:list', cursor ? { cursor } : {});
    for (const r of ack.rooms) {
      seen.add(r.room.id);
      state.rooms.set(r.room.id, { room: r.room, lastMessage: r.lastMessage, unread: r.room.id === state.current ? 0 : r.unread });
    }
    if (!ack.hasMore) break;
    cursor = ack.nextCursor;
  }
  for (const id of [...state.rooms.keys()]) if (!seen.has(id)) state.rooms.delete(id);
}

function upsertRoom(room) {
  const e = state.rooms.get(room.id);
  if (e) e.room = room; else state.rooms.set(room.id, { room, lastMessage: null, unread: 0 });
}

async function refreshPresence(room) {
  try {
    const ack = await request(state.socket, 'presence:list', { room });
    const rs = roomState(room);
    rs.presence = new Map(ack.presence.map((p) => [p.userId, p]));
    if (room === state.current) renderMembers();
  } catch (e) { /* left the room meanwhile */ }
}

async function onNotification(n) {
  noteModeration(n);
  const mine = n.userId === state.me.userId;
  if (n.type === 'member-removed' && mine) {
    state.rooms.delete(n.room.id);
    state.rs.delete(n.room.id);
    if (state.current === n.room.id) { state.current = null; if (state.call) endCall(null); }
  } else {
    const fresh = !state.rooms.has(n.room.id);
    upsertRoom(n.room);
    if (fresh && n.room.kind !== 'session') joinRoom(n.room.id).then(renderRooms).catch((e) => console.warn(e));
  }
  renderRooms();
  renderChat();
}

function onMessage(m, update = false) {
  const rs = roomState(m.room);
  const known = rs.messages.has(m.seq);
  addMessage(rs, m);
  const entry = state.rooms.get(m.room);
  if (entry && (!entry.lastMessage || entry.lastMessage.seq <= m.seq)) entry.lastMessage = m;
  if (!update && !known && entry && m.room !== state.current && m.senderId !== state.me.userId && !m.deleted) entry.unread++;
  if (m.room === state.current) {
    const list = $('messages');
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
    renderMessages();
    if (atBottom || m.senderId === state.me.userId) list.scrollTop = list.scrollHeight;
    markRead();
  }
  renderRooms();
}

function addMessage(rs, m) {
  rs.messages.set(m.seq, m);
  if (m.seq > rs.lastSeq) rs.lastSeq = m.seq;
}

function markRead() {
  const rs = state.rs.get(state.current);
  if (!rs || !rs.joined || document.visibilityState === 'hidden') return;
  const mine = rs.reads.get(state.me.userId) ?? 0;
  if (rs.lastSeq > mine) {
    rs.reads.set(state.me.userId, rs.lastSeq);
    request(state.socket, 'message:read', { room: rs.id, seq: rs.lastSeq }).catch((e) => console.warn('read', e));
  }
  const entry = state.rooms.get(rs.id);
  if (entry) entry.unread = 0;
}
document.addEventListener('visibilitychange', markRead);

// ---------------------------------------------------------------- rooms

function roomTitle(room) {
  if (room.title) return room.title;
  const others = room.members.map((m) => m.userId).filter((u) => u !== state.me.userId);
  return others.join(', ') || room.id;
}

function activity(e) { return e.lastMessage?.createdAt ?? e.room.createdAt ?? ''; }

function renderRooms() {
  const list = $('rooms');
  list.replaceChildren();
  const entries = [...state.rooms.values()].sort((a, b) => activity(b).localeCompare(activity(a)));
  for (const e of entries) {
    const lm = e.lastMessage;
    let preview = '';
    if (lm) {
      const body = lm.deleted ? 'message deleted' : lm.type === 'image' ? '[image]' : lm.type === 'file' ? `[file] ${lm.attachment?.name ?? ''}` : lm.text;
      preview = lm.type === 'system' ? body : `${lm.senderName}: ${body}`;
    }
    list.append(el('li', {
      class: e.room.id === state.current ? 'active' : '',
      dataset: { room: e.room.id },
      onclick: () => openRoom(e.room.id),
    },
    el('span', { class: 'title' }, roomTitle(e.room)),
    e.unread > 0 ? el('span', { class: 'unread' }, String(e.unread)) : el('span', { class: 'kind' }, e.room.kind === 'session' ? `session · ${e.room.status}` : e.room.kind),
    el('span', { class: 'last' }, preview)));
  }
}

$('new-room').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const members = f.get('members').split(',').map((x) => x.trim()).filter(Boolean);
  const payload = { kind: f.get('kind'), members };
  if (f.get('title').trim()) payload.title = f.get('title').trim();
  $('new-room-error').textContent = '';
  try {
    const ack = await request(state.socket, 'room:create', payload);
    upsertRoom(ack.room);
    ev.target.reset();
    await openRoom(ack.room.id);
  } catch (e) {
    showError('new-room-error', e);
  }
});

async function openRoom(id) {
  if (state.call && state.call.room !== id) endCall(null);
  setTyping(false);
  state.current = id;
  state.replyTo = state.editing = null;
  const rs = roomState(id);
  const entry = state.rooms.get(id);
  if (!rs.joined && entry && entry.room.status !== 'ended') {
    try { await joinRoom(id); } catch (e) { banner(`Cannot open the room: ${e.message}`); }
  } else if (rs.messages.size === 0) {
    await loadNewest(rs).catch((e) => console.warn(e));  // an ended session: history only
  }
  renderRooms();
  renderChat();
  loadModeration(state.socket, id).then(() => { if (state.current === id) renderChat(); }).catch((e) => console.warn(e));
  $('messages').scrollTop = $('messages').scrollHeight;
  markRead();
  renderRooms();
}

// ---------------------------------------------------------------- chat view

function myRole(room) { return room.members.find((m) => m.userId === state.me.userId)?.role; }

function renderChat() {
  const entry = state.current && state.rooms.get(state.current);
  $('chat').hidden = !entry;
  $('empty').hidden = !!entry;
  if (!entry) return;
  ensureCall();  // in a session room, so that incoming offers ring
  renderHeader();
  renderMessages();
  renderMembers();
  renderTyping();
  renderCompose();
}

function renderHeader() {
  const entry = state.rooms.get(state.current);
  if (!entry) return;
  const r = entry.room;
  $('room-title').textContent = roomTitle(r);
  const rs = state.rs.get(r.id);
  const online = rs ? new Set([...rs.presence.values()].filter((p) => p.online).map((p) => p.userId)).size : 0;
  $('room-meta').textContent = `${r.kind}${r.kind === 'session' ? ` · ${r.status}` : ''} · ${r.members.length} members · ${online} online`;
  const live = r.kind === 'session' && r.status !== 'ended';
  $('call-start').hidden = !live || !!state.call?.inCall;
  $('session-end').hidden = !live;
  $('composer').hidden = r.status === 'ended';
  const muted = mutedNotice(r, state.me);
  $('composer').classList.toggle('muted', !!muted);
  $('text').placeholder = muted ?? 'Write a message';
}

function fmtTime(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
}

function renderMessages() {
  const rs = state.rs.get(state.current);
  const list = $('messages');
  const items = rs ? [...rs.messages.values()].sort((a, b) => a.seq - b.seq) : [];
  const byId = new Map(items.map((m) => [m.id, m]));
  const entry = state.rooms.get(state.current);
  const owner = entry && myRole(entry.room) === 'owner';
  const nodes = [];
  if (rs && rs.hasMoreOlder && items.length) nodes.push(el('li', { class: 'msg system' }, 'Scroll up for older messages'));
  for (const m of items) {
    const mine = m.senderId === state.me.userId;
    const cls = ['msg', mine ? 'mine' : '', m.type === 'system' ? 'system' : '', m.deleted ? 'deleted' : ''].join(' ');
    const li = el('li', { class: cls, dataset: { seq: m.seq, id: m.id } });
    if (m.type === 'system') {
      li.append(el('span', { class: 'text' }, m.text));
      nodes.push(li);
      continue;
    }
    if (!mine) li.append(el('div', { class: 'who' }, `${m.senderName} `, el('small', {}, m.senderRole)));
    if (m.replyTo) {
      const q = byId.get(m.replyTo);
      li.append(el('div', { class: 'quote' }, q ? `${q.senderName}: ${q.deleted ? 'message deleted' : q.text || q.attachment?.name || ''}` : 'an earlier message'));
    }
    li.append(el('div', { class: 'text' }, m.deleted ? 'message deleted' : m.text));
    if (!m.deleted && m.attachment) li.append(renderAttachment(m));
    const meta = el('div', { class: 'meta' }, fmtTime(m.createdAt), m.editedAt && !m.deleted ? ' · edited' : '');
    if (mine && !m.deleted) {
      const readers = [...rs.reads].filter(([u, seq]) => u !== state.me.userId && seq >= m.seq)
        .map(([u]) => rs.presence.get(u)?.name ?? u);
      meta.append(' ', el('span', { class: 'receipt' }, readers.length ? `✓✓ Seen by ${readers.join(', ')}` : '✓ Sent'));
    }
    li.append(meta);
    li.append(reactions.render(m, entry?.room.status !== 'ended'));
    if (!m.deleted && entry?.room.status !== 'ended') {
      const actions = el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'reply', onclick: () => { state.replyTo = m; state.editing = null; renderCompose(); } }, 'Reply'));
      if (mine && m.type === 'text') {
        actions.append(el('button', { type: 'button', class: 'edit', onclick: () => { state.editing = m; state.replyTo = null; $('text').value = m.text; renderCompose(); } }, 'Edit'));
      }
      if (mine || owner || (entry && canModerate(entry.room, state.me))) {
        actions.append(el('button', { type: 'button', class: 'delete', onclick: () => deleteMessage(m) }, 'Delete'));
      }
      li.append(actions);
    }
    nodes.push(li);
  }
  list.replaceChildren(...nodes);
}

function renderAttachment(m) {
  const a = m.attachment;
  if (m.type === 'image' || (a.mime || '').startsWith('image/')) {
    const img = el('img', { alt: a.name });
    attachmentBlobUrl(state.token, a.url).then((u) => { img.src = u; }).catch(() => { img.alt = `${a.name} (not available)`; });
    return img;
  }
  const link = el('a', { href: '#', download: a.name }, `File: ${a.name} (${Math.ceil(a.size / 1024)} KB)`);
  attachmentBlobUrl(state.token, a.url).then((u) => { link.href = u; }).catch(() => {});
  return link;
}

async function deleteMessage(m) {
  try { await request(state.socket, 'message:delete', { id: m.id }); } catch (e) { banner(`Delete failed: ${e.message}`); }
}

function renderTyping() {
  const rs = state.rs.get(state.current);
  const names = rs ? [...rs.typing.values()] : [];
  $('typing').textContent = names.length === 0 ? '' : names.length === 1 ? `${names[0]} is typing…` : `${names.join(', ')} are typing…`;
}

function renderCompose() {
  const ctx = $('compose-context');
  if (state.editing) {
    ctx.hidden = false;
    ctx.firstElementChild.textContent = 'Editing your message';
  } else if (state.replyTo) {
    ctx.hidden = false;
    ctx.firstElementChild.textContent = `Replying to ${state.replyTo.senderName}: ${state.replyTo.text.slice(0, 80)}`;
  } else {
    ctx.hidden = true;
  }
  if (state.editing || state.replyTo) $('text').focus();
}
$('compose-cancel').addEventListener('click', () => {
  if (state.editing) $('text').value = '';
  state.editing = state.replyTo = null;
  renderCompose();
});

// typing: true on the first keystroke and every 3 s while typing; false
// after 2.5 s without a keystroke or when the message goes.
function setTyping(on) {
  if (!state.socket || !state.current) return;
  clearTimeout(state.typingIdle);
  const now = Date.now();
  if (on && (!state.typingSent || now - state.typingRefresh > 3000)) {
    state.typingSent = true;
    state.typingRefresh = now;
    state.socket.emit('typing', { room: state.current, typing: true });
  } else if (!on && state.typingSent) {
    state.typingSent = false;
    state.socket.emit('typing', { room: state.current, typing: false });
  }
  if (on) state.typingIdle = setTimeout(() => setTyping(false), 2500);
}

$('text').addEventListener('input', () => setTyping($('text').value.length > 0));
$('text').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey) {
    ev.preventDefault();
    $('composer').requestSubmit();
  }
});

$('composer').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const text = $('text').value;
  if (!text.trim() || !state.current) return;
  setTyping(false);
  try {
    if (state.editing) {
      await request(state.socket, 'message:edit', { id: state.editing.id, text });
    } else {
      const payload = { room: state.current, text, clientMsgId: crypto.randomUUID() };
      if (state.replyTo) payload.replyTo = state.replyTo.id;
      await request(state.socket, 'message:send', payload);
    }
    $('text').value = '';
    state.editing = state.replyTo = null;
    renderCompose();
  } catch (e) {
    banner(`Not sent: ${e.message}`);
  }
});

$('file-input').addEventListener('change', async (ev) => {
  const file = ev.target.files[0];
  ev.target.value = '';
  if (!file || !state.current) return;
  try {
    const attachment = await uploadAttachment(state.token, state.current, file);
    const payload = {
      room: state.current,
      text: '',
      type: (file.type || '').startsWith('image/') ? 'image' : 'file',
      attachment,
      clientMsgId: crypto.randomUUID(),
    };
    if (state.replyTo) payload.replyTo = state.replyTo.id;
    await request(state.socket, 'message:send', payload);
    state.replyTo = null;
    renderCompose();
  } catch (e) {
    banner(`Upload failed: ${e.message}`);
  }
});

$('messages').addEventListener('scroll', () => {
  if ($('messages').scrollTop < 40) loadOlder().catch((e) => console.warn(e));
});

// ---------------------------------------------------------------- members

function ago(iso) {
  if (!iso) return 'never here';
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return 'last seen just now';
  if (s < 3600) return `last seen ${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `last seen ${Math.floor(s / 3600)} h ago`;
  return `last seen ${new Date(iso).toLocaleDateString()}`;
}

function renderMembers() {
  const entry = state.rooms.get(state.current);
  if (!entry) return;
  renderHeader();
  const rs = roomState(entry.room.id);
  const owner = myRole(entry.room) === 'owner';
  const list = $('member-list');
  list.replaceChildren();
  for (const m of entry.room.members) {
    const p = rs.presence.get(m.userId) ?? {};
    const canRemove = entry.room.status !== 'ended' && (m.userId === state.me.userId || (owner && entry.room.kind !== 'direct'));
    list.append(el('li', { class: p.online ? 'online' : '', dataset: { user: m.userId } },
      el('span', {}, el('span', { class: 'dot' }), `${p.name ?? m.userId} `, el('small', {}, `${m.role} · ${p.online ? 'online' : ago(p.lastSeen)}`)),
      ...memberControls(moderationContext(), entry.room, m),
      canRemove ? el('button', { type: 'button', onclick: () => removeMember(m.userId) }, m.userId === state.me.userId ? 'Leave' : 'Remove') : null));
  }
  $('moderation').replaceChildren(slowModeControl(moderationContext(), entry.room));
  $('add-member').hidden = !owner || entry.room.kind === 'direct' || entry.room.status === 'ended';
}

// What moderation.js needs from the page.
function moderationContext() {
  return { socket: state.socket, me: state.me, el, onError: (e) => showError('members-error', e), onChange: renderChat };
}

$('toggle-members').addEventListener('click', () => { $('members').hidden = !$('members').hidden; });

$('add-member').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const userId = ev.target.userId.value.trim();
  if (!userId) return;
  $('members-error').textContent = '';
  try {
    const ack = await request(state.socket, 'member:add', { room: state.current, userId });
    upsertRoom(ack.room);
    ev.target.reset();
    renderMembers();
  } catch (e) { showError('members-error', e); }
});

async function removeMember(userId) {
  $('members-error').textContent = '';
  try {
    const ack = await request(state.socket, 'member:remove', { room: state.current, userId });
    if (userId === state.me.userId) {
      state.rooms.delete(state.current);
      state.rs.delete(state.current);
      state.current = null;
      if (state.call) endCall(null);
    } else {
      upsertRoom(ack.room);
    }
    renderRooms();
    renderChat();
  } catch (e) { showError('members-error', e); }
}

// ---------------------------------------------------------------- call

function callUi() {
  const fig = (sid, kind) => document.querySelector(`#videos .tile[data-sid="${CSS.escape(sid)}"][data-kind="${kind}"]`);
  const nameOf = (sid) => state.rs.get(state.current)?.peers.get(sid)?.name ?? 'peer';
  return {
    // One labelled tile per remote camera, and one per shared screen.
    show(sid, kind, stream) {
      let f = fig(sid, kind);
      if (!f) {
        const screen = kind === 'screen';
        f = el('figure', { class: screen ? 'tile screen' : 'tile remote', dataset: { sid, kind, state: 'new' } },
          el('video', { autoplay: '', playsinline: '' }), el('figcaption', {}, screen ? `${nameOf(sid)}'s screen` : nameOf(sid)));
        if (screen) f.querySelector('video').muted = true;
        $('videos').append(f);
      }
      const video = f.querySelector('video');
      if (stream && video.srcObject !== stream) {
        video.srcObject = stream;
        video.play().catch(() => {});
      }
    },
    hide(sid, kind) { fig(sid, kind)?.remove(); },
    dropPeer(sid) {
      for (const f of document.querySelectorAll(`#videos .tile[data-sid="${CSS.escape(sid)}"]`)) f.remove();
    },
    state: () => renderCallState(),
    ring(fromSids) {
      const rs = state.rs.get(state.current);
      const names = fromSids.map((sid) => rs?.peers.get(sid)?.name ?? 'someone');
      $('ring').hidden = fromSids.length === 0 || state.call?.inCall;
      $('ring-text').textContent = `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} calling.`;
    },
    full: () => endCall(`This call is full: ${MAX_PARTICIPANTS} people at most.`),
    localScreen(stream) {
      $('local-screen').hidden = !stream;
      $('local-screen').querySelector('video').srcObject = stream;
      $('call-share').textContent = stream ? 'Stop sharing' : 'Share screen';
    },
  };
}

function renderCallState(note) {
  const c = state.call;
  if (!c) return;
  const rs = state.rs.get(c.room);
  const parts = c.states().map(({ sid, state: s }) => {
    const fig = document.querySelector(`#videos .tile.remote[data-sid="${CSS.escape(sid)}"]`);
    const name = rs?.peers.get(sid)?.name ?? 'peer';
    if (fig) { fig.dataset.state = s; fig.querySelector('figcaption').textContent = `${name} · ${s}`; }
    return `${name}: ${s}`;
  });
  let text = c.inCall ? (parts.length ? parts.join(', ') : 'waiting for others to join') : 'idle';
  if (note) text = `${note}. ${text}`;
  $('call-state').textContent = text;
  $('call-start').hidden = c.inCall;
}

// A Call exists while a session room is open, so offers can ring.
function ensureCall() {
  const entry = state.rooms.get(state.current);
  if (!entry || entry.room.kind !== 'session' || entry.room.status === 'ended') return null;
  if (!state.call || state.call.room !== entry.room.id) {
    state.call = new Call({ socket: state.socket, room: entry.room.id, iceServers: [], ui: callUi() });
  }
  return state.call;
}

async function joinCall() {
  const call = ensureCall();
  if (!call || call.inCall) return;
  if (call.isFull()) {
    banner(`This call is full: ${MAX_PARTICIPANTS} people at most.`);
    return;
  }
  $('ring').hidden = true;
  $('call').hidden = false;
  $('call-state').textContent = 'starting camera…';
  delete $('call-state').dataset.peerLeft;
  let stream;
  try {
    call.iceServers = await iceServers(state.token);
    stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  } catch (e) {
    $('call-state').textContent = `Cannot start the call: ${e.message}`;
    return;
  }
  $('local-video').srcObject = stream;
  $('call-mute').textContent = 'Mute';
  $('call-camera').textContent = 'Camera off';
  const rs = state.rs.get(call.room);
  await call.join(stream, rs ? [...rs.peers.keys()] : []);
}

// Leaves the call; the room is left and entered again so that chatd tells
// the others (rtc:peer-left) while the chat stays open.
function endCall(note) {
  const call = state.call;
  if (!call) return;
  const wasIn = call.inCall;
  call.hangup();
  $('local-video').srcObject = null;
  $('call').hidden = true;
  $('ring').hidden = true;
  state.call = null;
  if (note) banner(note, true);
  if (wasIn && state.socket.connected && state.rs.get(call.room)?.joined) {
    request(state.socket, 'room:leave', { room: call.room })
      .then(() => { roomState(call.room).joined = false; return joinRoom(call.room); })
      .then(() => { if (state.current === call.room) { ensureCall(); renderChat(); } })
      .catch((e) => console.warn('rejoin', e));
  }
  renderHeader();
}

$('call-start').addEventListener('click', joinCall);
$('ring-join').addEventListener('click', joinCall);
$('call-hangup').addEventListener('click', () => endCall(null));
$('call-share').addEventListener('click', () => {
  const call = state.call;
  if (call?.screen) call.stopShare();
  else call?.shareScreen().catch((e) => banner(`Cannot share the screen: ${e.message}`));
});
$('call-mute').addEventListener('click', () => {
  const on = $('call-mute').textContent === 'Unmute';
  state.call?.setAudio(on);
  $('call-mute').textContent = on ? 'Mute' : 'Unmute';
});
$('call-camera').addEventListener('click', () => {
  const on = $('call-camera').textContent === 'Camera on';
  state.call?.setVideo(on);
  $('call-camera').textContent = on ? 'Camera off' : 'Camera on';
});
$('session-end').addEventListener('click', async () => {
  try { await request(state.socket, 'session:end', { room: state.current }); } catch (e) { banner(`Cannot end the session: ${e.message}`); }
});
