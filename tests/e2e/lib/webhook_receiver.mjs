// A local webhook receiver for the notification tests: an HTTP server on a
// free loopback port that checks each POST's X-Chatd-Signature against its
// secret the way docs/operations.md tells a backend to, records it, and
// answers with the next status of a script (then 200). A test can hold the
// answers back (hold/release) to keep chatd's sender busy.
import { createServer } from "node:http";
import { once } from "node:events";
import { createHmac, timingSafeEqual } from "node:crypto";
import { deadline, WAIT_MS } from "./harness.mjs";

// Whether `header` (t=<unix>,v1=<hex>) signs `body` under `secret`, made
// within `toleranceSec` of now.
export function verifySignature(secret, header, body, toleranceSec = 300) {
  const parts = Object.fromEntries(String(header ?? "").split(",").map((kv) => kv.split("=", 2)));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/.test(parts.v1 ?? "")) return false;
  if (Math.abs(Date.now() / 1000 - t) > toleranceSec) return false;
  const want = createHmac("sha256", secret).update(`${t}.${body}`).digest();
  return timingSafeEqual(want, Buffer.from(parts.v1, "hex"));
}

export async function startWebhookReceiver({ secret, statuses = [] } = {}) {
  const received = [];
  const waiters = [];
  let held = null;  // while set, answers wait for release()
  const wake = () => {
    for (const w of [...waiters]) {
      const r = received.find((x) => !x.taken && w.pred(x));
      if (r) {
        r.taken = true;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(r);
      }
    }
  };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const verified = verifySignature(secret, req.headers["x-chatd-signature"], body);
      let json;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const status = !verified ? 401 : statuses.length ? statuses.shift() : 200;
      received.push({ headers: req.headers, body, json, verified, status });
      wake();
      if (held) await held.promise;
      res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "no");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    received,
    // The oldest request not yet taken for which pred holds.
    next(pred = () => true, ms = WAIT_MS) {
      return deadline(new Promise((resolve) => {
        waiters.push({ pred, resolve });
        wake();
      }), ms, "a webhook request");
    },
    hold() {
      let release;
      const promise = new Promise((r) => (release = r));
      held = { promise, release };
    },
    release() {
      held?.release();
      held = null;
    },
    close() {
      this.release();
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}
