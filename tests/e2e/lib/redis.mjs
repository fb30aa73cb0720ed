// A throwaway Redis for the end-to-end suite: Debian's redis-server on a
// free loopback port and a temporary directory, without persistence, for
// the tests of chatd's cluster bus (cluster*.test.mjs) and of the
// redis-emitter interop. Readiness is its "Ready to accept connections"
// log line, under a deadline; stop()/start()/restart() keep the port, so
// that chatd nodes reconnect to the same address after an outage. Every
// server started here is killed when the test process exits, whatever the
// outcome.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { program } from "../../lib/needs.mjs";
import { deadline, freePort, tempDir } from "./harness.mjs";

export const REDIS_SERVER = process.env.REDIS_SERVER || "/usr/bin/redis-server";

const running = new Set();
process.on("exit", () => {
  for (const p of running) p.kill("SIGKILL");
});

// One redis-server process on `port`; resolves once it accepts connections,
// rejects (with its log) if it exits first or takes longer than `ms`.
async function spawnRedis(port, dir, ms) {
  const argv = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir,
    "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "", "--unixsocket", ""];
  const proc = spawn(program(REDIS_SERVER, "redis-server"), argv, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(proc);
  let log = "";
  const exited = new Promise((resolve) => proc.on("close", (code, signal) => {
    running.delete(proc);
    resolve({ code, signal });
  }));
  const ready = new Promise((resolve, reject) => {
    const onLine = (l) => {
      log += l + "\n";
      if (/Ready to accept connections/.test(l)) resolve();
    };
    createInterface({ input: proc.stdout }).on("line", onLine);
    createInterface({ input: proc.stderr }).on("line", onLine);
    exited.then(({ code, signal }) => reject(Object.assign(
      new Error(`redis-server on port ${port} exited (${code ?? signal}) before it was ready:\n${log}`),
      { portTaken: /Address already in use/i.test(log) })));
  });
  await deadline(ready, ms, `redis-server on port ${port} to be ready`).catch((e) => {
    proc.kill("SIGKILL");
    throw e;
  });
  return { proc, exited, log: () => log };
}

// Starts a Redis; resolves with { port, url, stop(), start(), restart(), close() }.
// stop(signal = "SIGTERM") ends the server and waits for it; start() runs it
// again on the same port (a new, empty Redis: nothing is persisted);
// restart() is both; close() stops it for good.
export async function startRedis({ readyMs = 10000 } = {}) {
  const dir = tempDir();
  let server;
  let port;
  for (let attempt = 0; ; ++attempt) {
    port = await freePort();
    try {
      server = await spawnRedis(port, dir, readyMs);
      break;
    } catch (e) {
      if (!e.portTaken || attempt >= 4) throw e;
    }
  }
  const stop = async (signal = "SIGTERM") => {
    if (!server) return;
    const { proc, exited } = server;
    server = undefined;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    await deadline(exited, 10000, "redis-server to stop").catch((e) => {
      proc.kill("SIGKILL");
      throw e;
    });
  };
  const start = async () => {
    if (server) return;
    server = await spawnRedis(port, dir, readyMs);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    log: () => server?.log() ?? "",
    stop,
    start,
    async restart(signal = "SIGTERM") {
      await stop(signal);
      await start();
    },
    close: () => stop("SIGKILL"),
  };
}
