// End-to-end: three chatd nodes (lib/cluster.mjs) behind Debian's nginx,
// round-robin with no affinity (lib/nginx.mjs), and socket.io-clients that
// only know nginx's address. Each long-polling request and each WebSocket
// upgrade may reach any node; the node that does not hold the session
// relays the connection to the one that does (its --advertise address, from
// the node tag in the sid). So:
// - every story of docs/protocol.md section 8 passes with clients forced
//   to long-polling, and again with polling upgraded to WebSocket;
// - the sessions are held by all three nodes, and requests were relayed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect, rest, ok, person, eventually, API_KEY } from "./lib/harness.mjs";
import { startCluster } from "./lib/cluster.mjs";
import { startBalancer } from "./lib/nginx.mjs";
import { stories } from "./lib/stories.mjs";

const T = { timeout: 60000 };

let cluster, nginx;
before(async () => {
  cluster = await startCluster({ nodes: 3, args: ["--stun-urls", "stun:stun.l.google.com:19302"] });
  nginx = await startBalancer(cluster.nodes());
  // A node relays to the others once it has heard where they are.
  for (let i = 1; i <= 3; ++i) {
    await eventually(async () => /^chatd_cluster_routable_nodes 2$/m.test(
      (await rest(cluster.node(i), "GET", "/metrics", { token: API_KEY })).text),
    `node ${i} to know where the other two are`, 10000);
  }
});
after(async () => {
  await nginx?.close();
  assert.deepEqual(await cluster?.close(), [0, 0, 0], "every node stops cleanly");
});

const polling = () => ({ url: nginx.url, clientOptions: { transports: ["polling"] } });
const upgrading = () => ({ url: nginx.url, clientOptions: { transports: ["polling", "websocket"] } });

for (const [name, play] of stories) {
  test(`through nginx round-robin, long-polling only: ${name}`, T, () => play(() => polling()));
}
for (const [name, play] of stories) {
  test(`through nginx round-robin, polling upgraded to WebSocket: ${name}`, T, () => play(() => upgrading()));
}

test("sessions are held by every node, and each keeps working through any node", T, async () => {
  const who = person("spread");
  const clients = [];
  try {
    for (let i = 0; i < 9; ++i) clients.push(await connect(polling(), who.token));
    // Characters 1-6 of a sid name the node that holds the session.
    const nodes = new Set(clients.map((c) => c.socket.io.engine.id.slice(1, 7)));
    assert.equal(nodes.size, 3, clients.map((c) => c.socket.io.engine.id).join(" "));
    for (let round = 0; round < 3; ++round)
      for (const c of clients) assert.ok(ok(await c.call("rooms:list", {})).rooms);
    assert.ok(clients.every((c) => c.socket.io.engine.transport.name === "polling"));
  } finally {
    for (const c of clients) c.close();
  }
});
