// End-to-end: operating chatd. Its logs never carry a secret (the JWT
// secret, the API key, the TURN secret, users' tokens however they were
// sent, a PostgreSQL password), in either log format; --log-format json
// writes one JSON object per line; SIGHUP rereads the config file, applies
// log-level and log-format, names the changed settings that need a restart,
// and keeps running on a config file that no longer parses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, Client, deadline, ok, rest, signJwt, tempDir, userToken, SECRET, API_KEY, WAIT_MS } from "./lib/harness.mjs";

const T = { timeout: 60000 };
const TURN_SECRET = "ops-turn-secret-5c1e0d";
const PG_PASSWORD = "ops-pg-password-7f3a9b";

// This process's environment without CHATD_* variables (the sanitizers'
// options pass through).
function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CHATD_")));
}

// chatd with stdout and stderr both kept (the harness keeps stderr only);
// resolves once "chatd listening" names the port.
async function start(args, { env = {} } = {}) {
  const proc = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...cleanEnv(), ...env } });
  const server = { proc, out: "", waiters: [] };
  const exited = new Promise((resolve) => proc.on("close", (code) => resolve(code)));
  const feed = (d) => {
    server.out += d;
    for (const w of [...server.waiters]) if (w.re.test(server.out.slice(w.from))) w.resolve();
  };
  proc.stdout.on("data", feed);
  proc.stderr.on("data", feed);
  // Resolves once `re` matches output written after `from` (an offset).
  server.seen = (re, what, from = 0) => deadline(new Promise((resolve) => {
    server.waiters.push({ re, from, resolve });
    feed("");
  }), WAIT_MS, what);
  server.stop = async () => {
    proc.kill("SIGTERM");
    return deadline(exited, 15000, "chatd to stop").finally(() => proc.kill("SIGKILL"));
  };
  await Promise.race([
    server.seen(/"?msg"?[=:]"chatd listening"/, "chatd to listen"),
    exited.then((code) => { throw new Error(`chatd exited with ${code}:\n${server.out}`); }),
  ]).catch((e) => {
    proc.kill("SIGKILL");
    throw e;
  });
  const port = server.out.match(/port"?[=:]"?(\d+)/)[1];
  server.url = `http://127.0.0.1:${port}`;
  return server;
}

function assertNoSecret(out, secrets) {
  for (const [what, value] of Object.entries(secrets))
    assert.ok(!out.includes(value), `the log holds the ${what}:\n${out}`);
}

for (const format of ["logfmt", "json"]) {
  test(`--log-format ${format}, --log-level debug: no secret or token in the log, whichever way a token came`, T, async () => {
    const good = userToken("ops_ann", "Ann");
    const forged = signJwt({ sub: "ops_eve", exp: Math.floor(Date.now() / 1000) + 3600 }, "not-the-secret-0123456789");
    const server = await start(["--host", "127.0.0.1", "--port", "0", "--data-dir", tempDir(), "--log-level", "debug",
      "--log-format", format, "--jwt-secret", SECRET, "--api-key", API_KEY, "--turn-secret", TURN_SECRET,
      "--turn-urls", "turn:127.0.0.1:3478", "--cors-origin", "http://app.example"]);
    const clients = [];
    try {
      // Every place a token may be sent, for a good and a forged token.
      for (const token of [good, forged]) {
        const ways = [
          { auth: { token } },
          { auth: {}, query: { token } },
          { auth: {}, extraHeaders: { authorization: `Bearer ${token}` } },
          { auth: {}, extraHeaders: { cookie: `chatd_token=${token}`, origin: "http://app.example" } },
        ];
        for (const opts of ways) {
          const c = new Client({ url: server.url }, token, opts);
          clients.push(c);
          const connected = await c.ready().then(() => true, () => false);
          assert.equal(connected, token === good, `${JSON.stringify(opts).slice(0, 40)}: connects only with the good token`);
          if (connected) {
            const room = ok(await c.call("room:create", { kind: "group", title: "ops" })).room;
            ok(await c.call("message:send", { room: room.id, text: "hello" }));
          }
        }
        const r = await rest({ url: server.url }, "GET", "/api/rooms", { token });
        assert.equal(r.status, token === good ? 200 : 401);
      }
      assert.equal((await rest({ url: server.url }, "GET", "/api/ice-servers", { token: good })).status, 200);
      assert.equal((await rest({ url: server.url }, "GET", "/api/rooms?userId=ops_ann", { token: API_KEY })).status, 200);
      assert.equal((await rest({ url: server.url }, "GET", "/api/rooms", { token: `${API_KEY}x` })).status, 401);
    } finally {
      for (const c of clients) c.close();
    }
    assert.equal(await server.stop(), 0);
    assertNoSecret(server.out, { "JWT secret": SECRET, "API key": API_KEY, "TURN secret": TURN_SECRET,
      "good token": good, "forged token": forged, "good token's signature": good.split(".")[2],
      "forged token's signature": forged.split(".")[2] });
    const lines = server.out.trim().split("\n");
    assert.ok(lines.length >= 3, server.out);
    for (const line of lines) {
      if (format === "json") {
        const o = JSON.parse(line);
        assert.ok(o.ts && o.level && o.msg, line);
      } else {
        assert.match(line, /^ts=\S+ level=(debug|info|warn|error) msg="/);
      }
    }
  });
}

test("a PostgreSQL password in --pg-url (URI or key=value) is never logged, even when the connection fails", T, async () => {
  for (const url of [`postgresql://chat:${PG_PASSWORD}@127.0.0.1:1/chat`,
    `host=127.0.0.1 port=1 user=chat password=${PG_PASSWORD} dbname=chat`]) {
    const proc = spawn(BIN, ["--host", "127.0.0.1", "--port", "0", "--store", "postgres", "--pg-url", url,
      "--pg-start-timeout", "0", "--pg-connect-timeout", "500", "--log-level", "debug", "--jwt-secret", SECRET],
    { stdio: ["ignore", "pipe", "pipe"], env: cleanEnv() });
    let out = "";
    proc.stdout.on("data", (d) => (out += d));
    proc.stderr.on("data", (d) => (out += d));
    const code = await deadline(new Promise((resolve) => proc.on("close", resolve)), 15000, "chatd to give up")
      .finally(() => proc.kill("SIGKILL"));
    assert.notEqual(code, 0, "a refused connection stops chatd");
    assert.match(out, /127\.0\.0\.1/, `the log names the server it could not reach:\n${out}`);
    assertNoSecret(out, { "PostgreSQL password": PG_PASSWORD, "JWT secret": SECRET });
  }
});

test("SIGHUP rereads the config file: log-level and log-format apply, a max-text-chars change needs a restart, a broken file changes nothing", T, async () => {
  const dir = tempDir();
  const conf = join(dir, "chatd.conf");
  writeFileSync(conf, "log-level = info\nlog-format = logfmt\nmax-text-chars = 4000\n");
  const server = await start(["--config", conf, "--host", "127.0.0.1", "--port", "0", "--data-dir", dir],
    { env: { CHATD_JWT_SECRET: SECRET } });
  try {
    // Nothing changed: both steps run, nothing needs a restart, no debug lines.
    let from = server.out.length;
    server.proc.kill("SIGHUP");
    await server.seen(/msg="SIGHUP: reloaded: log-level, log-format"/, "the first reload", from);
    assert.doesNotMatch(server.out.slice(from), /level=debug|not reloadable/);

    writeFileSync(conf, "log-level = debug\nlog-format = logfmt\nmax-text-chars = 10\n");
    from = server.out.length;
    server.proc.kill("SIGHUP");
    await server.seen(/msg="SIGHUP: reloaded: log-level, log-format; not reloadable without restart: max-text-chars"/,
      "the reload naming max-text-chars", from);
    assert.match(server.out.slice(from), /level=debug msg="SIGHUP: reload step done" step=log-format/,
      "debug lines appear once log-level is debug");

    writeFileSync(conf, "log-level = debug\nlog-format = json\nmax-text-chars = 10\n");
    from = server.out.length;
    server.proc.kill("SIGHUP");
    await server.seen(/\{"ts":"[^"]+","level":"info","msg":"SIGHUP: reloaded: log-level, log-format; not reloadable without restart: max-text-chars"/,
      "the reload line in JSON", from);

    writeFileSync(conf, "log-level = info\nlog-format = logfmt\nmax-text-chars = ten\n");
    from = server.out.length;
    server.proc.kill("SIGHUP");
    await server.seen(/"msg":"SIGHUP: the configuration does not parse; nothing reloaded","error":"--max-text-chars: not a number: ten"/,
      "the refusal of a broken file, still in JSON", from);
    const health = await rest({ url: server.url }, "GET", "/healthz");
    assert.equal(health.status, 200, "chatd keeps serving");

    // Back to info: no more debug lines.
    writeFileSync(conf, "log-level = info\nlog-format = logfmt\nmax-text-chars = 10\n");
    from = server.out.length;
    server.proc.kill("SIGHUP");
    await server.seen(/msg="SIGHUP: reloaded: log-level, log-format; not reloadable without restart: max-text-chars"/,
      "the reload back to info", from);
    assert.doesNotMatch(server.out.slice(from), /level=debug|"level":"debug"/);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
