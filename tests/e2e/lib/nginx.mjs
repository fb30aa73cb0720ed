// A throwaway nginx (Debian's nginx-light) for the end-to-end suite: a
// round-robin balancer with no affinity in front of chatd nodes, on a free
// loopback port and a temporary directory, proxying HTTP and WebSocket
// upgrades the way docs/cluster.md configures it (minus ip_hash). Ready
// once its port accepts a connection; killed when the test process exits.
import { spawn } from "node:child_process";
import { connect as tcpConnect } from "node:net";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { program } from "../../lib/needs.mjs";
import { deadline, freePort, tempDir } from "./harness.mjs";

export const NGINX = process.env.NGINX || "/usr/sbin/nginx";

const running = new Set();
process.on("exit", () => {
  for (const p of running) p.kill("SIGKILL");
});

async function accepts(port) {
  const sock = tcpConnect(port, "127.0.0.1");
  try {
    await Promise.race([once(sock, "connect"), once(sock, "error").then(([e]) => { throw e; })]);
    return true;
  } catch {
    return false;
  } finally {
    sock.destroy();
  }
}

// Starts nginx balancing over `servers` (each {port}); resolves with
// { url, port, close() }.
export async function startBalancer(servers) {
  const bin = program(NGINX, "nginx-light");
  const dir = tempDir();
  const port = await freePort();
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${process.getuid?.() === 0 ? "user root;" : ""}
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream chatd {
${servers.map((s) => `    server 127.0.0.1:${s.port};`).join("\n")}
  }
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://chatd;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_read_timeout 120s;
      proxy_buffering off;
    }
  }
}
`;
  writeFileSync(join(dir, "nginx.conf"), conf);
  const proc = spawn(bin, ["-p", dir, "-c", join(dir, "nginx.conf")], { stdio: ["ignore", "pipe", "pipe"] });
  running.add(proc);
  let log = "";
  proc.stdout.on("data", (d) => (log += d));
  proc.stderr.on("data", (d) => (log += d));
  const exited = new Promise((resolve) => proc.on("close", (code) => {
    running.delete(proc);
    resolve(code);
  }));
  // Its port accepting is the sign it runs: tried every 20 ms, 5 s at most.
  const started = Date.now();
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited before it listened:\n${log}`);
    if (await accepts(port)) break;
    if (Date.now() - started > 5000) {
      proc.kill("SIGKILL");
      throw new Error(`nginx did not listen on ${port} within 5 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    async close() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      await deadline(exited, 10000, "nginx to stop");
    },
  };
}
