// What the soak measures about the chatd process: memory and descriptors
// from /proc/<pid>, CPU time from /proc/<pid>/stat, and chatd's own
// counters and gauges from GET /metrics. Used by soak.mjs and the
// slow-consumer test; single thread.
import { readFileSync, readdirSync } from "node:fs";

const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

export function procSample(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (key) => {
    const m = status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) * 1024 : NaN;
  };
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    rss: kib("VmRSS"),
    rssAnon: kib("RssAnon"),
    threads: Number(status.match(/^Threads:\s+(\d+)/m)?.[1] ?? NaN),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    cpuSec: (Number(f[11]) + Number(f[12])) / TICKS, // utime + stime
  };
}

// Prometheus text into {name: value} and {name: {labelValue: value}} for
// the one-label families chatd has (errors by code).
export function parseMetrics(text) {
  const values = {};
  const labelled = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(\w+)="([^"]*)"\})?\s+(\S+)$/);
    if (!m) continue;
    const [, name, , label, v] = m;
    if (label === undefined) values[name] = Number(v);
    else (labelled[name] ??= {})[label] = Number(v);
  }
  return { values, labelled };
}

export async function metricsSample(rest) {
  const r = await rest.request("GET", "/metrics");
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return parseMetrics(r.bytes.toString("utf8"));
}
