// Runs an official protocol test-suite (test-suite.js, unmodified) in headless
// Chromium, like the suite's own index.html, with mocha/chai served locally.
// usage: node scripts/conformance_browser.mjs <test-suite dir with node_modules>
// (server under test on localhost:3000). Needs web/node_modules (playwright-core)
// and chromium (CHROMIUM, default /usr/bin/chromium), as tests/browser does.
// Exit status 1 when a test fails.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
const suite = path.resolve(process.argv[2]);
const { chromium } = createRequire(new URL("../web/package.json", import.meta.url))("playwright-core");
const files = {
  "/mocha.js": path.join(suite, "node_modules/mocha/mocha.js"),
  "/chai.js": path.join(suite, "node_modules/chai/chai.js"),
  "/chai-string.js": path.join(suite, "node_modules/chai-string/chai-string.js"),
  "/test-suite.js": path.join(suite, "test-suite.js"),
};
const html = `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><div id="mocha"></div>
<script src="/mocha.js"></script><script src="/chai.js"></script><script src="/chai-string.js"></script>
<script>mocha.setup({ui: "bdd", reporter: "spec"}); mocha.checkLeaks(); window.__results = [];</script>
<script type="module" src="/test-suite.js"></script>
<script type="module">const r = mocha.run(); r.on("pass", t => __results.push(["pass", t.fullTitle()]));
r.on("fail", (t, e) => __results.push(["fail", t.fullTitle(), String(e && e.message)])); r.on("end", () => { window.__done = true; });</script>
</body></html>`;
const srv = http.createServer((req, res) => {
  const f = files[req.url];
  if (req.url === "/") { res.writeHead(200, { "content-type": "text/html" }); return res.end(html); }
  if (!f) { res.writeHead(404); return res.end(); }
  res.writeHead(200, { "content-type": "text/javascript" }); fs.createReadStream(f).pipe(res);
});
await new Promise((r) => srv.listen(0, "127.0.0.1", r));
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"], timeout: 30000 });
const page = await browser.newPage();
page.on("pageerror", (e) => console.log("pageerror", e.message));
await page.goto(`http://localhost:${srv.address().port}/`);
await page.waitForFunction(() => window.__done === true, null, { timeout: 120000 });
const results = await page.evaluate(() => window.__results);
let pass = 0, fail = 0;
for (const [s, t, m] of results) { if (s === "pass") pass++; else fail++; console.log(s === "pass" ? "  ok  " : "  FAIL", t, m ?? ""); }
console.log(`${pass} passing, ${fail} failing`);
await browser.close(); srv.close();
process.exit(fail ? 1 : 0);
