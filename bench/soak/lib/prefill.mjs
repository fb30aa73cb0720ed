// Prefill: history written before the measured load, so that chatd starts
// the soak as a server that has run for a while. SQLite keeps a page cache
// per connection (32 MiB each for the writer and the reader by default);
// from an empty database those caches grow with it for as long as the run
// lasts, which an RSS check cannot tell from a leak. Writing and reading
// back more than the caches hold first fills them, as a deployed server's
// are. Every prefill message goes through message:send with a clientMsgId
// and into the ledger, so the final check covers it too. Single thread.
import { chatText } from "./random.mjs";
import { Tab } from "./tab.mjs";

const SENDERS = 120;
const ROOMS = 40;
const PER_SOCKET_PER_SEC = 15; // under chatd's 20 events/s per socket

export async function prefill(world, mib, log) {
  const { rng } = world;
  const target = mib * 1024 * 1024;
  const fillers = [];
  // Minimal users: a Tab needs only an id, a token, seen and onNotification.
  for (let i = 0; i < SENDERS; i++) {
    const id = `filler${i}`;
    fillers.push({ id, token: world.signToken(id, id, "student"), seen: new Map(), noteSeen() {}, onNotification() {} });
  }
  const rooms = [];
  for (let r = 0; r < ROOMS; r++) {
    const id = `archive-${r}`;
    const members = fillers.filter((_, i) => i % ROOMS === r).map((u) => u.id);
    const res = await world.restCall(null, "POST", "/api/rooms", { json: { id, kind: "group", title: `Archive ${r}`, members } });
    if (!res) throw new Error(`prefill: could not create ${id}`);
    world.rooms.set(id, { id, kind: "group", owner: null, members: new Set(members), archive: true });
    rooms.push(id);
  }
  const tabs = [];
  for (const u of fillers) {
    const tab = new Tab(u, world, ["websocket"]);
    if (!(await tab.open())) throw new Error("prefill: a sender could not connect");
    tabs.push(tab);
  }
  let bytes = 0;
  let sent = 0;
  const t0 = performance.now();
  await Promise.all(tabs.map(async (tab, i) => {
    const room = rooms[i % ROOMS];
    const start = performance.now();
    for (let n = 0; bytes < target; n++) {
      const due = start + (n * 1000) / PER_SOCKET_PER_SEC;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const text = chatText(rng, 4000);
      const clientMsgId = world.uid(`${tab.user.id}-`);
      const ack = await tab.call("message:send", { room, text, clientMsgId });
      if (!ack) return;
      for (const p of world.ledger.acked(ack.message, { clientMsgId, text })) world.problem("ack", p);
      bytes += Buffer.byteLength(text) + 200;
      sent += 1;
    }
  }));
  world.latencies = [];
  log(`prefill: ${sent} messages, ${(bytes / 1048576).toFixed(0)} MiB of text in ${((performance.now() - t0) / 1000).toFixed(0)} s; reading them back`);
  // Read everything back once, as clients scrolling through old history
  // would, so that the reader's cache holds history pages too.
  await Promise.all(tabs.slice(0, ROOMS).map(async (tab, i) => {
    let after = 0;
    for (let k = 0; k < 100000; k++) {
      const t = performance.now();
      const page = await tab.call("message:history", { room: rooms[i], after, limit: 200 });
      if (!page || !page.hasMore || page.messages.length === 0) break;
      after = page.messages[page.messages.length - 1].seq;
      const wait = 1000 / PER_SOCKET_PER_SEC - (performance.now() - t);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }));
  for (const tab of tabs) tab.close(false);
  return { sent, bytes };
}
