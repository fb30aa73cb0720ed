// End-to-end: chatd as a process. --help, settings precedence, refusing to start without a
// secret or --dev, bad options (exit 2), a port already in use, a corrupt
// or unopenable database file (non-zero with a clear message), the loud
// --dev warning, and SIGTERM / SIGINT ending with exit 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { once } from "node:events";
import { writeFileSync, mkdirSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runChatd, startChatd, connect, userToken, ok, tempDir, deadline, WAIT_MS } from "./lib/harness.mjs";

const T = { timeout: 30000 };

test("--help: exit 0, explains the options a newcomer needs", T, async () => {
  const r = await runChatd(["--help"]);
  assert.equal(r.code, 0);
  for (const flag of ["--jwt-secret", "--dev", "--port", "--data-dir", "--api-key", "--store", "CHATD_JWT_SECRET"])
    assert.ok(r.stdout.includes(flag), `help mentions ${flag}`);
});

test("no --jwt-secret and no --dev: refuses to start and says why", T, async () => {
  const r = await runChatd(["--port", "0", "--host", "127.0.0.1", "--data-dir", tempDir()]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--jwt-secret/);
  assert.match(r.stderr, /--dev/);
});

test("bad options: exit 2 with the reason", T, async () => {
  for (const [args, reason] of [
    [["--no-such-flag"], /no-such-flag/],
    [["--dev", "--port", "eighty"], /port|eighty/],
    [["--dev", "--port", "70000"], /port/],
    [["--dev", "--store", "mongodb"], /store/],
    [["--dev", "stray-argument"], /stray-argument/],
    [["--dev", "--message-rate", "0"], /--message-rate must be > 0/],
    [["--dev", "--rtc-burst", "0.5"], /--rtc-rate must be > 0 and --rtc-burst >= 1/],
    [["--dev", "--join-token-ttl", "0"], /--join-token-ttl must be positive/],
    [["--dev", "--max-queued-bytes", "1000"], /--max-queued-bytes must be at least 65536/],
    [["--dev", "--max-answer-bytes", "10"], /--max-answer-bytes must be at least 4096/],
    [["--dev", "--room-create-period", "0"], /--room-create-period must be positive/],
    [["--dev", "--max-room-members", "1"], /--max-room-members at least 2/],
    [["--dev", "--sqlite-readers", "0"], /--sqlite-readers must be 1 to 64/],
    [["--dev", "--search-timeout", "0"], /--search-timeout must be positive/],
    [["--dev", "--http-keepalive-timeout", "1"], /--http-keepalive-timeout must be at least 2/],
    [["--dev", "--notify-senders", "0"], /--notify-senders must be 1 to 64/],
    [["--dev", "--notify-senders", "65"], /--notify-senders must be 1 to 64/],
    [["--dev", "--push-timeout", "99"], /--push-timeout must be 100 to 60000 ms/],
    [["--dev", "--push-timeout", "60001"], /--push-timeout must be 100 to 60000 ms/],
    [["--dev", "--notify-attempts", "21"], /--notify-attempts must be 1 to 20/],
    [["--dev", "--notify-queue", "0"], /--notify-queue must be at least 1/],
    [["--dev", "--push-max-subscriptions", "101"], /--push-max-subscriptions must be 1 to 100/],
    [["--dev", "--webhook-url", "ftp://example.com/hook"], /--webhook-url must be an http:\/\/ or https:\/\/ URL/],
    [["--dev", "--webhook-url", "http://127.0.0.1:9/hook"], /--webhook-url needs --webhook-secret/],
  ]) {
    const r = await runChatd([...args, "--data-dir", tempDir()]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, reason);
    assert.match(r.stderr, /chatd --help/);
  }
});

// Which source won shows in the refusal of an invalid number, which
// quotes the text it was given.
test("settings: flags beat CHATD_* variables, which beat the --config file", T, async () => {
  const dir = tempDir();
  const conf = join(dir, "chatd.conf");
  writeFileSync(conf, "# comment\nport = from-file\ndev = true\n");
  const fromFile = await runChatd(["--config", conf, "--data-dir", dir]);
  assert.equal(fromFile.code, 2);
  assert.match(fromFile.stderr, /not a number: from-file/);

  const fromEnv = await runChatd(["--config", conf, "--data-dir", dir], { env: { CHATD_PORT: "from-env" } });
  assert.equal(fromEnv.code, 2);
  assert.match(fromEnv.stderr, /not a number: from-env/);

  const fromFlag = await runChatd(["--config", conf, "--data-dir", dir, "--port", "from-flag"],
                                  { env: { CHATD_PORT: "from-env" } });
  assert.equal(fromFlag.code, 2);
  assert.match(fromFlag.stderr, /from-flag/);
  assert.doesNotMatch(fromFlag.stderr, /from-env|from-file/);

  writeFileSync(conf, "port 8080\n");
  const broken = await runChatd(["--config", conf, "--data-dir", dir]);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /chatd\.conf:1: expected key = value/);
});

test("a port already in use: non-zero exit with a clear message", T, async () => {
  const blocker = createServer();
  blocker.listen(0, "127.0.0.1");
  await once(blocker, "listening");
  try {
    const port = blocker.address().port;
    // Under LeakSanitizer, libwebsockets' own leak on this path would abort;
    // the suppression names an lws frame, so the full stack is unwound.
    const supp = fileURLToPath(new URL("./lsan.supp", import.meta.url));
    const env = {
      LSAN_OPTIONS: [process.env.LSAN_OPTIONS, `suppressions=${supp}`].filter(Boolean).join(":"),
      ASAN_OPTIONS: [process.env.ASAN_OPTIONS, "fast_unwind_on_malloc=0"].filter(Boolean).join(":"),
    };
    const r = await runChatd(["--dev", "--host", "127.0.0.1", "--port", String(port), "--data-dir", tempDir()], { env });
    assert.notEqual(r.code, 0);
    assert.notEqual(r.code, null, "exits, does not crash");
    assert.match(r.stderr, new RegExp(`cannot listen.*${port}`));
  } finally {
    blocker.close();
  }
});

test("a corrupt or unopenable database file: non-zero exit with a clear message", T, async () => {
  const corrupt = tempDir();
  writeFileSync(join(corrupt, "chatd.db"), Buffer.alloc(8192, 0x5a));
  const dirInstead = tempDir();
  mkdirSync(join(dirInstead, "chatd.db"));
  const dirs = [corrupt, dirInstead];
  // Permissions do not stop root, so this case only runs for other users.
  if (process.getuid?.() !== 0) {
    const unreadable = tempDir();
    writeFileSync(join(unreadable, "chatd.db"), "");
    chmodSync(join(unreadable, "chatd.db"), 0);
    dirs.push(unreadable);
  }
  for (const dir of dirs) {
    const r = await runChatd(["--dev", "--host", "127.0.0.1", "--port", "0", "--data-dir", dir]);
    assert.notEqual(r.code, 0, r.stderr);
    assert.notEqual(r.code, null, "exits, does not crash");
    assert.match(r.stderr, /database/);
  }
});

test("--dev logs a loud warning; SIGTERM and SIGINT stop chatd with exit 0", T, async () => {
  for (const signal of ["SIGTERM", "SIGINT"]) {
    const s = await startChatd();
    assert.match(s.log(), /level=warn msg="DEVELOPMENT MODE/);
    assert.match(s.log(), new RegExp(`msg="chatd listening".* port=${s.port}`));
    const c = await connect(s, userToken("u-signal"));
    ok(await c.call("room:create", { kind: "group" }));
    const gone = once(c.socket, "disconnect");
    assert.equal(await s.stop(signal), 0, `${signal}:\n${s.log()}`);
    await deadline(gone, WAIT_MS, "the client to see the server go");
    c.close();
    assert.match(s.log(), /msg="stopped"/);
  }
});
