// User: one person of the soak's population, with one or two tabs, doing
// what chat users do at their own pace: type and send, read, edit, delete,
// scroll history, upload a picture, switch rooms, leave a group (and get
// added back), start a conversation, lose the network and come back. One
// action at a time (a promise chain), so a user never races themselves.
// Single thread.
import { chatText, searchWord } from "./random.mjs";
import { textHash } from "./ledger.mjs";
import { Tab } from "./tab.mjs";

const MAX_ROOMS_PER_USER = 60; // below chatd's 100 rooms per socket
const OWN_KEPT = 20; // own recent messages remembered per room, to edit or delete

// The mix of actions and their weights (per 100); --skip takes some out.
const ACTIONS = [
  ["send", 40], ["read", 14], ["edit", 5], ["delete", 2], ["history", 5], ["rest", 12], ["attach", 3],
  ["download", 2], ["switch", 5], ["reconnect", 3], ["membership", 1], ["create", 1], ["presence", 2],
  ["retry", 2], ["search", 3],
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class User {
  constructor(world, id, role) {
    this.world = world;
    this.id = id;
    this.name = `User ${id}`;
    this.role = role;
    this.token = world.signToken(id, this.name, role);
    this.tabs = [];
    this.rooms = new Set(); // rooms the user is a member of, as far as acks and notifications say
    this.seen = new Map(); // room -> highest seq seen (the afterSeq of the next join)
    this.lastRead = new Map();
    this.own = new Map(); // room -> [{id, attachment}] recent own messages
    this.chain = Promise.resolve();
    this.tabTransports = []; // what each of the user's tabs uses, kept across reconnects
  }

  // Runs fn after everything queued before; an exception is a problem.
  enqueue(fn) {
    const p = this.chain.then(fn).catch((e) => this.world.problem("client exception", `${this.id}: ${e.stack}`));
    this.chain = p;
    return p;
  }

  noteSeen(room, seq) {
    if (!(this.seen.get(room) >= seq)) this.seen.set(room, seq);
  }

  liveTabs() {
    return this.tabs.filter((t) => t.connected);
  }

  // Opens a tab and joins every room, as an app does at start.
  async openTab(transports) {
    const tab = new Tab(this, this.world, transports);
    if (!(await tab.open())) return;
    this.tabs.push(tab);
    await tab.call("rooms:list", {});
    for (const room of [...this.rooms]) await tab.join(room);
  }

  // Think, act, repeat, until the world stops.
  async loop() {
    const w = this.world;
    while (w.running) {
      await Promise.race([sleep(w.rng.exp(w.options.thinkSec * 1000)), w.halted]);
      if (!w.running) break;
      const action = w.rng.weighted(this.actions ??= ACTIONS.filter(([a]) => !w.options.skip.includes(a)));
      await this.enqueue(() => (w.running ? this[action]() : null));
    }
  }

  onNotification(tab, p) {
    const w = this.world;
    w.count(`notification ${p?.type}`);
    const room = p?.room?.id;
    if (!room) return;
    if (p.type === "room-created" || (p.type === "member-added" && p.userId === this.id)) {
      this.rooms.add(room);
      this.enqueue(async () => {
        if (!this.rooms.has(room)) return;
        for (const t of this.liveTabs()) await t.join(room);
      });
    }
  }

  // A room the user is in, joined by a live tab: [tab, room] or null.
  pickJoined() {
    const rng = this.world.rng;
    const tabs = this.liveTabs();
    if (tabs.length === 0) return null;
    const tab = rng.pick(tabs);
    const rooms = [...tab.rooms.entries()].filter(([, st]) => st.state === "joined").map(([r]) => r);
    if (rooms.length === 0) return null;
    return [tab, rng.pick(rooms)];
  }

  pickRoom() {
    return this.rooms.size ? this.world.rng.pick([...this.rooms]) : null;
  }

  remember(room, message) {
    if (!this.own.has(room)) this.own.set(room, []);
    const list = this.own.get(room);
    list.push({ id: message.id, attachment: !!message.attachment });
    if (list.length > OWN_KEPT) list.shift();
  }

  recordAck(message, clientMsgId, text, retry = false) {
    const w = this.world;
    for (const p of w.ledger.acked(message, { clientMsgId, text, retry })) w.problem("ack", p);
    if (!retry) this.remember(message.room, message);
    this.noteSeen(message.room, message.seq);
  }

  // Typing, a pause, the message, typing off.
  async send({ attachment = null, pick = this.pickJoined() } = {}) {
    const w = this.world;
    if (!pick) return;
    const [tab, room] = pick;
    const text = attachment ? (w.rng.chance(0.5) ? "" : chatText(w.rng, 200)) : chatText(w.rng, w.options.maxTextChars);
    if (!(await tab.call("typing", { room, typing: true }))) return;
    await sleep(w.rng.int(300, 2500));
    if (!tab.connected || !this.rooms.has(room)) return;
    const clientMsgId = w.uid(`${this.id}-`);
    const payload = { room, text, clientMsgId };
    const own = this.own.get(room);
    if (own?.length && w.rng.chance(0.1)) payload.replyTo = w.rng.pick(own).id;
    if (attachment) Object.assign(payload, { type: attachment.mime.startsWith("image/") ? "image" : "file", attachment });
    const ack = await tab.call("message:send", payload);
    if (ack) this.recordAck(ack.message, clientMsgId, text);
    await tab.call("typing", { room, typing: false });
    if (ack && w.rng.chance(0.05)) {
      // The ack was "lost": the app sends the same clientMsgId again.
      const again = await tab.call("message:send", payload);
      if (again) this.recordAck(again.message, clientMsgId, text, true);
    }
    return ack?.message ?? null;
  }

  // A retry after a reconnect: the same clientMsgId over REST this time.
  async retry() {
    const w = this.world;
    const room = this.pickRoom();
    if (!room) return;
    const text = chatText(w.rng, 300);
    const clientMsgId = w.uid(`${this.id}-r`);
    const first = await w.restCall(this, "POST", `/api/rooms/${encodeURIComponent(room)}/messages`, { json: { text, clientMsgId } });
    if (!first) return;
    if (first.status !== 201) w.problem("ack", `REST send answered ${first.status}, not 201`);
    this.recordAck(first.body.message, clientMsgId, text);
    const again = await w.restCall(this, "POST", `/api/rooms/${encodeURIComponent(room)}/messages`, { json: { text, clientMsgId } });
    if (!again) return;
    if (again.status !== 200) w.problem("ack", `REST retry of ${clientMsgId} answered ${again.status}, not 200`);
    this.recordAck(again.body.message, clientMsgId, text, true);
  }

  async read() {
    const w = this.world;
    const candidates = [...this.rooms].filter((r) => (this.seen.get(r) ?? 0) > (this.lastRead.get(r) ?? 0));
    if (candidates.length === 0) return;
    const room = w.rng.pick(candidates);
    const seq = this.seen.get(room);
    const tabs = this.liveTabs();
    const ok = tabs.length && w.rng.chance(0.85)
      ? await w.rng.pick(tabs).call("message:read", { room, seq })
      : await w.restCall(this, "POST", `/api/rooms/${encodeURIComponent(room)}/read`, { json: { seq } });
    if (ok) this.lastRead.set(room, seq);
  }

  ownMessage(withAttachments) {
    const w = this.world;
    const rooms = [...this.own.keys()].filter((r) => this.rooms.has(r) && this.own.get(r).length);
    if (rooms.length === 0) return null;
    const room = w.rng.pick(rooms);
    const list = this.own.get(room).filter((m) => withAttachments || !m.attachment);
    return list.length ? { room, ...w.rng.pick(list) } : null;
  }

  async edit() {
    const w = this.world;
    const m = this.ownMessage(true);
    if (!m) return;
    const text = `${chatText(w.rng, 500)} (edited)`;
    const tabs = this.liveTabs();
    let ack;
    if (tabs.length && w.rng.chance(0.8)) {
      ack = await w.rng.pick(tabs).call("message:edit", { id: m.id, text });
      ack = ack?.message;
    } else {
      const r = await w.restCall(this, "PATCH", `/api/messages/${encodeURIComponent(m.id)}`, { json: { text } });
      ack = r?.body?.message;
    }
    if (!ack) return;
    if (ack.id !== m.id || ack.text !== text) w.problem("ack", `edit of ${m.id} acked ${ack.id} with other text`);
    w.ledger.edited(m.id, text);
  }

  // Deletes one of the user's own messages (never one with an attachment:
  // another user may be downloading its file at that moment).
  async delete() {
    const w = this.world;
    const m = this.ownMessage(false);
    if (!m) return;
    const tabs = this.liveTabs();
    const ok = tabs.length && w.rng.chance(0.8)
      ? await w.rng.pick(tabs).call("message:delete", { id: m.id })
      : await w.restCall(this, "DELETE", `/api/messages/${encodeURIComponent(m.id)}`);
    if (!ok) return;
    w.ledger.deleted(m.id);
    const list = this.own.get(m.room);
    list.splice(list.findIndex((x) => x.id === m.id), 1);
  }

  // Scrolls back: a page before some point, checked for order.
  async history() {
    const w = this.world;
    const pick = this.pickJoined();
    if (!pick) return;
    const [tab, room] = pick;
    const top = this.seen.get(room) ?? 0;
    const payload = { room, limit: 50 };
    if (top > 1 && w.rng.chance(0.6)) payload.before = w.rng.int(1, top);
    const page = await tab.call("message:history", payload);
    if (page) this.checkPage(room, page.messages);
  }

  checkPage(room, messages) {
    const w = this.world;
    for (let i = 0; i < messages.length; i++) {
      const bad = w.ledger.check(messages[i]);
      if (bad) w.problem("history disagrees with ack", bad);
      if (i > 0 && messages[i].seq !== messages[i - 1].seq + 1) {
        w.problem("history page", `${room}: seq ${messages[i].seq} after ${messages[i - 1].seq}`);
      }
    }
  }

  async search() {
    const w = this.world;
    const room = this.pickRoom();
    if (!room) return;
    const q = searchWord(w.rng);
    const tabs = this.liveTabs();
    if (tabs.length && w.rng.chance(0.5)) await w.rng.pick(tabs).call("message:search", { room, q, limit: 20 });
    else await w.restCall(this, "GET", `/api/rooms/${encodeURIComponent(room)}/search?q=${q}&limit=20`);
  }

  async presence() {
    const w = this.world;
    const pick = this.pickJoined();
    if (pick) await pick[0].call("presence:list", { room: pick[1] });
  }

  // The REST calls an app or a backend makes.
  async rest() {
    const w = this.world;
    const room = this.pickRoom();
    const what = w.rng.pick(["rooms", "room", "messages", "presence", "ice", "send"]);
    const path = room ? `/api/rooms/${encodeURIComponent(room)}` : null;
    if (what === "rooms" || !room) {
      await w.restCall(this, "GET", "/api/rooms");
    } else if (what === "room") {
      await w.restCall(this, "GET", path);
    } else if (what === "messages") {
      const r = await w.restCall(this, "GET", `${path}/messages?limit=50`);
      if (r) this.checkPage(room, r.body.messages);
    } else if (what === "presence") {
      await w.restCall(this, "GET", `${path}/presence`);
    } else if (what === "ice") {
      await w.restCall(this, "GET", "/api/ice-servers");
    } else {
      const text = chatText(w.rng, 400);
      const clientMsgId = w.uid(`${this.id}-h`);
      const r = await w.restCall(this, "POST", `${path}/messages`, { json: { text, clientMsgId } });
      if (r) this.recordAck(r.body.message, clientMsgId, text);
    }
  }

  // A picture or a PDF: upload, then a message that refers to it.
  async attach() {
    const w = this.world;
    const pick = this.pickJoined();
    if (!pick) return;
    const [tab, room] = pick;
    const size = Math.round(Math.exp(w.rng.next() * Math.log(256 * 1024 / 1024)) * 1024);
    const bytes = w.rng.bytes(size);
    const mime = w.rng.pick(["image/jpeg", "image/png", "application/pdf"]);
    const name = `${w.uid("file-")}.${mime.split("/")[1]}`;
    const r = await w.restCall(this, "POST", `/api/rooms/${encodeURIComponent(room)}/attachments?name=${name}`,
      { raw: bytes, contentType: mime }, "POST attachments");
    if (!r) return;
    const att = r.body?.attachment;
    if (!att || att.size !== size || att.mime !== mime || att.name !== name) {
      w.problem("attachment", `upload answered ${JSON.stringify(r.body)} for ${size} bytes ${mime}`);
      return;
    }
    w.count("upload bytes", size);
    // Only a file that a stored message refers to is kept (chatd may drop
    // unclaimed uploads), so only those are downloaded later.
    if (!tab.connected || tab.rooms.get(room)?.state !== "joined") return;
    if (!(await this.send({ attachment: att, pick }))) return;
    w.attachments.push({ room, url: att.url, size, hash: textHash(bytes.toString("latin1")) });
    if (w.attachments.length > 300) w.attachments.shift();
  }

  async download() {
    const w = this.world;
    const mine = w.attachments.filter((a) => this.rooms.has(a.room));
    if (mine.length === 0) return;
    const a = w.rng.pick(mine);
    const r = await w.restCall(this, "GET", a.url, {}, "GET attachment");
    if (!r) return;
    if (r.bytes.length !== a.size || textHash(r.bytes.toString("latin1")) !== a.hash) {
      w.problem("attachment", `${a.url}: downloaded ${r.bytes.length} bytes, not the ${a.size} uploaded`);
    }
    w.count("download bytes", r.bytes.length);
  }

  // Leaves one room in one tab (looks at another), comes back later.
  async switch() {
    const w = this.world;
    const pick = this.pickJoined();
    if (!pick) return;
    const [tab, room] = pick;
    await tab.leave(room);
    setTimeout(() => {
      if (w.running) this.enqueue(() => (tab.connected && this.rooms.has(room) ? tab.join(room) : null));
    }, w.rng.int(5000, 60000));
  }

  // The network goes (cleanly or not); the tab comes back after a while
  // and rejoins with afterSeq.
  async reconnect() {
    const w = this.world;
    const tabs = this.liveTabs();
    if (tabs.length === 0) return;
    const tab = w.rng.pick(tabs);
    tab.close(tab.transports[0] === "websocket" && w.rng.chance(0.3));
    this.tabs.splice(this.tabs.indexOf(tab), 1);
    setTimeout(() => {
      if (w.running) this.enqueue(() => (w.running ? this.openTab(tab.transports) : null));
    }, w.rng.int(1000, 15000));
  }

  // Leaves a group for good (member:remove of oneself); its owner adds the
  // user back a minute or two later.
  async membership() {
    const w = this.world;
    const rooms = [...this.rooms].map((r) => w.rooms.get(r))
      .filter((r) => r && r.kind === "group" && r.owner !== this.id && r.members.size >= 3);
    if (rooms.length === 0) return;
    const room = w.rng.pick(rooms);
    for (const t of this.tabs) {
      const st = t.rooms.get(room.id);
      if (st) st.state = "leaving";
    }
    const tabs = this.liveTabs();
    const via = tabs.length ? w.rng.pick(tabs) : null;
    const ok = via
      ? await via.call("member:remove", { room: room.id, userId: this.id })
      : await w.restCall(this, "DELETE", `/api/rooms/${encodeURIComponent(room.id)}/members/${this.id}`);
    // chatd took every socket of the user out of the room before the ack,
    // but the user's other tabs may still be reading what it sent them
    // before: a room:leave on each is the barrier after which nothing of
    // the room may come.
    for (const t of this.tabs) {
      if (t === via) t.rooms.delete(room.id);
      else if (t.rooms.has(room.id)) await t.leave(room.id);
      t.note(`removed from ${room.id}: ${ok ? "ok" : "failed"}`);
    }
    if (!ok) return;
    this.rooms.delete(room.id);
    room.members.delete(this.id);
    w.count("left a group");
    const owner = w.users.get(room.owner);
    setTimeout(() => {
      if (w.running && owner) owner.enqueue(() => (w.running ? owner.addMember(room, this) : null));
    }, w.rng.int(20000, 120000));
  }

  async addMember(room, user) {
    const w = this.world;
    if (room.members.has(user.id) || !this.rooms.has(room.id)) return;
    const tabs = this.liveTabs();
    const ok = tabs.length
      ? await w.rng.pick(tabs).call("member:add", { room: room.id, userId: user.id })
      : await w.restCall(null, "POST", `/api/rooms/${encodeURIComponent(room.id)}/members`, { json: { userId: user.id } });
    if (!ok) return;
    room.members.add(user.id);
    user.rooms.add(room.id);
    w.count("added back");
  }

  // A direct conversation with someone, or a small new group.
  async create() {
    const w = this.world;
    const tabs = this.liveTabs();
    if (tabs.length === 0 || this.rooms.size >= MAX_ROOMS_PER_USER) return;
    const others = [...w.users.values()].filter((u) => u !== this && u.rooms.size < MAX_ROOMS_PER_USER);
    const direct = w.rng.chance(0.5);
    const members = w.rng.sample(others, direct ? 1 : w.rng.int(2, 6));
    if (members.length === 0) return;
    const payload = direct
      ? { kind: "direct", members: [members[0].id] }
      : { kind: "group", title: `group ${w.uid("g")}`, members: members.map((u) => u.id) };
    const ack = await w.rng.pick(tabs).call("room:create", payload);
    if (!ack) return;
    const room = ack.room;
    if (!w.rooms.has(room.id)) {
      w.rooms.set(room.id, { id: room.id, kind: room.kind, owner: this.id, members: new Set(room.members.map((m) => m.userId)) });
      w.count(`created ${room.kind}`);
    }
    for (const u of members) u.rooms.add(room.id);
    this.rooms.add(room.id);
    for (const t of this.liveTabs()) await t.join(room.id);
  }
}
