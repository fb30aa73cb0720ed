// TEMPORARY minimal throwaway redis-server for emitter.test.mjs (h-ctests
// writes the real one with the same API): startRedis() -> { port, url,
// restart(), close() }. redis-server from $REDIS_SERVER or PATH, on a free
// loopback port, no persistence; killed when this process exits.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { once } from "node:events";
import { deadline, tempDir } from "./harness.mjs";

const running = new Set();
process.on("exit", () => {
  for (const p of running) p.kill("SIGKILL");
});

async function freePort() {
  const s = createServer();
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  const { port } = s.address();
  s.close();
  await once(s, "close");
  return port;
}

export async function startRedis() {
  const bin = process.env.REDIS_SERVER || "redis-server";
  const port = await freePort();
  const dir = tempDir();
  let proc;
  let exited;
  const start = async () => {
    proc = spawn(bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
      "--dir", dir], { stdio: ["ignore", "pipe", "inherit"] });
    running.add(proc);
    const p = proc;
    exited = new Promise((resolve) => p.on("close", (code) => {
      running.delete(p);
      resolve(code);
    }));
    let out = "";
    await deadline(new Promise((resolve, reject) => {
      p.stdout.on("data", (d) => {
        out += d;
        if (out.includes("Ready to accept connections")) resolve();
      });
      exited.then((code) => reject(new Error(`redis-server exited with ${code}:\n${out}`)));
    }), 10000, "redis-server to start");
  };
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    await deadline(exited, 10000, "redis-server to stop").catch((e) => {
      proc.kill("SIGKILL");
      throw e;
    });
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      await stop();
      await start();
    },
    close: stop,
  };
}
