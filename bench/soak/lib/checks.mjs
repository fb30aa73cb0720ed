// The soak's verdicts as pure functions of what it recorded, so that
// checks.test.mjs can show each one failing on made-up data. Used by
// soak.mjs at the end of a run.

export const MiB = 1024 * 1024;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// RSS after warm-up. `samples` are {t (s), rss (bytes)} taken while the load
// ran. The reference is the median of the first `window` samples at or after
// warmupSec, the end the median of the last `window`; the run fails when the
// end exceeds the reference by more than max(tolMiB, tolPct % of it).
// Medians keep one transient spike from deciding.
export function rssVerdict(samples, { warmupSec, tolMiB, tolPct, window = 3 }) {
  const after = samples.filter((s) => s.t >= warmupSec);
  if (after.length < 2 * window) {
    return { ok: false, why: `only ${after.length} RSS samples after the ${warmupSec} s warm-up; need ${2 * window}` };
  }
  const ref = median(after.slice(0, window).map((s) => s.rss));
  const end = median(after.slice(-window).map((s) => s.rss));
  const peak = Math.max(...after.map((s) => s.rss));
  const allowed = Math.max(tolMiB * MiB, (ref * tolPct) / 100);
  const growth = end - ref;
  // Least-squares slope over the samples after warm-up, in MiB per hour.
  const n = after.length;
  const mt = after.reduce((a, s) => a + s.t, 0) / n;
  const mr = after.reduce((a, s) => a + s.rss, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of after) {
    num += (s.t - mt) * (s.rss - mr);
    den += (s.t - mt) ** 2;
  }
  const slopeMiBPerHour = den > 0 ? ((num / den) * 3600) / MiB : 0;
  const fmt = (b) => (b / MiB).toFixed(1);
  return {
    ok: growth <= allowed,
    ref,
    end,
    peak,
    growth,
    allowed,
    slopeMiBPerHour,
    why: `RSS ${fmt(ref)} MiB after warm-up -> ${fmt(end)} MiB at the end (${growth >= 0 ? "+" : ""}${fmt(growth)} MiB; ` +
      `allowed +${fmt(allowed)} MiB = max(${tolMiB} MiB, ${tolPct} %)); peak ${fmt(peak)} MiB; trend ${slopeMiBPerHour.toFixed(1)} MiB/h`,
  };
}

// Open descriptors once every client is gone, against the count before
// the first client came: any more is a leak (sockets, files, pipes).
export function fdVerdict({ baseline, end }) {
  return {
    ok: end <= baseline,
    why: `${end} fds with no clients at the end, ${baseline} before the load (${end - baseline >= 0 ? "+" : ""}${end - baseline})`,
  };
}

// One socket's message:new seqs for one room. Returns the new `next`
// (the seq it expects after these) and the problems: a seq below `next` is a
// duplicate, above it a gap. `next` null means "any start" (a join that
// asked for no replay).
export function followSeqs(next, seqs) {
  const problems = [];
  for (const s of seqs) {
    if (next !== null && s !== next) problems.push(s < next ? `duplicate seq ${s} (expected ${next})` : `gap: seq ${s} after ${next - 1}`);
    next = s + 1;
  }
  return { next, problems };
}

// The final history check: `pages` is one room's history in seq order
// (every message the server has), `acked` the messages the server acked to
// the load, by id: {room, seq, clientMsgId, senderId, textHash, deleted}.
// Returns the problems: seqs not 1..N, ids twice, acked messages missing,
// moved, with another clientMsgId or stale text, (sender, clientMsgId)
// stored twice.
export function historyProblems(room, messages, ackedInRoom, hash) {
  const problems = [];
  const byId = new Map();
  const byClientId = new Map();
  let expect = 1;
  for (const m of messages) {
    if (m.seq !== expect) problems.push(`${room}: history seq ${m.seq} where ${expect} was due`);
    expect = m.seq + 1;
    if (byId.has(m.id)) problems.push(`${room}: message ${m.id} twice in history (seq ${byId.get(m.id).seq} and ${m.seq})`);
    byId.set(m.id, m);
    if (m.clientMsgId) {
      const key = `${m.senderId}\u0000${m.clientMsgId}`;
      if (byClientId.has(key)) problems.push(`${room}: clientMsgId ${m.clientMsgId} of ${m.senderId} stored twice (seq ${byClientId.get(key)} and ${m.seq})`);
      byClientId.set(key, m.seq);
    }
  }
  for (const a of ackedInRoom) {
    const m = byId.get(a.id);
    if (!m) {
      problems.push(`${room}: acked message ${a.id} (seq ${a.seq}, clientMsgId ${a.clientMsgId}) is not in history`);
      continue;
    }
    if (m.seq !== a.seq) problems.push(`${room}: acked message ${a.id} had seq ${a.seq}, history says ${m.seq}`);
    if ((m.clientMsgId ?? null) !== (a.clientMsgId ?? null)) problems.push(`${room}: message ${a.id} clientMsgId ${m.clientMsgId} != acked ${a.clientMsgId}`);
    if (a.deleted) {
      if (!m.deleted) problems.push(`${room}: message ${a.id} was deleted (acked) but history shows it`);
    } else if (m.deleted) {
      problems.push(`${room}: message ${a.id} is deleted in history but no delete was acked`);
    } else if (hash(m.text) !== a.textHash) {
      problems.push(`${room}: message ${a.id} text differs from the last acked ${a.edited ? "edit" : "send"}`);
    }
  }
  return problems;
}
