// Moderation in the web client (docs/protocol.md, "Moderation"): who may
// do what, the per-member buttons (moderator role, mute), the slow mode
// setting, and the muted state. app.js calls these from its renderers;
// this module keeps what it learns per room (moderation:state, then the
// notifications) and asks app.js to render again through `onChange`.
import { request } from './api.js';

const rooms = new Map();  // room id -> {slowMode, mutes: Map(userId -> until ISO)}

const MUTE_SECONDS = 10 * 60;
const SLOW_CHOICES = [0, 10, 30, 60, 300];

function roomOf(id) {
  if (!rooms.has(id)) rooms.set(id, { slowMode: 0, mutes: new Map() });
  return rooms.get(id);
}

function roleOf(room, userId) { return room.members.find((m) => m.userId === userId)?.role; }

// Owners, moderators and admins (the JWT role).
export function canModerate(room, me) {
  const role = roleOf(room, me.userId);
  return me.role === 'admin' || role === 'owner' || role === 'moderator';
}

function isOwner(room, me) { return me.role === 'admin' || roleOf(room, me.userId) === 'owner'; }

// The end of userId's mute in the room (ISO), or null.
export function mutedUntil(roomId, userId) {
  const until = roomOf(roomId).mutes.get(userId);
  return until && new Date(until).getTime() > Date.now() ? until : null;
}

// Reads the mutes in force and the slow mode of a room the user opened.
export async function loadModeration(socket, roomId) {
  const ack = await request(socket, 'moderation:state', { room: roomId });
  const r = roomOf(roomId);
  r.slowMode = ack.slowMode;
  r.mutes = new Map(ack.mutes.map((m) => [m.userId, m.until]));
}

// A notification about a mute or slow mode; true when it was one.
export function noteModeration(n) {
  if (!n.room) return false;
  const r = roomOf(n.room.id);
  if (n.type === 'member-muted') r.mutes.set(n.userId, n.until);
  else if (n.type === 'member-unmuted') r.mutes.delete(n.userId);
  else if (n.type === 'slow-mode') r.slowMode = n.seconds;
  else return false;
  return true;
}

function time(iso) { return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }); }

// ctx: {socket, me, el, onError(e), onChange()}.
async function act(ctx, event, payload) {
  try {
    await request(ctx.socket, event, payload);
    ctx.onChange();
  } catch (e) { ctx.onError(e); }
}

// What follows a member's name in the members list: a muted label, and
// the buttons the user may use on them.
export function memberControls(ctx, room, member) {
  const { el, me } = ctx;
  const out = [];
  const until = mutedUntil(room.id, member.userId);
  if (until) out.push(el('small', { class: 'muted-label' }, ` muted until ${time(until)}`));
  if (room.kind === 'direct' || room.status === 'ended' || member.userId === me.userId || member.role === 'owner') return out;
  const owner = isOwner(room, me);
  if (owner && (member.role === 'moderator' || member.role === 'member')) {
    const make = member.role !== 'moderator';
    out.push(el('button', { type: 'button', class: make ? 'make-moderator' : 'remove-moderator',
      onclick: () => act(ctx, 'member:role', { room: room.id, userId: member.userId, role: make ? 'moderator' : 'member' }) },
    make ? 'Make moderator' : 'Remove moderator'));
  }
  // A moderator may not mute another moderator; the owner may.
  if (canModerate(room, me) && (owner || member.role !== 'moderator')) {
    out.push(until
      ? el('button', { type: 'button', class: 'unmute', onclick: () => act(ctx, 'member:unmute', { room: room.id, userId: member.userId }) }, 'Unmute')
      : el('button', { type: 'button', class: 'mute', onclick: () => act(ctx, 'member:mute', { room: room.id, userId: member.userId, seconds: MUTE_SECONDS }) }, 'Mute 10 min'));
  }
  return out;
}

// The slow mode line under the members list: a setting for those who may
// change it, the current value for everyone else.
export function slowModeControl(ctx, room) {
  const { el } = ctx;
  const current = roomOf(room.id).slowMode;
  const label = (s) => (s === 0 ? 'off' : `1 message / ${s} s`);
  if (!canModerate(room, ctx.me) || room.status === 'ended' || room.kind === 'direct')
    return el('p', { class: 'slowmode' }, `Slow mode: ${label(current)}`);
  const select = el('select', { id: 'slowmode-select', 'aria-label': 'Slow mode' },
    ...SLOW_CHOICES.concat(SLOW_CHOICES.includes(current) ? [] : [current]).map((s) => {
      const o = el('option', { value: String(s) }, label(s));
      if (s === current) o.selected = true;
      return o;
    }));
  select.addEventListener('change', () => act(ctx, 'room:slowmode', { room: room.id, seconds: Number(select.value) }));
  return el('p', { class: 'slowmode' }, 'Slow mode: ', select);
}

// For the composer: why the user cannot write now, or null.
export function mutedNotice(room, me) {
  const until = mutedUntil(room.id, me.userId);
  return until ? `You are muted until ${time(until)}` : null;
}
