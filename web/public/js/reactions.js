// Emoji reactions in the web client: what each message has (from the
// `reactions` of message objects in history and replays, and from
// message:reactions events), the row of reaction buttons under a message
// (click one to add or take back your own), and a small picker of common
// emojis. app.js feeds it and re-renders when told.

// The picker's choices: one grapheme each, as chatd takes them.
export const PICKER = ['👍', '❤️', '😂', '🎉', '😮', '🙏'];

// Live updates list the reactors of an emoji up to this many (chatd's
// summary); past it an update may leave `me` out, and the client keeps
// what it knew (docs/protocol.md, "Reactions").
const LISTED = 16;

const byMessage = new Map();  // message id -> [{emoji, count, me}]
let openPicker = null;        // id of the message whose picker is open
let hooks = { request: null, changed: () => {}, failed: () => {} };

// request(event, payload) -> Promise of the ack; changed() re-renders;
// failed(error) reports.
export function init(h) {
  hooks = { ...hooks, ...h };
}

// A message object from history, search or a replay: its reactions as
// they are now (none when it has no `reactions`).
export function fromMessage(m) {
  if (m.reactions?.length && !m.deleted) byMessage.set(m.id, m.reactions.map((r) => ({ ...r, me: !!r.me })));
  else byMessage.delete(m.id);
}

// message:reactions {room, id, reactions}.
export function onEvent({ id, reactions }) {
  const before = new Map((byMessage.get(id) ?? []).map((r) => [r.emoji, r]));
  const now = reactions.map((r) => ({
    emoji: r.emoji,
    count: r.count,
    me: r.me === true || (r.me === undefined && r.count > LISTED && !!before.get(r.emoji)?.me),
  }));
  if (now.length) byMessage.set(id, now); else byMessage.delete(id);
}

async function toggle(m, emoji) {
  const mine = (byMessage.get(m.id) ?? []).find((r) => r.emoji === emoji)?.me;
  openPicker = null;
  try {
    await hooks.request(mine ? 'reaction:remove' : 'reaction:add', { id: m.id, emoji });
    // Our own `me` is known from the ack (an update may not say it).
    const r = (byMessage.get(m.id) ?? []).find((x) => x.emoji === emoji);
    if (r) r.me = !mine;
  } catch (e) {
    hooks.failed(e);
  }
  hooks.changed();
}

// The reactions row of a message: one button per emoji (count; `mine`
// when it is yours), and, when `canReact`, the picker's toggle.
export function render(m, canReact) {
  const row = document.createElement('div');
  row.className = 'reactions';
  if (m.deleted) return row;
  for (const r of byMessage.get(m.id) ?? []) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = r.me ? 'reaction mine' : 'reaction';
    b.dataset.emoji = r.emoji;
    b.title = r.me ? 'Take back your reaction' : 'React with this too';
    b.disabled = !canReact;
    b.append(document.createTextNode(r.emoji), Object.assign(document.createElement('span'), { className: 'count', textContent: String(r.count) }));
    b.addEventListener('click', () => toggle(m, r.emoji));
    row.append(b);
  }
  if (!canReact) return row;
  const add = document.createElement('button');
  add.type = 'button';
  add.className = 'react-add';
  add.title = 'Add a reaction';
  add.textContent = '☺+';
  add.addEventListener('click', () => {
    openPicker = openPicker === m.id ? null : m.id;
    hooks.changed();
  });
  row.append(add);
  if (openPicker === m.id) {
    const picker = document.createElement('span');
    picker.className = 'picker';
    for (const emoji of PICKER) {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.emoji = emoji;
      b.textContent = emoji;
      b.addEventListener('click', () => toggle(m, emoji));
      picker.append(b);
    }
    row.append(picker);
  }
  return row;
}
