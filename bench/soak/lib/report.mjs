// The soak's report: one markdown table row per interval (chatd's memory,
// descriptors, queues, rates and errors, and the soak's own CPU), then the
// totals and the verdicts. Printed to stdout and written to --report.

const MiB = 1024 * 1024;
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "-");
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toString() : "-");

export const COLUMNS = [
  ["t min", (r) => (r.t / 60).toFixed(1)],
  ["RSS MiB", (r) => f1(r.rss / MiB)],
  ["fds", (r) => f0(r.fds)],
  ["sockets", (r) => f0(r.conns)],
  ["send q KiB (max)", (r) => f1(r.sendqMax / 1024)],
  ["largest q KiB (max)", (r) => f1(r.sendqOneMax / 1024)],
  ["store q (max)", (r) => f0(r.storeqMax)],
  ["events/s", (r) => f0(r.eventsPerSec)],
  ["stored msg/s", (r) => f1(r.storedPerSec)],
  ["delivered/s", (r) => f0(r.deliveredPerSec)],
  ["send ack p50/p99 ms", (r) => `${f1(r.ackP50)}/${f1(r.ackP99)}`],
  ["server errors", (r) => f0(r.serverErrors)],
  ["client problems", (r) => f0(r.clientProblems)],
  ["chatd CPU %", (r) => f0(r.chatdCpu)],
  ["soak CPU %", (r) => f0(r.soakCpu)],
];

export function table(rows) {
  const head = `| ${COLUMNS.map(([h]) => h).join(" | ")} |`;
  const rule = `|${COLUMNS.map(() => "---:").join("|")}|`;
  return [head, rule, ...rows.map((r) => `| ${COLUMNS.map(([, fn]) => fn(r)).join(" | ")} |`)].join("\n");
}

export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
