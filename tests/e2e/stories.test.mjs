// End-to-end: the seeds' user stories (lib/stories.mjs) against one real
// chatd; cluster.test.mjs plays the same stories across three nodes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChatd } from "./lib/harness.mjs";
import { stories } from "./lib/stories.mjs";

let server;
before(async () => {
  server = await startChatd({ args: ["--stun-urls", "stun:stun.l.google.com:19302"] });
});
after(async () => {
  assert.equal(await server?.stop(), 0);
});

for (const [name, play] of stories) test(name, { timeout: 30000 }, () => play(() => server));
