// End-to-end: call quality (docs/protocol.md, rtc:stats and rtc:quality).
// Stock socket.io-clients in a session room send rtc:stats the way the web
// client does (one per peer connection); chatd
// - validates each figure (type, bound, at least one) and the peer, and
//   answers forbidden, not_found, peer_not_found, room_ended as for rtc:*;
// - rate-limits rtc:stats with its own bucket (--rtc-stats-rate/-burst);
// - keeps min/avg/max per participant and per pair, readable by the room's
//   owner and the service (GET /api/rooms/{id}/quality, and the rtc:quality
//   event), not by a member or an outsider, and still after the session ended;
// - exports the reports as Prometheus histograms on /metrics;
// - bounds the summaries (--call-quality-rooms, --call-quality-participants);
// - with --threads 2, every loop's REST read shows every loop's reports,
//   and /metrics counts each report once;
// - in a cluster (and with CLUSTER_THREADS), every node's REST read shows
//   the reports of sockets on every node.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChatd, runChatd, connect, rest, ok, failed, person, uid, eventually, tempDir, API_KEY } from "./lib/harness.mjs";
import { startCluster } from "./lib/cluster.mjs";

const BURST = 20;
let server, small;
before(async () => {
  [server, small] = await Promise.all([
    startChatd({ args: ["--rtc-stats-rate", "1", "--rtc-stats-burst", String(BURST)] }),
    startChatd({ args: ["--call-quality-rooms", "2", "--call-quality-participants", "2"] }),
  ]);
});
after(async () => {
  assert.deepEqual(await Promise.all([server?.stop(), small?.stop()]), [0, 0], "chatd stops cleanly");
});

// A session room owned by `owner` with `members`, created by the service.
async function session(on, owner, members) {
  const r = await rest(on, "POST", "/api/rooms", {
    token: API_KEY, body: { kind: "session", id: uid("lesson-"), createdBy: owner.id, members: members.map((m) => m.id) },
  });
  assert.equal(r.status, 201, r.text);
  return r.body.room.id;
}

// Connected sockets of `people` on `on`, each joined to `room`.
async function joined(on, room, people) {
  const out = [];
  for (const p of people) {
    const c = await connect(on, p.token);
    ok(await c.call("room:join", { room }));
    out.push(c);
  }
  return out;
}

const quality = (on, room, token) => rest(on, "GET", `/api/rooms/${encodeURIComponent(room)}/quality`, { token });

// A metric's value in /metrics text (0 when absent).
function metric(text, line) {
  const m = text.split("\n").find((l) => l.startsWith(line + " "));
  return m ? Number(m.slice(line.length + 1)) : 0;
}

test("rtc:stats is validated: figures, bounds, peer, membership, room", async () => {
  const tina = person("tina"), ann = person("ann"), bob = person("bob");
  const room = await session(server, tina, [ann, bob]);
  const [a, b] = await joined(server, room, [ann, bob]);
  const other = await connect(server, tina.token); // the owner, not in the room
  try {
    const bad = [
      [{ rttMs: 10 }, "room"],
      [{ room, rttMs: "10" }, "rttMs"],
      [{ room, lossPct: 100.5 }, "lossPct"],
      [{ room, fps: -1 }, "fps"],
      [{ room, kbpsIn: 1000001 }, "kbpsIn"],
      [{ room, kbpsOut: true }, "kbpsOut"],
      [{ room }, "at least one"],
      [{ room, rttMs: null, fps: null }, "at least one"],
      [{ room, peer: 5, rttMs: 10 }, "peer"],
      [{ room, peer: "", rttMs: 10 }, "peer"],
    ];
    for (const [payload, field] of bad) {
      const ack = await a.call("rtc:stats", payload);
      failed(ack, "bad_request");
      assert.match(ack.error.message, new RegExp(field), JSON.stringify(payload));
    }
    failed(await a.call("rtc:stats", { room, peer: "no-such-sid", rttMs: 10 }), "peer_not_found");
    failed(await other.call("rtc:stats", { room, rttMs: 10 }), "forbidden");
    failed(await a.call("rtc:stats", { room: uid("nowhere-"), rttMs: 10 }), "not_found");
    // Bounds are inclusive; a whole summary without a peer is fine.
    ok(await a.call("rtc:stats", { room, peer: b.id, rttMs: 60000, lossPct: 100, kbpsIn: 1000000, kbpsOut: 0, fps: 240 }));
    ok(await b.call("rtc:stats", { room, fps: 0 }));
    // Nothing refused was counted.
    const q = await quality(server, room, API_KEY);
    assert.equal(q.status, 200, q.text);
    assert.deepEqual(q.body.participants.map((p) => [p.userId, p.reports]), [[ann.id, 1], [bob.id, 1]].sort());
  } finally {
    for (const c of [a, b, other]) c.close();
  }
});

test("reports are summed per participant and pair, for the owner and the service; histograms on /metrics", async () => {
  const tina = person("tina"), ann = person("ann"), bob = person("bob"), eve = person("eve");
  const room = await session(server, tina, [ann, bob]);
  const [t, a, b] = await joined(server, room, [tina, ann, bob]);
  const outsider = await connect(server, eve.token);
  try {
    const before = (await rest(server, "GET", "/metrics")).text;
    ok(await a.call("rtc:stats", { room, peer: b.id, rttMs: 40, lossPct: 0, kbpsIn: 800, kbpsOut: 900, fps: 30 }));
    ok(await a.call("rtc:stats", { room, peer: b.id, rttMs: 60, lossPct: 2, kbpsIn: 1000, fps: 24 }));
    ok(await a.call("rtc:stats", { room, peer: t.id, rttMs: 120 }));
    ok(await b.call("rtc:stats", { room, peer: a.id, rttMs: 50, kbpsIn: 950 }));

    const owner = await quality(server, room, tina.token);
    assert.equal(owner.status, 200, owner.text);
    const q = owner.body;
    assert.equal(q.room, room);
    const p = Object.fromEntries(q.participants.map((x) => [x.userId, x]));
    assert.deepEqual(Object.keys(p).sort(), [ann.id, bob.id].sort());
    assert.equal(p[ann.id].reports, 3);
    assert.deepEqual(p[ann.id].rttMs, { min: 40, avg: 73.3, max: 120 });
    assert.deepEqual(p[ann.id].lossPct, { min: 0, avg: 1, max: 2 });
    assert.deepEqual(p[ann.id].kbpsOut, { min: 900, avg: 900, max: 900 });
    assert.deepEqual(p[ann.id].fps, { min: 24, avg: 27, max: 30 });
    assert.equal(p[bob.id].lossPct, null, "a figure nobody reported is null");
    assert.match(p[ann.id].firstAt, /Z$/);
    const pairs = Object.fromEntries(q.pairs.map((x) => [`${x.from}>${x.to}`, x]));
    assert.deepEqual(Object.keys(pairs).sort(), [`${ann.id}>${bob.id}`, `${ann.id}>${tina.id}`, `${bob.id}>${ann.id}`].sort());
    assert.equal(pairs[`${ann.id}>${bob.id}`].reports, 2);
    assert.deepEqual(pairs[`${ann.id}>${bob.id}`].rttMs, { min: 40, avg: 50, max: 60 });
    assert.deepEqual(pairs[`${bob.id}>${ann.id}`].kbpsIn, { min: 950, avg: 950, max: 950 });

    const service = await quality(server, room, API_KEY);
    assert.equal(service.status, 200);
    assert.deepEqual(service.body, q);
    // The same through the socket event, for the owner.
    assert.deepEqual(ok(await t.call("rtc:quality", { room })).participants, q.participants);
    // A member and an outsider may not; no room is not_found.
    assert.equal((await quality(server, room, ann.token)).status, 403);
    failed(await a.call("rtc:quality", { room }), "forbidden");
    assert.equal((await quality(server, room, eve.token)).status, 403);
    assert.equal((await quality(server, uid("nowhere-"), tina.token)).status, 404);
    assert.equal((await quality(server, "bad room!", tina.token)).status, 400);
    assert.equal((await quality(server, room)).status, 401);

    // Every report went into the histograms (4 reports, 4 round trips:
    // 40, 50, 60 <= 100 < 120).
    const now = (await rest(server, "GET", "/metrics")).text;
    const delta = (line) => metric(now, line) - metric(before, line);
    assert.match(now, /^# TYPE chatd_call_rtt_ms histogram$/m);
    assert.equal(delta("chatd_call_stats_reports_total"), 4);
    assert.equal(delta("chatd_call_rtt_ms_count"), 4);
    assert.equal(delta('chatd_call_rtt_ms_bucket{le="50"}'), 2);
    assert.equal(delta('chatd_call_rtt_ms_bucket{le="100"}'), 3);
    assert.equal(delta('chatd_call_rtt_ms_bucket{le="+Inf"}'), 4);
    assert.equal(delta("chatd_call_rtt_ms_sum"), 270);
    assert.equal(delta("chatd_call_loss_pct_count"), 2);
    assert.equal(delta('chatd_call_loss_pct_bucket{le="0.1"}'), 1);
    assert.equal(delta("chatd_call_fps_count"), 2);
    assert.equal(delta('chatd_call_kbps_in_bucket{le="1000"}'), 3);

    // After the session ends: reports are refused, the summary stays.
    assert.equal((await rest(server, "POST", `/api/rooms/${room}/end`, { token: API_KEY })).status, 200);
    failed(await a.call("rtc:stats", { room, rttMs: 10 }), "room_ended");
    assert.deepEqual((await quality(server, room, tina.token)).body, q);
  } finally {
    for (const c of [t, a, b, outsider]) c.close();
  }
});

test("rtc:stats has its own rate limit", async () => {
  const tina = person("tina"), ann = person("ann");
  const room = await session(server, tina, [ann]);
  const [a] = await joined(server, room, [ann]);
  try {
    const acks = await Promise.all(Array.from({ length: BURST + 10 }, () => a.call("rtc:stats", { room, rttMs: 30 })));
    const passed = acks.filter((x) => x.ok).length;
    for (const x of acks.filter((y) => !y.ok)) failed(x, "rate_limited");
    assert.ok(passed >= BURST && passed <= BURST + 2, `${passed} passed of ${acks.length}`);
    // The other events keep their own buckets.
    ok(await a.call("typing", { room, typing: true }));
    ok(await a.call("presence:list", { room }));
    const q = await quality(server, room, API_KEY);
    assert.equal(q.body.participants[0].reports, passed, "refused reports are not counted");
  } finally {
    a.close();
  }
});

test("summaries are bounded: participants and pairs per room, and rooms", async () => {
  const tina = person("tina"), ann = person("ann"), bob = person("bob"), cy = person("cy");
  const room = await session(small, tina, [ann, bob, cy]);
  const [a, b, c] = await joined(small, room, [ann, bob, cy]);
  const clients = [a, b, c];
  try {
    const before = (await rest(small, "GET", "/metrics")).text;
    ok(await a.call("rtc:stats", { room, peer: b.id, rttMs: 10 }));
    ok(await b.call("rtc:stats", { room, peer: a.id, rttMs: 10 }));
    // A third user is answered ok but not kept; so is a third pair.
    ok(await c.call("rtc:stats", { room, peer: a.id, rttMs: 10 }));
    ok(await a.call("rtc:stats", { room, peer: c.id, rttMs: 20 }));
    const q = (await quality(small, room, API_KEY)).body;
    assert.deepEqual(q.participants.map((p) => p.userId).sort(), [ann.id, bob.id].sort());
    assert.equal(q.participants.find((p) => p.userId === ann.id).reports, 2, "the participant's own figures still count");
    assert.deepEqual(q.pairs.map((p) => `${p.from}>${p.to}`).sort(), [`${ann.id}>${bob.id}`, `${bob.id}>${ann.id}`].sort());
    const m = (await rest(small, "GET", "/metrics")).text;
    assert.equal(metric(m, "chatd_call_stats_not_kept_total") - metric(before, "chatd_call_stats_not_kept_total"), 2);
    assert.equal(metric(m, "chatd_call_stats_reports_total") - metric(before, "chatd_call_stats_reports_total"), 4);

    // Two more rooms with reports: the least recently reported is forgotten.
    for (let i = 0; i < 2; i++) {
      const r = await session(small, tina, [ann]);
      const [x] = await joined(small, r, [ann]);
      clients.push(x);
      ok(await x.call("rtc:stats", { room: r, rttMs: 5 }));
      assert.equal((await quality(small, r, API_KEY)).body.participants.length, 1);
    }
    const gone = await quality(small, room, API_KEY);
    assert.equal(gone.status, 200);
    assert.deepEqual(gone.body, { room, participants: [], pairs: [] });
  } finally {
    for (const x of clients) x.close();
  }
});

test("the options are checked at start", async () => {
  for (const [args, message] of [
    [["--rtc-stats-rate", "0"], /--rtc-stats-rate must be > 0 and --rtc-stats-burst >= 1/],
    [["--call-quality-rooms", "0"], /--call-quality-rooms and --call-quality-participants must be at least 1/],
    [["--call-quality-participants", "0"], /must be at least 1/],
  ]) {
    const r = await runChatd(["--dev", ...args, "--data-dir", tempDir()]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  const help = await runChatd(["--help"]);
  for (const flag of ["--rtc-stats-rate", "--rtc-stats-burst", "--call-quality-rooms", "--call-quality-participants"])
    assert.ok(help.stdout.includes(flag), `--help mentions ${flag}`);
});

test("with --threads 2, every loop reads the whole summary and /metrics sums the loops", async () => {
  const threaded = await startChatd({ args: ["--threads", "2"] });
  const clients = [];
  try {
    const tina = person("tina"), ann = person("ann"), bob = person("bob"), cy = person("cy");
    const room = await session(threaded, tina, [ann, bob, cy]);
    // New connections take turns over the loops: three sockets use both.
    clients.push(...await joined(threaded, room, [ann, bob, cy]));
    for (const c of clients) {
      await eventually(async () => (await c.call("rtc:stats", { room, peer: clients[0] === c ? clients[1].id : clients[0].id, rttMs: 30 })).ok,
        "a report naming a peer on the other loop is accepted once that loop heard of it");
    }
    // Each REST request is routed afresh (loops take turns): once the loops
    // heard each other, four reads in a row (both loops) are all whole.
    await eventually(async () => {
      for (let i = 0; i < 4; i++) if ((await quality(threaded, room, tina.token)).body.participants.length !== 3) return false;
      return true;
    }, "four reads in a row show all three participants");
    const m = (await rest(threaded, "GET", "/metrics")).text;
    assert.equal(metric(m, "chatd_loops"), 2);
    assert.equal(metric(m, "chatd_call_rtt_ms_count"), 3, "each report counted once, the loops summed");
  } finally {
    for (const c of clients) c.close();
    assert.equal(await threaded.stop(), 0);
  }
});

test("in a cluster, every node's read shows the reports of every node's sockets", { timeout: 90000 }, async () => {
  const cluster = await startCluster({ nodes: 2 });
  try {
    const n1 = cluster.node(1), n2 = cluster.node(2);
    const tina = person("tina"), ann = person("ann"), bob = person("bob");
    const room = await session(n1, tina, [ann, bob]);
    const [a] = await joined(n1, room, [ann]);
    const [b] = await joined(n2, room, [bob]);
    try {
      // Node 1 learns of Bob's socket over the bus; until then his sid is no peer there.
      await eventually(async () => (await a.call("rtc:stats", { room, peer: b.id, rttMs: 70, fps: 25 })).ok,
        "ann's report about bob (on the other node) is accepted", 10000);
      ok(await b.call("rtc:stats", { room, peer: a.id, rttMs: 80 }));
      for (const on of [n1, n2]) {
        await eventually(async () => {
          const q = (await quality(on, room, tina.token)).body;
          const pairs = new Set(q.pairs.map((p) => `${p.from}>${p.to}`));
          return q.participants.length === 2 && pairs.has(`${ann.id}>${bob.id}`) && pairs.has(`${bob.id}>${ann.id}`);
        }, `node ${on === n1 ? 1 : 2} shows both participants and both pairs`, 10000);
      }
      const q2 = (await quality(n2, room, API_KEY)).body;
      assert.deepEqual(q2.participants.find((p) => p.userId === ann.id).fps, { min: 25, avg: 25, max: 25 });
      // Each node's histograms count its own sockets' reports (its loops summed).
      const m1 = (await rest(n1, "GET", "/metrics")).text, m2 = (await rest(n2, "GET", "/metrics")).text;
      assert.ok(metric(m1, "chatd_call_rtt_ms_count") >= 1, "node 1 counted ann's report");
      assert.equal(metric(m2, "chatd_call_rtt_ms_count"), 1, "node 2 counted bob's only");
    } finally {
      a.close();
      b.close();
    }
  } finally {
    assert.deepEqual(await cluster.close(), [0, 0], "every node stops cleanly");
  }
});
