// Tab: one socket.io-client socket of a soak user (a browser tab). It joins
// rooms the way the documented client does (room:join with afterSeq, then
// message:history when the replay was truncated) and checks every
// message:new it gets against what it expected: per room, seqs in order
// with no gap and no duplicate, and in agreement with the ledger's acks.
// Single thread.
import { followSeqs } from "./checks.mjs";
import { npmPackage } from "../../../tests/lib/needs.mjs";

const { io } = npmPackage(new URL("../../../tests/interop", import.meta.url).pathname, "socket.io-client");

const ACK_MS = 15000;
const CONNECT_MS = 15000;

export class Tab {
  constructor(user, world, transports) {
    this.user = user;
    this.world = world;
    this.transports = transports; // ["websocket"] or ["polling", "websocket"] (upgrade)
    this.rooms = new Map(); // room -> {state: joining|joined|leaving, next, buf, paged}
    this.closing = false;
    this.socket = null;
    this.trail = []; // the tab's last room operations, for problem reports
    this.sending = new Set(); // clientMsgIds of message:send calls in flight
  }

  note(what) {
    this.trail.push(`${(performance.now() / 1000).toFixed(2)} ${what}`);
    if (this.trail.length > 12) this.trail.shift();
  }

  get connected() {
    return !!this.socket && this.socket.connected && !this.closing;
  }

  async open() {
    const w = this.world;
    const s = io(w.url, { forceNew: true, reconnection: false, transports: this.transports, auth: { token: this.user.token } });
    this.socket = s;
    s.on("message:new", (p) => this.#onMessage(p.message));
    s.on("notification", (p) => this.user.onNotification(this, p));
    s.on("error", (p) => w.error(`event error (${p?.event})`, p?.code, p?.message));
    s.on("disconnect", (reason) => {
      if (!this.closing) w.problem("unexpected disconnect", `${this.user.id}: ${reason}`);
      this.closing = true;
    });
    s.onAny((event) => w.count(`event ${event}`));
    const ok = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve("no connect within " + CONNECT_MS + " ms"), CONNECT_MS);
      s.once("connect", () => {
        clearTimeout(timer);
        resolve(true);
      });
      s.once("connect_error", (e) => {
        clearTimeout(timer);
        resolve(`connect_error ${e.message}`);
      });
    });
    if (ok !== true) {
      this.closing = true;
      s.close();
      w.problem("connect failed", `${this.user.id}: ${ok}`);
      return false;
    }
    w.count("connect");
    return true;
  }

  // Clean: the client says goodbye. Abrupt (WebSocket only): the TCP
  // connection is destroyed, as when a phone loses its network.
  close(abrupt = false) {
    if (!this.socket) return;
    this.closing = true;
    const ws = this.socket.io.engine?.transport?.ws;
    if (abrupt && ws && typeof ws.terminate === "function") {
      ws.terminate();
      this.world.count("abrupt close");
    }
    this.socket.close();
  }

  // An event with an ack; null when it failed (recorded as an error) or no
  // ack came in time (recorded as a problem).
  async call(event, payload) {
    if (!this.connected) return null;
    const t0 = performance.now();
    const cid = event === "message:send" ? payload.clientMsgId : undefined;
    if (cid) this.sending.add(cid);
    let ack;
    try {
      ack = await this.socket.timeout(ACK_MS).emitWithAck(event, payload);
    } catch (e) {
      if (!this.closing) this.world.problem("no ack", `${this.user.id} ${event}: ${e.message}`);
      return null;
    } finally {
      if (cid) this.sending.delete(cid);
    }
    this.world.count(event);
    if (event === "message:send") this.world.latencies.push(performance.now() - t0);
    if (!ack || ack.ok !== true) {
      this.world.error(event, ack?.error?.code ?? "no ok", ack?.error?.message);
      return null;
    }
    return ack;
  }

  #onMessage(m) {
    const w = this.world;
    const bad = w.ledger.check(m);
    if (bad) w.problem("delivery disagrees with ack", bad);
    this.user.noteSeen(m.room, m.seq);
    const st = this.rooms.get(m.room);
    if (!st && m.senderId === this.user.id && this.sending.has(m.clientMsgId)) {
      // The sending socket gets its own message even when not in the room.
      this.world.count("own message echoed");
      return;
    }
    if (!st) {
      if (!this.closing) w.problem("delivery outside a joined room", `${this.user.id} ${this.socket.id} got ${m.room}#${m.seq} (${m.senderId}: ${m.type} ${m.text.slice(0, 30)}); trail: ${this.trail.join(", ")}`);
      return;
    }
    if (st.state === "leaving") return;
    if (st.state === "joining") {
      st.buf.push(m.seq);
      return;
    }
    if (st.paged && st.paged.delete(m.seq)) return; // read from history before its live copy came
    const r = followSeqs(st.next, [m.seq]);
    for (const p of r.problems) w.problem("live delivery", `${this.user.id} ${m.room}: ${p}`);
    st.next = r.next;
  }

  // room:join with afterSeq = what the user has seen there (none for a room
  // new to the user); checks the replay; pages history when truncated.
  async join(room) {
    if (this.rooms.has(room) || !this.connected) return true;
    const w = this.world;
    const after = this.user.seen.get(room);
    const st = { state: "joining", next: null, buf: [], paged: null };
    this.rooms.set(room, st);
    this.note(`join ${room} after ${after}`);
    const ack = await this.call("room:join", after === undefined ? { room } : { room, afterSeq: after });
    if (!ack) {
      this.rooms.delete(room);
      this.note(`join ${room} failed`);
      return false;
    }
    this.note(`joined ${room} lastSeq ${ack.lastSeq}`);
    const where = `${this.user.id} ${room}`;
    if (after === undefined) {
      // No replay asked: only live messages, in order, may come before the ack.
      const r = followSeqs(null, st.buf);
      for (const p of r.problems) w.problem("live delivery", `${where}: ${p}`);
      st.next = st.buf.length ? r.next : null;
      this.user.noteSeen(room, ack.lastSeq);
    } else if (!ack.replayTruncated) {
      const r = followSeqs(after + 1, st.buf);
      for (const p of r.problems) w.problem("replay", `${where} afterSeq ${after}: ${p}`);
      st.next = r.next;
      w.count("replay messages", st.buf.length);
    } else {
      w.count("truncated replay");
      const r = followSeqs(after + 1, st.buf.filter((s) => s <= after + w.options.replayLimit));
      for (const p of r.problems) w.problem("replay", `${where} afterSeq ${after} (truncated): ${p}`);
      // The client pages the rest with message:history, as the contract says.
      const paged = new Set();
      let from = r.next - 1;
      for (let i = 0; i < 10000; i++) {
        const page = await this.call("message:history", { room, after: from, limit: 200 });
        if (!page) break;
        for (const m of page.messages) paged.add(m.seq);
        if (!page.hasMore || page.messages.length === 0) break;
        from = page.messages[page.messages.length - 1].seq;
      }
      const all = new Set([...st.buf, ...paged]);
      let next = after + 1;
      while (all.has(next)) next += 1;
      const max = Math.max(after, ...all);
      if (next <= max) w.problem("replay", `${where}: seq ${next} neither replayed, paged nor live (up to ${max})`);
      const dup = st.buf.filter((s, i) => st.buf.indexOf(s) !== i);
      if (dup.length) w.problem("replay", `${where}: seqs ${dup.slice(0, 5).join(",")} delivered twice`);
      for (const s of st.buf) paged.delete(s);
      st.paged = paged;
      st.next = max + 1;
    }
    st.buf = [];
    st.state = "joined";
    return true;
  }

  async leave(room) {
    const st = this.rooms.get(room);
    if (!st) return;
    st.state = "leaving";
    this.note(`leave ${room}`);
    await this.call("room:leave", { room });
    this.rooms.delete(room);
    this.note(`left ${room}`);
  }
}
