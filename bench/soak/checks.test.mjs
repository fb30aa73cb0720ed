// Unit tests of the soak's verdicts (lib/checks.mjs): each check passes on
// a clean record and fails on the fault it is there to catch, so a green
// soak means something.
import { test } from "node:test";
import assert from "node:assert/strict";
import { rssVerdict, fdVerdict, followSeqs, historyProblems, MiB } from "./lib/checks.mjs";
import { Ledger, textHash } from "./lib/ledger.mjs";

const series = (f, n = 30) => Array.from({ length: n }, (_, i) => ({ t: i * 60, rss: f(i) }));
const opts = { warmupSec: 300, tolMiB: 8, tolPct: 10 };

test("RSS: flat passes, noise passes, steady growth fails", () => {
  assert.ok(rssVerdict(series(() => 40 * MiB), opts).ok);
  assert.ok(rssVerdict(series((i) => 40 * MiB + (i % 3) * MiB), opts).ok);
  const leak = rssVerdict(series((i) => 40 * MiB + i * 0.5 * MiB), opts);
  assert.equal(leak.ok, false, leak.why);
  assert.ok(leak.slopeMiBPerHour > 25);
  // A spike in the middle is not growth; ending high is.
  assert.ok(rssVerdict(series((i) => (i === 15 ? 90 : 40) * MiB), opts).ok);
  assert.equal(rssVerdict(series((i) => (i > 25 ? 60 : 40) * MiB), opts).ok, false);
  // Too few samples after warm-up cannot pass.
  assert.equal(rssVerdict(series(() => 40 * MiB, 6), opts).ok, false);
});

test("fds: back to the baseline passes, one more fails", () => {
  assert.ok(fdVerdict({ baseline: 14, end: 14 }).ok);
  assert.equal(fdVerdict({ baseline: 14, end: 15 }).ok, false);
});

test("deliveries: in order passes; a gap or a duplicate is named", () => {
  assert.deepEqual(followSeqs(5, [5, 6, 7]), { next: 8, problems: [] });
  assert.deepEqual(followSeqs(null, [9, 10]).problems, []);
  assert.match(followSeqs(5, [5, 7]).problems[0], /gap: seq 7 after 5/);
  assert.match(followSeqs(5, [5, 5]).problems[0], /duplicate seq 5/);
});

test("history: every acked message once, as last edited", () => {
  const m = (seq, id, text, extra = {}) => ({ seq, id, text, senderId: "u1", clientMsgId: `c${id}`, deleted: false, ...extra });
  const acked = (seq, id, text, extra = {}) => ({ id, seq, clientMsgId: `c${id}`, textHash: textHash(text), deleted: false, ...extra });
  const good = [m(1, "a", "x"), m(2, "b", "y"), m(3, "c", "", { deleted: true })];
  const ack = [acked(1, "a", "x"), acked(2, "b", "y"), acked(3, "c", "z", { deleted: true })];
  assert.deepEqual(historyProblems("r", good, ack, textHash), []);
  // Lost, duplicated, a gap, a stale edit, an undone delete, a clientMsgId stored twice.
  assert.match(historyProblems("r", good.slice(0, 2), ack, textHash)[0], /not in history/);
  assert.match(historyProblems("r", [...good, m(4, "a", "x")], ack, textHash).join(), /twice in history/);
  assert.match(historyProblems("r", [good[0], good[2]], ack.slice(0, 1), textHash).join(), /seq 3 where 2 was due/);
  assert.match(historyProblems("r", good, [acked(1, "a", "x2"), ...ack.slice(1)], textHash).join(), /text differs/);
  assert.match(historyProblems("r", [good[0], good[1], m(3, "c", "z")], ack, textHash).join(), /deleted \(acked\)/);
  assert.match(historyProblems("r", [...good, m(4, "d", "x", { clientMsgId: "ca" })], ack, textHash).join(), /stored twice/);
});

test("ledger: a retry that stores a second message, or a seq given twice, is caught at the ack", () => {
  const l = new Ledger();
  const msg = (id, seq, cid) => ({ id, room: "r", seq, senderId: "u1", clientMsgId: cid, text: "hi" });
  assert.deepEqual(l.acked(msg("a", 1, "c1"), { clientMsgId: "c1", text: "hi" }), []);
  assert.deepEqual(l.acked(msg("a", 1, "c1"), { clientMsgId: "c1", text: "hi", retry: true }), []);
  assert.match(l.acked(msg("b", 2, "c1"), { clientMsgId: "c1", text: "hi", retry: true }).join(), /stored a second message/);
  assert.match(l.acked(msg("c", 2, "c3"), { clientMsgId: "c3", text: "hi" }).join(), /acked for two messages/);
  assert.equal(l.check({ id: "a", room: "r", seq: 1 }), null);
  assert.match(l.check({ id: "a", room: "r", seq: 7 }), /acked as r#1/);
});
