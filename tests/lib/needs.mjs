// What a node test needs from outside the repository (npm packages from one
// of the project's lock files, programs from Debian packages), and one way
// of saying that something is missing: a line that names it and how to get
// it, then exit code 77, which CTest reports as "skipped" (each node test
// sets SKIP_RETURN_CODE 77). A skip cannot hide a missing package in CI:
// package.deps fails when scripts/install-deps.sh does not install
// everything the tests use.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { join } from "node:path";

export const SKIP_CODE = 77;

function skip(what) {
  console.log(`SKIP: ${what}; run scripts/install-deps.sh, which installs it`);
  process.exit(SKIP_CODE);
}

// require(name) resolved from the node_modules beside lockDir's package.json.
export function npmPackage(lockDir, name) {
  try {
    return createRequire(join(lockDir, "package.json"))(name);
  } catch (e) {
    if (e.code === "MODULE_NOT_FOUND") skip(`npm package ${name} is not installed in ${lockDir} (npm ci there)`);
    throw e;
  }
}

// The path of a program, which must exist.
export function program(path, debianPackage) {
  if (!path || !existsSync(path)) skip(`${path || "a program"} is missing (Debian package ${debianPackage})`);
  return path;
}
