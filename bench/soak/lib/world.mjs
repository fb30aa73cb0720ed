// The soak's shared state: the server it talks to, the rooms and users it
// made, the ledger, and the record of problems and errors that decide the
// verdict. One World per run; single thread.
import { Ledger } from "./ledger.mjs";

export class World {
  constructor({ url, port, rest, rng, options, signToken, apiKey }) {
    this.url = url;
    this.port = port;
    this.http = rest; // Rest (http.mjs)
    this.rng = rng;
    this.options = options;
    this.signToken = signToken;
    this.apiKey = apiKey;
    this.running = false;
    // Resolves when the load stops, to cut the users' think times short.
    this.halted = new Promise((resolve) => {
      this.halt = () => {
        this.running = false;
        resolve();
      };
    });
    this.users = new Map(); // id -> User
    this.rooms = new Map(); // id -> {id, kind, owner, members: Set}
    this.attachments = []; // the latest uploads: {room, url, size, hash}
    this.ledger = new Ledger();
    this.problems = new Map(); // kind -> {count, examples}
    this.errors = new Map(); // "where code" -> count (unexpected error answers)
    this.counts = new Map(); // action or event -> count
    this.latencies = []; // message:send ack times of the current report row, ms
    this.seq = 0; // for unique ids (clientMsgId, room ids)
  }

  // The "~" keeps families apart: without it "u11-" + "hw" and "u11-h" + "w"
  // were the same clientMsgId, which chatd rightly refused in another room.
  uid(prefix) {
    this.seq += 1;
    return `${prefix}~${this.seq.toString(36)}`;
  }

  count(what, n = 1) {
    this.counts.set(what, (this.counts.get(what) ?? 0) + n);
  }

  // Something the contract forbids (a lost or duplicated message, a gap, a
  // disconnect nobody asked for). Keeps the first examples of each kind.
  problem(kind, detail) {
    let p = this.problems.get(kind);
    if (!p) this.problems.set(kind, (p = { count: 0, examples: [] }));
    p.count += 1;
    if (p.examples.length < 8) p.examples.push(detail);
    // Said at once too, so that a long run shows its first problems early.
    if (p.count <= 3) console.error(`[soak] problem: ${kind}: ${String(detail).split("\n")[0]}`);
  }

  // An error answer to a request the load meant to succeed.
  error(where, code, message) {
    const key = `${where} ${code}`;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
    this.problem("unexpected error", `${where}: ${code}: ${message ?? ""}`);
  }

  get errorTotal() {
    let n = 0;
    for (const v of this.errors.values()) n += v;
    return n;
  }

  get problemTotal() {
    let n = 0;
    for (const p of this.problems.values()) n += p.count;
    return n;
  }

  // REST with a user's token; a non-2xx answer is recorded as an error.
  async restCall(user, method, path, opts = {}, what = `${method} ${path.replace(/\?.*/, "")}`) {
    let r;
    try {
      r = await this.http.request(method, path, { token: user ? user.token : this.apiKey, ...opts });
    } catch (e) {
      this.problem("REST failure", `${what}: ${e.message}`);
      return null;
    }
    this.count(`REST ${method}`);
    if (r.status < 200 || r.status > 299) {
      this.error(`REST ${what}`, r.body?.error?.code ?? `http ${r.status}`, r.body?.error?.message ?? r.bytes.toString("utf8").slice(0, 200));
      return null;
    }
    return r;
  }
}
