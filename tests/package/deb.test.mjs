// package.deb: chatd's Debian package the way an operator meets it. Builds
// the .deb from this build tree with cpack, checks its control fields
// (Depends from dpkg-shlibdeps), its files, the systemd unit's hardening and
// the maintainer scripts (run with DPKG_ROOT against a scratch root, with
// systemctl and the deb-systemd-* helpers replaced by recorders: nothing
// may be started or enabled there), then unpacks it and runs the unpacked
// chatd: --version, --help (whose option list the packaged man page and
// example config must match), and a real start on an ephemeral loopback
// port with the packaged config file, a temporary state directory and the
// secret the postinst made, answering /healthz, stopped with SIGTERM.
//
// Environment: BUILD_DIR (with CPackConfig.cmake), CPACK, DPKG_DEB,
// DPKG_SHLIBDEPS, VERSION.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { program } from "../lib/needs.mjs";
import { deadline, tempDir } from "../e2e/lib/harness.mjs";

const BUILD_DIR = process.env.BUILD_DIR;
const CPACK = program(process.env.CPACK, "cmake");
const DPKG_DEB = program(process.env.DPKG_DEB, "dpkg");
program(process.env.DPKG_SHLIBDEPS, "dpkg-dev"); // cpack runs it for Depends
const VERSION = process.env.VERSION;

const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: "utf8", timeout: 120000, ...opts });

// Long option names in `chatd --help` (cxxopts' layout: "  -h, --help" or
// "      --port arg").
function helpOptions(help) {
  return [...help.matchAll(/^ {2}(?:-\w, | {4})--([a-z0-9-]+)/gm)].map((m) => m[1]).sort();
}

const work = tempDir();
const out = join(work, "out");
let deb;

test("cpack builds chatd_<version>_<arch>.deb from the build tree", { timeout: 150000 }, () => {
  run(CPACK, ["--config", join(BUILD_DIR, "CPackConfig.cmake"), "-G", "DEB", "-B", out]);
  const debs = readdirSync(out).filter((f) => f.endsWith(".deb"));
  assert.equal(debs.length, 1, `one .deb in ${out}: ${debs}`);
  assert.match(debs[0], new RegExp(`^chatd_${VERSION.replaceAll(".", "\\.")}_[a-z0-9]+\\.deb$`));
  deb = join(out, debs[0]);
});

test("control fields: name, version, section, and Depends on the runtime libraries", () => {
  const field = (f) => run(DPKG_DEB, ["-f", deb, f]).trim();
  assert.equal(field("Package"), "chatd");
  assert.equal(field("Version"), VERSION);
  assert.equal(field("Section"), "net");
  assert.ok(field("Maintainer").length > 0);
  const depends = field("Depends");
  // dpkg-shlibdeps named the Debian packages of what chatd links.
  for (const lib of [/\blibc6 \(>=/, /\blibwebsockets\d+\b/, /\blibsqlite3-0\b/, /\blibssl3\b/, /\blibpq5\b/, /\blibstdc\+\+6\b/])
    assert.match(depends, lib);
});

test("files: the binary, the unit, the man page and both config files, in Debian's places", () => {
  const list = run(DPKG_DEB, ["-c", deb]);
  for (const path of ["./usr/bin/chatd", "./usr/lib/systemd/system/chatd.service", "./usr/share/man/man1/chatd.1",
    "./etc/chatd/chatd.conf", "./etc/chatd/chatd.conf.example"])
    assert.ok(list.split("\n").some((l) => l.endsWith(` ${path}`)), `${path} in\n${list}`);
  // Nothing of the library (headers, archives, CMake package) rides along.
  assert.doesNotMatch(list, /\/include\/|\.a$|\/cmake\//m);
});

const control = join(work, "control");
const root = join(work, "root");

test("maintainer scripts: conffiles listed; scripts are sh, executable, and guard systemd", () => {
  run(DPKG_DEB, ["-e", deb, control]);
  const conffiles = readFileSync(join(control, "conffiles"), "utf8").trim().split("\n").sort();
  assert.deepEqual(conffiles, ["/etc/chatd/chatd.conf", "/etc/chatd/chatd.conf.example"]);
  for (const s of ["postinst", "prerm", "postrm"]) {
    const path = join(control, s);
    assert.ok((statSync(path).mode & 0o111) !== 0, `${s} executable`);
    run("sh", ["-n", path]);
    const text = readFileSync(path, "utf8");
    assert.ok(text.startsWith("#!/bin/sh\n"), `${s} is a sh script`);
    assert.match(text, /^set -e$/m);
    // Every start, stop or reload sits behind "systemd runs here, and this
    // is not an install into another root".
    for (const line of text.split("\n").filter((l) => /systemctl|deb-systemd-invoke/.test(l) && !/command -v|^\s*#/.test(l)))
      assert.ok(/-d \/run\/systemd\/system/.test(text.slice(0, text.indexOf(line))), `${s}: guarded: ${line}`);
  }
});

test("maintainer scripts in a scratch root (DPKG_ROOT): a secret made once, no service touched", () => {
  const fakebin = join(work, "fakebin");
  const calls = join(work, "calls.log");
  mkdirSync(fakebin);
  for (const tool of ["systemctl", "deb-systemd-helper", "deb-systemd-invoke"]) {
    writeFileSync(join(fakebin, tool), `#!/bin/sh\necho "${tool} $*" >> '${calls}'\n`);
    chmodSync(join(fakebin, tool), 0o755);
  }
  run(DPKG_DEB, ["-x", deb, root]);
  const env = { ...process.env, DPKG_ROOT: root, PATH: `${fakebin}:${process.env.PATH}` };
  const envFile = join(root, "etc/chatd/chatd.env");
  run("sh", [join(control, "postinst"), "configure"], { env });
  assert.equal(statSync(envFile).mode & 0o777, 0o600, "only root reads the secret");
  const secret = readFileSync(envFile, "utf8").match(/^CHATD_JWT_SECRET=([0-9a-f]{64})$/m)?.[1];
  assert.ok(secret, `a 256-bit secret in\n${readFileSync(envFile, "utf8")}`);
  // An upgrade keeps it.
  run("sh", [join(control, "postinst"), "configure", "0.0.9"], { env });
  assert.match(readFileSync(envFile, "utf8"), new RegExp(`^CHATD_JWT_SECRET=${secret}$`, "m"));
  run("sh", [join(control, "prerm"), "remove"], { env });
  run("sh", [join(control, "postrm"), "remove"], { env });
  assert.ok(existsSync(envFile), "remove keeps the configuration");
  assert.ok(!existsSync(calls), `no systemd call in a scratch root:\n${existsSync(calls) ? readFileSync(calls, "utf8") : ""}`);
  run("sh", [join(control, "postrm"), "purge"], { env });
  assert.ok(!existsSync(envFile), "purge removes the generated secret");
  assert.ok(!existsSync(calls), "purge in a scratch root calls no systemd helper");
  // Put it back for the start below.
  run("sh", [join(control, "postinst"), "configure"], { env });
});

test("the unit: the packaged paths, SIGHUP for reload, and the hardening", () => {
  const unit = readFileSync(join(root, "usr/lib/systemd/system/chatd.service"), "utf8");
  const has = (line) => assert.match(unit, new RegExp(`^${line}$`, "m"), line);
  has("ExecStart=/usr/bin/chatd --config /etc/chatd/chatd\\.conf");
  has("ExecReload=/bin/kill -HUP \\$MAINPID");
  has("EnvironmentFile=-/etc/chatd/chatd\\.env");
  for (const line of ["DynamicUser=yes", "StateDirectory=chatd", "ProtectSystem=strict", "ProtectHome=yes",
    "NoNewPrivileges=yes", "PrivateTmp=yes", "PrivateDevices=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces=yes", "CapabilityBoundingSet=", "SystemCallFilter=@system-service", "WantedBy=multi-user\\.target"])
    has(line);
  // The config file the unit passes keeps the data in the StateDirectory.
  assert.match(readFileSync(join(root, "etc/chatd/chatd.conf"), "utf8"), /^data-dir = \/var\/lib\/chatd$/m);
});

const chatd = () => join(root, "usr/bin/chatd");

test("the unpacked chatd: --version, and --help's options all in the man page and the example config", () => {
  assert.equal(run(chatd(), ["--version"]).trim(), `chatd ${VERSION}`);
  const options = helpOptions(run(chatd(), ["--help"]));
  assert.ok(options.length > 50 && options.includes("log-format"), `options: ${options}`);
  const man = readFileSync(join(root, "usr/share/man/man1/chatd.1"), "utf8");
  const inMan = [...man.matchAll(/^\\fB(?:\\-\w\\fR, \\fB)?\\-\\-([a-z0-9\\-]+)\\fR/gm)].map((m) => m[1].replaceAll("\\-", "-")).sort();
  assert.deepEqual(inMan, options, "chatd.1 lists every option of --help, and no other");
  const example = readFileSync(join(root, "etc/chatd/chatd.conf.example"), "utf8");
  const inExample = [...example.matchAll(/^# ([a-z0-9-]+) = /gm)].map((m) => m[1]).sort();
  assert.deepEqual(inExample, options.filter((o) => !["help", "version", "config"].includes(o)),
    "chatd.conf.example has every setting of --help, and no other");
});

test("the unpacked chatd starts with the packaged config, serves /healthz, stops on SIGTERM", { timeout: 30000 }, async () => {
  const state = tempDir();
  const secret = readFileSync(join(root, "etc/chatd/chatd.env"), "utf8").match(/^CHATD_JWT_SECRET=(.*)$/m)[1];
  const env = { PATH: process.env.PATH, CHATD_JWT_SECRET: secret };
  const proc = spawn(chatd(), ["--config", join(root, "etc/chatd/chatd.conf"), "--data-dir", state,
    "--host", "127.0.0.1", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"], env });
  let log = "";
  const exited = new Promise((resolve) => proc.on("close", (code) => resolve(code)));
  proc.stdout.on("data", (d) => (log += d));
  try {
    const port = await deadline(new Promise((resolve, reject) => {
      proc.stderr.on("data", (d) => {
        log += d;
        const m = log.match(/msg="chatd listening".* port=(\d+)/);
        if (m) resolve(Number(m[1]));
      });
      exited.then((code) => reject(new Error(`chatd exited with ${code}:\n${log}`)));
    }), 15000, "the packaged chatd to listen");
    const res = await deadline(fetch(`http://127.0.0.1:${port}/healthz`), 5000, "/healthz");
    assert.equal(res.status, 200);
    assert.doesNotMatch(log, new RegExp(secret), "the secret is not logged");
    proc.kill("SIGTERM");
    assert.equal(await deadline(exited, 15000, "chatd to stop"), 0);
    assert.ok(existsSync(join(state, "chatd.db")), "the database is in the state directory");
  } finally {
    proc.kill("SIGKILL");
  }
});
