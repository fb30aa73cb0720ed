// Seeded randomness for the soak's load, so that a run's mix of actions,
// room sizes and texts can be repeated (--seed). Timing still varies with
// the machine. Used by every part of the load generator; single thread.

// mulberry32: small, fast, good enough to pick actions; not for secrets.
export function makeRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng = {
    next,
    // Integer in [lo, hi].
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
    // Exponential with this mean: the gaps of a Poisson process, which is
    // how independent people's actions arrive.
    exp: (mean) => -Math.log(1 - next()) * mean,
    // Weighted choice over [[item, weight], ...].
    weighted(pairs) {
      let total = 0;
      for (const [, w] of pairs) total += w;
      let x = next() * total;
      for (const [item, w] of pairs) {
        x -= w;
        if (x < 0) return item;
      }
      return pairs[pairs.length - 1][0];
    },
    // k distinct items of list (k clamped to its length).
    sample(list, k) {
      const copy = [...list];
      const out = [];
      while (out.length < k && copy.length > 0) out.push(copy.splice(Math.floor(next() * copy.length), 1)[0]);
      return out;
    },
    bytes(n) {
      const b = Buffer.allocUnsafe(n);
      let i = 0;
      for (; i + 4 <= n; i += 4) b.writeUInt32LE(Math.floor(next() * 4294967296), i);
      for (; i < n; i++) b[i] = Math.floor(next() * 256);
      return b;
    },
  };
  return rng;
}

const WORDS = ("lecture homework deadline exam question answer notes slides lab project group meeting " +
  "tomorrow today friday review chapter problem solution thanks please help zoom link room session " +
  "tutor grade quiz reading essay draft feedback schedule moved office hours week assignment").split(" ");
const EXTRAS = ["👍", "🙂", "café", "naïve", "Grüße", "日本語", "¿qué?", "🎉", "ok!", "…"];

// A chat line: mostly a few words, sometimes a paragraph, rarely near the
// 4,000-character limit; now and then non-ASCII text. Length in code points.
export function chatText(rng, maxChars = 4000) {
  const r = rng.next();
  const words = r < 0.7 ? rng.int(1, 12) : r < 0.97 ? rng.int(12, 80) : rng.int(300, 650);
  const parts = [];
  for (let i = 0; i < words; i++) parts.push(rng.chance(0.05) ? rng.pick(EXTRAS) : rng.pick(WORDS));
  let text = parts.join(" ");
  const cps = [...text];
  if (cps.length > maxChars) text = cps.slice(0, maxChars).join("").trimEnd();
  return text || "ok";
}

export function searchWord(rng) {
  return rng.pick(WORDS);
}
