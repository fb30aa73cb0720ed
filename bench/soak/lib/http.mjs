// REST calls of the soak: node:http with one keep-alive agent that the
// soak can close, so that at the end chatd's descriptor count shows only
// what chatd itself kept open (fetch's pool cannot be emptied on demand).
// Every request has a deadline. Single thread (node's loop).
import http from "node:http";

export class Rest {
  constructor(port, { maxSockets = 16, timeoutMs = 15000 } = {}) {
    this.port = port;
    this.maxSockets = maxSockets;
    this.timeoutMs = timeoutMs;
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  // {status, body (parsed JSON or undefined), bytes (Buffer)}; rejects on a
  // network error or when the deadline passes.
  request(method, path, { token, json, raw, contentType } = {}) {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let payload;
    if (json !== undefined) {
      payload = Buffer.from(JSON.stringify(json));
      headers["content-type"] = "application/json";
    } else if (raw !== undefined) {
      payload = raw;
      headers["content-type"] = contentType ?? "application/octet-stream";
    }
    if (payload) headers["content-length"] = payload.length;
    return new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const bytes = Buffer.concat(chunks);
          let body;
          try {
            body = JSON.parse(bytes.toString("utf8"));
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode, body, bytes, type: res.headers["content-type"] });
        });
        res.on("error", reject);
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer in ${this.timeoutMs} ms`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  // Closes every pooled connection; later requests open new ones.
  reset() {
    this.agent.destroy();
    this.agent = new http.Agent({ keepAlive: true, maxSockets: this.maxSockets });
  }

  close() {
    this.agent.destroy();
  }
}
