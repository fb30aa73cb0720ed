// A throwaway PostgreSQL server for the end-to-end suite: the pg_throwaway
// program (tests/pg) runs initdb and postgres on a temporary directory and
// a free loopback port, then takes commands on its stdin. Closing it stops
// the server and removes the directory; if this process dies, pg_throwaway
// and its server die with it.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { deadline } from "./harness.mjs";

export const PG_THROWAWAY = process.env.PG_THROWAWAY;

const running = new Set();
process.on("exit", () => {
  for (const p of running) p.kill("SIGKILL");
});

export async function startPostgres() {
  if (!PG_THROWAWAY) throw new Error("PG_THROWAWAY must name the pg_throwaway binary");
  const proc = spawn(PG_THROWAWAY, [], { stdio: ["pipe", "pipe", "inherit"] });
  running.add(proc);
  const exited = new Promise((resolve) => proc.on("close", (code) => {
    running.delete(proc);
    resolve(code);
  }));
  const lines = [];
  const waiters = [];
  createInterface({ input: proc.stdout }).on("line", (l) => (waiters.length ? waiters.shift()(l) : lines.push(l)));
  const line = (ms, what) =>
    deadline(new Promise((resolve) => (lines.length ? resolve(lines.shift()) : waiters.push(resolve))), ms, what);
  const ready = await line(90000, "the throwaway PostgreSQL to start");
  const m = ready.match(/^ready port=(\d+) url=(\S+)$/);
  if (!m) throw new Error(`pg_throwaway: ${ready}`);
  // Commands are answered in order, one line each.
  let chain = Promise.resolve();
  const command = (cmd) => {
    const run = chain.then(async () => {
      proc.stdin.write(cmd + "\n");
      const answer = await line(90000, cmd);
      if (answer !== "ok") throw new Error(`pg_throwaway ${cmd}: ${answer}`);
    });
    chain = run.catch(() => {});
    return run;
  };
  const port = Number(m[1]);
  return {
    port,
    // A URL for database `db`, with a password (trust accepts any) so
    // that tests can check it never reaches a log.
    url: (db = "postgres", password = "pw-not-for-logs") => `postgresql://postgres:${password}@127.0.0.1:${port}/${db}`,
    // What `pg_ctl stop -m fast` / `-m immediate` do.
    stop: (mode = "fast") => command(`stop ${mode}`),
    start: () => command("start"),
    sql: (statement) => command(`sql ${statement}`),
    async close() {
      proc.stdin.end();
      await deadline(exited, 60000, "the throwaway PostgreSQL to stop").catch((e) => {
        proc.kill("SIGKILL");
        throw e;
      });
    },
  };
}
