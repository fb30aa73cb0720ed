// A chatd cluster for the end-to-end suite: one throwaway PostgreSQL (a
// fresh database), one throwaway Redis, and N chatd nodes on both
// (--store postgres, --bus, --node-id n1..nN), each on its own ephemeral
// loopback port. Used by cluster.test.mjs and cluster_failures.test.mjs.
// Nodes are numbered from 1 (node(1) is "n1"). Everything started here is
// stopped by close() and killed when the test process exits.
import { startChatd, rest } from "./harness.mjs";
import { startPostgres } from "./pg.mjs";
import { startRedis } from "./redis.mjs";

// Sends are limited per socket; the cluster tests are no abuse.
export const NO_LIMITS = ["--message-rate", "100000", "--message-burst", "100000"];

let databases = 0;

// CLUSTER_THREADS=N (the ".threads" variants in CMakeLists.txt): every node
// runs N loops (--threads), each a node of its own on the bus, so the same
// tests check what crosses loops of one process as well as processes.
export const THREADS = Number(process.env.CLUSTER_THREADS ?? 1);

// Starts PostgreSQL, Redis and `nodes` chatd nodes (in parallel); `args`
// go to every node. Pass `pg` or `redis` to share a server between
// clusters of one file (each cluster still gets a fresh database).
export async function startCluster({ nodes = 3, nodeTimeout = 3, args = [], pg, redis } = {}) {
  const ownPg = !pg, ownRedis = !redis;
  [pg, redis] = await Promise.all([pg ?? startPostgres(), redis ?? startRedis()]);
  const db = `cluster_${process.pid}_${++databases}`;
  await pg.sql(`CREATE DATABASE ${db}`);
  const argv = (i) => ["--pg-url", pg.url(db), "--bus", redis.url, "--node-id", `n${i}`,
    "--node-timeout", String(nodeTimeout), "--threads", String(THREADS), ...NO_LIMITS, ...args];
  const servers = [];
  const boot = (i) => startChatd({ store: "postgres", args: argv(i) }).then((s) => (servers[i - 1] = s));
  const check = (i) => {
    if (!Number.isInteger(i) || i < 1 || i > nodes) throw new Error(`no node ${i} in a cluster of ${nodes}`);
  };
  try {
    await Promise.all(Array.from({ length: nodes }, (_, k) => boot(k + 1)));
  } catch (e) {
    await Promise.allSettled(servers.filter(Boolean).map((s) => s.stop("SIGKILL")));
    if (ownRedis) await redis.close();
    if (ownPg) await pg.close();
    throw e;
  }
  return {
    pg,
    redis,
    db,
    size: nodes,
    // The chatd of node i (1-based): {url, port, log(), stop(), ...} as startChatd.
    node(i) {
      check(i);
      return servers[i - 1];
    },
    nodes: () => [...servers],
    // SIGKILL, and wait until the process is gone.
    async kill(i) {
      check(i);
      await servers[i - 1].stop("SIGKILL");
    },
    // Stops node i if it still runs, then starts it again with the same
    // node id (on a new port: node(i).url changes).
    async restart(i) {
      check(i);
      await servers[i - 1].stop();
      await boot(i);
      return servers[i - 1];
    },
    // /healthz of node i: { status, body }.
    healthz: (i) => rest(servers[i - 1], "GET", "/healthz"),
    // Stops every node (SIGTERM), then the servers this cluster started;
    // resolves with each node's exit code (null for one that was killed).
    async close() {
      const codes = await Promise.allSettled(servers.map((s) => s.stop()));
      if (ownRedis) await redis.close();
      if (ownPg) await pg.close();
      return codes.map((c) => (c.status === "fulfilled" ? c.value : c.reason));
    },
  };
}
