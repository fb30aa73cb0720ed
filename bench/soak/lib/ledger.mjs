// The ledger: every message chatd acknowledged to the soak (socket or REST),
// with its room, seq, clientMsgId and the last acknowledged text, so the
// end of the run can check that each is in history exactly once and as
// last edited. Also cross-checks deliveries against acks on the way.
// Single thread.
import { createHash } from "node:crypto";

export function textHash(text) {
  return createHash("sha1").update(text ?? "").digest("base64");
}

export class Ledger {
  constructor() {
    this.byId = new Map();
    this.bySlot = new Map(); // room \0 seq -> id
    this.byClientId = new Map(); // sender \0 clientMsgId -> id
    this.retries = 0;
  }

  get size() {
    return this.byId.size;
  }

  // An ack of message:send / POST messages. Returns the problems it shows
  // at once (a retry that got another message, a seq given twice).
  acked(message, { clientMsgId, text, retry = false }) {
    const problems = [];
    if (message.clientMsgId !== clientMsgId) problems.push(`ack of ${clientMsgId} carries clientMsgId ${message.clientMsgId}`);
    if (message.text !== text) problems.push(`ack of ${clientMsgId} carries other text`);
    const key = `${message.senderId}\u0000${clientMsgId}`;
    const prior = this.byClientId.get(key);
    if (prior !== undefined && prior !== message.id) problems.push(`retry of clientMsgId ${clientMsgId} stored a second message (${prior}, then ${message.id})`);
    if (retry) {
      this.retries += 1;
      if (prior === undefined) problems.push(`retry of clientMsgId ${clientMsgId} acked before its first send`);
    }
    const slot = `${message.room}\u0000${message.seq}`;
    const owner = this.bySlot.get(slot);
    if (owner !== undefined && owner !== message.id) problems.push(`seq ${message.seq} of ${message.room} acked for two messages (${owner}, ${message.id})`);
    const known = this.byId.get(message.id);
    if (known && (known.seq !== message.seq || known.room !== message.room)) problems.push(`message ${message.id} acked with seq ${known.seq} and ${message.seq}`);
    if (!known) {
      this.byId.set(message.id, { id: message.id, room: message.room, seq: message.seq, clientMsgId,
        senderId: message.senderId, textHash: textHash(text), deleted: false, edited: false,
        attachment: message.attachment ?? null });
    }
    this.bySlot.set(slot, message.id);
    this.byClientId.set(key, message.id);
    return problems;
  }

  edited(id, text) {
    const e = this.byId.get(id);
    if (e) {
      e.textHash = textHash(text);
      e.edited = true;
    }
  }

  deleted(id) {
    const e = this.byId.get(id);
    if (e) e.deleted = true;
  }

  // A message:new or history entry: must agree with its ack, if any.
  check(message) {
    const e = this.byId.get(message.id);
    if (e && (e.seq !== message.seq || e.room !== message.room)) {
      return `message ${message.id} delivered as ${message.room}#${message.seq}, acked as ${e.room}#${e.seq}`;
    }
    return null;
  }

  byRoom() {
    const out = new Map();
    for (const e of this.byId.values()) {
      if (!out.has(e.room)) out.set(e.room, []);
      out.get(e.room).push(e);
    }
    return out;
  }
}
