// The soak's people and rooms at the start: users with one or two tabs
// (most on WebSocket, some on polling that upgrades), and group rooms of
// realistic sizes (many small groups, some classes, a few big courses),
// made by their owners through the service API. Single thread.
import { User } from "./user.mjs";

// Room sizes: [min, max, weight].
const SIZES = [[[3, 8], 65], [[10, 30], 28], [[50, 120], 7]];

// A token bucket for the soak's own bursts of REST calls (setup and the
// final check), kept under chatd's per-caller limit of 50/s.
export function pacer(perSecond) {
  let next = 0;
  return async () => {
    const now = performance.now();
    const at = Math.max(next, now);
    next = at + 1000 / perSecond;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  };
}

export async function populate(world, { users, rooms }) {
  const { rng } = world;
  for (let i = 0; i < users; i++) {
    const id = `u${i}`;
    const u = new User(world, id, i % 12 === 0 ? "tutor" : "student");
    const tabs = rng.chance(0.15) ? 2 : 1;
    for (let t = 0; t < tabs; t++) u.tabTransports.push(rng.chance(0.7) ? ["websocket"] : ["polling", "websocket"]);
    world.users.set(id, u);
  }
  const everyone = [...world.users.values()];
  const pace = pacer(40);
  for (let r = 0; r < rooms; r++) {
    const [lo, hi] = rng.weighted(SIZES.map(([range, w]) => [range, w]));
    const members = rng.sample(everyone, Math.min(rng.int(lo, hi), everyone.length));
    const owner = members[0];
    const id = `room-${r}`;
    await pace();
    const res = await world.restCall(null, "POST", "/api/rooms", {
      json: { id, kind: "group", title: `Room ${r}`, createdBy: owner.id,
        members: members.slice(1).map((u) => ({ userId: u.id, role: u.role === "tutor" ? "tutor" : "member" })) },
    });
    if (!res) throw new Error(`could not create ${id}`);
    world.rooms.set(id, { id, kind: "group", owner: owner.id, members: new Set(members.map((u) => u.id)) });
    for (const u of members) u.rooms.add(id);
  }
}

// Every user opens their tabs, spread over `overSec` seconds, then starts
// acting. Returns the users' loops (they end when world.running is false).
export async function connectAll(world, overSec) {
  const users = [...world.users.values()];
  const gap = (overSec * 1000) / Math.max(1, users.length);
  const loops = [];
  for (const u of users) {
    loops.push(u.enqueue(async () => {
      for (const transports of u.tabTransports) await u.openTab(transports);
    }).then(() => u.loop()));
    await new Promise((r) => setTimeout(r, gap));
  }
  return loops;
}
