// chatd soak: a real chatd (SQLite in a temporary directory, ephemeral
// loopback port) under a mixed, realistic load for a set time, sampled as
// it goes, then checked: zero unexpected errors or disconnects, every
// message:new in order without gap or duplicate on every socket, every
// acknowledged message in history exactly once (id, seq, clientMsgId, last
// edit), RSS flat after warm-up, no descriptor left behind. Prints a
// markdown table over time and the verdicts; exits 1 on any violation.
//
//   node bench/soak/soak.mjs --minutes 30            the full run (docs/soak.md)
//   node bench/soak/soak.mjs --short                 CI's one-minute variant
//   CHATD=build/apps/chatd/chatd node bench/soak/soak.mjs --help
//
// The load: socket.io-client sockets (WebSocket, and polling that upgrades)
// and REST calls, from one node process; see lib/user.mjs for the actions.
import { writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { availableParallelism as nproc, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { makeRng } from "./lib/random.mjs";
import { Rest } from "./lib/http.mjs";
import { World } from "./lib/world.mjs";
import { populate, connectAll, pacer } from "./lib/population.mjs";
import { prefill } from "./lib/prefill.mjs";
import { procSample, metricsSample } from "./lib/sampler.mjs";
import { rssVerdict, fdVerdict, historyProblems, MiB } from "./lib/checks.mjs";
import { textHash } from "./lib/ledger.mjs";
import { table, percentile } from "./lib/report.mjs";

const { values: a } = parseArgs({
  options: {
    minutes: { type: "string" },
    seconds: { type: "string" },
    short: { type: "boolean", default: false },
    users: { type: "string" },
    rooms: { type: "string" },
    "think-sec": { type: "string" },
    "warmup-sec": { type: "string" },
    "row-sec": { type: "string" },
    "poll-sec": { type: "string", default: "2" },
    "rss-tol-mib": { type: "string", default: "8" },
    "rss-tol-pct": { type: "string", default: "10" },
    seed: { type: "string", default: "1" },
    "prefill-mib": { type: "string" },
    skip: { type: "string", default: "" },
    report: { type: "string" },
    chatd: { type: "string" },
    "chatd-args": { type: "string", default: "" },
    help: { type: "boolean", default: false },
  },
});
if (a.help) {
  console.log(`usage: node bench/soak/soak.mjs [--minutes N | --seconds N | --short] [options]
  --users N          people (default 400; --short 80)
  --rooms N          group rooms at the start (default 80; --short 20)
  --think-sec S      mean time between one user's actions (default 10; --short 2.5)
  --warmup-sec S     RSS is judged from here on (default 20 % of the run, 60..300 s; --short 20)
  --row-sec S        one report row per S seconds (default run/30, 5..60 s)
  --poll-sec S       sampling period of /proc and /metrics (default 2)
  --rss-tol-mib M, --rss-tol-pct P   allowed RSS growth after warm-up: max(M MiB, P %) (default 8, 10)
  --prefill-mib M    history written (and read back) before the load, so SQLite's
                     page caches are as full as a running server's (default 100; --short 0)
  --skip A,B         leave these actions out of the mix (names in lib/user.mjs: send, read,
                     edit, delete, history, rest, attach, download, switch, reconnect,
                     membership, create, presence, retry, search), to isolate a finding
  --seed N           the load's random seed (default 1)
  --report FILE      also write the report there
  --chatd PATH       the chatd binary (default: $CHATD)
  --chatd-args="..." more chatd options, space-separated (e.g. --chatd-args="--sqlite-sync normal")`);
  process.exit(0);
}

const num = (v, d) => (v === undefined ? d : Number(v));
const short = a.short;
const durationSec = a.seconds !== undefined ? Number(a.seconds) : a.minutes !== undefined ? Number(a.minutes) * 60 : short ? 60 : 1800;
const options = {
  durationSec,
  users: num(a.users, short ? 80 : 400),
  rooms: num(a.rooms, short ? 20 : 80),
  thinkSec: num(a["think-sec"], short ? 2.5 : 10),
  warmupSec: num(a["warmup-sec"], short ? 20 : Math.min(300, Math.max(60, durationSec * 0.2))),
  rowSec: num(a["row-sec"], Math.min(60, Math.max(5, durationSec / 30))),
  pollSec: Number(a["poll-sec"]),
  rssTolMiB: Number(a["rss-tol-mib"]),
  rssTolPct: Number(a["rss-tol-pct"]),
  seed: Number(a.seed),
  prefillMiB: num(a["prefill-mib"], short ? 0 : 100),
  skip: a.skip.split(",").filter(Boolean),
  maxTextChars: 4000,
  replayLimit: 1000,
};
if (a.chatd) process.env.CHATD = a.chatd;
if (!process.env.CHATD) {
  console.error("soak: name the chatd binary with --chatd or CHATD");
  process.exit(2);
}
// The e2e harness starts chatd the way every e2e test does (and kills it
// if this process dies); it reads CHATD when imported.
const { startChatd, signJwt, API_KEY } = await import("../../tests/e2e/lib/harness.mjs");

const log = (...m) => console.error(`[soak ${new Date().toISOString().slice(11, 19)}]`, ...m);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tokenTtl = durationSec + 3600;
const signToken = (sub, name, role) => signJwt({ sub, name, role, exp: Math.floor(Date.now() / 1000) + tokenTtl });

// chatd with its defaults except what a test harness must set: the REST
// limit stays at the default 50/s per caller (the e2e harness raises it).
const extraArgs = a["chatd-args"].split(" ").filter(Boolean);
const server = await startChatd({ dev: false, args: ["--rest-rate", "50", "--rest-burst", "100", ...extraArgs] });
const pid = server.proc.pid;
log(`chatd pid ${pid} on port ${server.port}, data in ${server.dataDir}`);
const rest = new Rest(server.port);
const world = new World({ url: server.url, port: server.port, rest, rng: makeRng(options.seed), options, signToken, apiKey: API_KEY });

// Descriptors once the soak's REST connections are closed: waits (bounded)
// until the count is at most `target`, or, without one, stops changing.
async function quietFds(target, ms = 30000) {
  rest.reset();
  const end = performance.now() + ms;
  let last = -1;
  let stableSince = performance.now();
  for (;;) {
    const n = procSample(pid).fds;
    if (target !== undefined && n <= target) return n;
    if (n !== last) {
      last = n;
      stableSince = performance.now();
    } else if (target === undefined && performance.now() - stableSince > 1000) {
      return n;
    }
    if (performance.now() > end) return n;
    await sleep(100);
  }
}

// ---- setup ------------------------------------------------------------------
let prefilled = { sent: 0, bytes: 0 };
if (options.prefillMiB > 0) {
  log(`prefill: writing ${options.prefillMiB} MiB of history`);
  const p = await prefill(world, options.prefillMiB, log);
  const m = (await metricsSample(rest)).values;
  for (let i = 0; i < 300 && m.chatd_connections !== 0; i++) {
    await sleep(100);
    Object.assign(m, (await metricsSample(rest)).values);
  }
  log(`prefill done: ${p.sent} messages; chatd ${(procSample(pid).rss / MiB).toFixed(1)} MiB`);
  prefilled = p;
  world.counts = new Map();
}
await populate(world, options);
const baselineFds = await quietFds();
const startRss = procSample(pid).rss;
log(`${world.users.size} users, ${world.rooms.size} rooms; chatd ${(startRss / MiB).toFixed(1)} MiB, ${baselineFds} fds before the first socket`);

// ---- sampling ---------------------------------------------------------------
const rows = [];
const rssSamples = [];
let polls = [];
let t0 = performance.now();
const elapsed = () => (performance.now() - t0) / 1000;
let rowStart = null;
let sampling = true;

async function poll() {
  if (server.proc.exitCode !== null || server.proc.signalCode !== null) {
    world.problem("chatd exited", `exit ${server.proc.exitCode} signal ${server.proc.signalCode}`);
    world.halt();
    return null;
  }
  const p = procSample(pid);
  let m;
  try {
    m = await metricsSample(rest);
  } catch (e) {
    world.problem("metrics", e.message);
    return null;
  }
  const s = { t: elapsed(), ...p, m: m.values, errors: m.labelled.chatd_errors_total ?? {}, cpu: process.cpuUsage() };
  polls.push(s);
  return s;
}

function closeRow(now) {
  if (!rowStart || polls.length === 0) return;
  const last = polls[polls.length - 1];
  const dt = now.t - rowStart.t;
  const d = (k) => ((now.m[k] ?? 0) - (rowStart.m[k] ?? 0)) / dt;
  const mx = (k) => Math.max(...polls.map((p) => p.m[k] ?? 0));
  const sumErrors = (e) => Object.values(e).reduce((x, y) => x + y, 0);
  const lat = world.latencies;
  world.latencies = [];
  const row = {
    t: now.t, rss: last.rss, fds: last.fds, conns: last.m.chatd_connections,
    sendqMax: mx("chatd_send_queue_bytes"), sendqOneMax: mx("chatd_send_queue_max_bytes"), storeqMax: mx("chatd_store_queue_depth"),
    eventsPerSec: d("chatd_events_total"), storedPerSec: d("chatd_messages_in_total"), deliveredPerSec: d("chatd_messages_out_total"),
    ackP50: percentile(lat, 50), ackP99: percentile(lat, 99), acks: lat.length,
    serverErrors: sumErrors(now.errors), clientProblems: world.problemTotal,
    chatdCpu: ((now.cpuSec - rowStart.cpuSec) / dt) * 100,
    soakCpu: ((now.cpu.user + now.cpu.system - rowStart.cpu.user - rowStart.cpu.system) / 1e6 / dt) * 100,
  };
  rows.push(row);
  rssSamples.push({ t: row.t, rss: row.rss });
  log(table([row]).split("\n")[2]);
  polls = [now];
  rowStart = now;
}

async function sampler() {
  rowStart = await poll();
  polls = rowStart ? [rowStart] : [];
  let nextRow = options.rowSec;
  while (sampling) {
    await sleep(options.pollSec * 1000);
    const s = await poll();
    if (!s) continue;
    if (s.t >= nextRow) {
      closeRow(s);
      nextRow += options.rowSec;
    }
  }
}

// ---- the load -----------------------------------------------------------------
log(`load for ${durationSec} s: think ${options.thinkSec} s per user; warm-up ${options.warmupSec} s; a row every ${options.rowSec} s`);
log(`| ${table([]).split("\n")[0].slice(2)}`);
t0 = performance.now();
world.running = true;
const sampling_ = sampler();
const loops = await connectAll(world, Math.min(30, durationSec / 10));
while (world.running && elapsed() < durationSec) await sleep(250);
world.halt();
const stopped = await Promise.race([
  Promise.all([...loops, ...[...world.users.values()].map((u) => u.chain)]).then(() => true),
  sleep(60000).then(() => false),
]);
if (!stopped) world.problem("client stuck", "users still busy 60 s after the load stopped");
const lastPoll = await poll();
if (lastPoll) closeRow(lastPoll);
sampling = false;
await sampling_;

// ---- every acked message in history, once -------------------------------------
log(`checking history: ${world.ledger.size} acked messages in ${world.rooms.size} rooms`);
const acked = world.ledger.byRoom();
const roomIds = [...new Set([...world.rooms.keys(), ...acked.keys()])];
let checked = 0;
let historyMessages = 0;
const admins = [0, 1, 2, 3].map((i) => ({ token: signToken(`soak-admin-${i}`, "Soak admin", "admin"), pace: pacer(40) }));
async function checkRoom(room, admin) {
  const messages = [];
  let after = 0;
  for (let i = 0; i < 100000; i++) {
    await admin.pace();
    const r = await world.restCall(admin, "GET", `/api/rooms/${encodeURIComponent(room)}/messages?after=${after}&limit=200`, {}, "history check");
    if (!r) return;
    messages.push(...r.body.messages);
    if (!r.body.hasMore || r.body.messages.length === 0) break;
    after = r.body.messages[r.body.messages.length - 1].seq;
  }
  const mine = acked.get(room) ?? [];
  for (const p of historyProblems(room, messages, mine, textHash)) world.problem("history", p);
  checked += mine.length;
  historyMessages += messages.length;
}
const queue = [...roomIds];
await Promise.all(admins.map(async (admin) => {
  while (queue.length) await checkRoom(queue.shift(), admin);
}));

// ---- everyone leaves; nothing may stay open ----------------------------------
for (const u of world.users.values()) for (const t of u.tabs) t.close(false);
let finalMetrics = null;
for (let i = 0; i < 300; i++) {
  finalMetrics = await metricsSample(rest).catch(() => null);
  if (finalMetrics && finalMetrics.values.chatd_connections === 0) break;
  await sleep(100);
}
if (!finalMetrics || finalMetrics.values.chatd_connections !== 0) {
  world.problem("connections left", `${finalMetrics?.values.chatd_connections} Engine.IO connections 30 s after every client closed`);
}
const endFds = await quietFds(baselineFds);
const endRss = procSample(pid).rss;
const exitCode = await server.stop();
if (exitCode !== 0) world.problem("chatd exit", `SIGTERM: exit code ${exitCode}`);

// ---- verdicts -----------------------------------------------------------------
const verdicts = [];
const rssV = rssVerdict(rssSamples, { warmupSec: options.warmupSec, tolMiB: options.rssTolMiB, tolPct: options.rssTolPct });
if (process.env.SOAK_SANITIZED) verdicts.push(["RSS flat after warm-up", true, `not judged (sanitizer build; ASan's memory): ${rssV.why}`]);
else verdicts.push(["RSS flat after warm-up", rssV.ok, rssV.why]);
const fdV = fdVerdict({ baseline: baselineFds, end: endFds });
verdicts.push(["no descriptor left", fdV.ok, fdV.why]);
const serverErrors = finalMetrics?.labelled.chatd_errors_total ?? {};
const serverErrorTotal = Object.values(serverErrors).reduce((x, y) => x + y, 0);
verdicts.push(["no error answered by chatd", serverErrorTotal === 0,
  serverErrorTotal === 0 ? "chatd_errors_total is 0 for every code" : `chatd_errors_total: ${JSON.stringify(serverErrors)}`]);
const tooSlow = finalMetrics?.values.chatd_too_slow_closes_total ?? NaN;
verdicts.push(["no socket cut as too slow", tooSlow === 0, `chatd_too_slow_closes_total ${tooSlow}`]);
const historyOk = !world.problems.has("history") && checked === world.ledger.size;
verdicts.push(["every acked message in history once", historyOk,
  `${checked} of ${world.ledger.size} acked messages checked against ${historyMessages} stored in ${roomIds.length} rooms; ` +
  `${world.problems.get("history")?.count ?? 0} problems`]);
const clientKinds = [...world.problems.keys()].filter((k) => k !== "history");
const clientProblems = clientKinds.reduce((n, k) => n + world.problems.get(k).count, 0);
verdicts.push(["no unexpected error, disconnect, gap or duplicate seen by a client", clientProblems === 0,
  clientProblems === 0 ? "none" : clientKinds.map((k) => `${k}: ${world.problems.get(k).count}`).join("; ")]);
if (rows.length === 0) verdicts.push(["samples taken", false, "no report row: the run was too short or chatd died"]);

const c = (k) => world.counts.get(k) ?? 0;
const totalsRow = rows.length ? rows[rows.length - 1] : null;
const secs = rows.length ? rows[rows.length - 1].t : durationSec;
const lines = [];
lines.push(`## chatd soak, ${new Date().toISOString().slice(0, 16)}Z: ${(durationSec / 60).toFixed(durationSec < 600 ? 1 : 0)} min, ` +
  `${options.users} users, ${options.rooms} rooms at the start, think ${options.thinkSec} s, seed ${options.seed}, ` +
  `prefill ${options.prefillMiB} MiB${options.skip.length ? `, without: ${options.skip.join(", ")}` : ""}`);
let commit = "unknown commit";
try {
  commit = execFileSync("git", ["-C", new URL(".", import.meta.url).pathname, "log", "-1", "--format=%h %s"], { encoding: "utf8" }).trim();
} catch {}
lines.push("");
lines.push(`chatd ${process.env.CHATD}${extraArgs.length ? ` ${extraArgs.join(" ")}` : ""} at ${commit}; ` +
  `${nproc()} CPUs, load average ${loadavg().map((x) => x.toFixed(1)).join(" ")} at the end`);
lines.push("");
lines.push(table(rows));
lines.push("");
const loadAcked = world.ledger.size - prefilled.sent;
lines.push(`- messages acked during the load: ${loadAcked} (${(loadAcked / secs).toFixed(1)}/s), clientMsgId retries ${world.ledger.retries}; ` +
  `before it (prefill): ${prefilled.sent} (${(prefilled.bytes / MiB).toFixed(0)} MiB); all ${checked} checked in history, ` +
  `which holds ${historyMessages} (with system messages)`);
lines.push(`- events answered (client count): send ${c("message:send")}, edit ${c("message:edit")}, delete ${c("message:delete")}, ` +
  `read ${c("message:read")}, typing ${c("typing")}, history ${c("message:history")}, search ${c("message:search")}, ` +
  `join ${c("room:join")}, leave ${c("room:leave")}, create ${c("room:create")}, member add ${c("member:add")} / remove ${c("member:remove")}, ` +
  `presence ${c("presence:list")}, rooms:list ${c("rooms:list")}`);
lines.push(`- REST: GET ${c("REST GET")}, POST ${c("REST POST")}, PATCH ${c("REST PATCH")}, DELETE ${c("REST DELETE")}; ` +
  `uploads ${(c("upload bytes") / MiB).toFixed(1)} MiB, downloads ${(c("download bytes") / MiB).toFixed(1)} MiB checked byte for byte`);
lines.push(`- received: message:new ${c("event message:new")}, typing ${c("event typing")}, message:read ${c("event message:read")}, ` +
  `presence join/leave ${c("event presence:join")}/${c("event presence:leave")}, notifications ${c("event notification")}`);
lines.push(`- connections: ${c("connect")} connects (${c("abrupt close")} abrupt closes); replays ${c("replay messages")} messages, ` +
  `${c("truncated replay")} truncated; groups left ${c("left a group")}, added back ${c("added back")}; ` +
  `rooms created: group ${c("created group")}, direct ${c("created direct")}`);
lines.push(`- chatd: RSS ${(startRss / MiB).toFixed(1)} MiB before the load, ${(rssV.peak / MiB).toFixed(1)} MiB peak after warm-up, ` +
  `${(endRss / MiB).toFixed(1)} MiB once idle; fds ${baselineFds} before, ${endFds} after; exit ${exitCode}` +
  (totalsRow ? `; stored ${finalMetrics?.values.chatd_messages_in_total}, delivered ${finalMetrics?.values.chatd_messages_out_total}` : ""));
lines.push("");
lines.push("| check | verdict | figures |");
lines.push("|---|---|---|");
for (const [what, ok, why] of verdicts) lines.push(`| ${what} | ${ok ? "pass" : "**FAIL**"} | ${why} |`);
for (const [kind, p] of world.problems) {
  lines.push("");
  lines.push(`${kind} (${p.count}), first ones:`);
  for (const e of p.examples) lines.push(`    ${e.split("\n")[0]}`);
}
const failed = verdicts.some(([, ok]) => !ok);
lines.push("");
lines.push(failed ? "SOAK FAILED" : "SOAK PASSED");
const out = lines.join("\n");
console.log(out);
if (a.report) writeFileSync(a.report, out + "\n");
if (failed) console.error(`chatd log (tail):\n${server.log().slice(-3000)}`);
process.exit(failed ? 1 : 0);
