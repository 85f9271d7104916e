#!/usr/bin/env bun
/**
 * Compile xcimg into single-file binaries: dist/xcimg (linux x64) and dist/xcimg-linux-arm64.
 * --minify --bytecode make `xcimg --help` start in ~6 ms (bun.md §5); the two
 * --no-compile-autoload flags stop a root tool from reading .env/bunfig.toml from whatever
 * directory an admin happens to run it in.
 *
 *   bun scripts/build.ts            both targets
 *   bun scripts/build.ts --host     only the x64 binary (what the tests need)
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const hostOnly = process.argv.includes("--host");
const targets: [string, string][] = [["bun-linux-x64", "xcimg"]];
if (!hostOnly) targets.push(["bun-linux-arm64", "xcimg-linux-arm64"]);

/** Extra entry points: worker scripts must be compiled in by path (bun.md §3). */
const entries = ["src/main.ts", "src/core/compress/worker.ts", "src/core/noderange/worker.ts", "src/core/db/pg-worker.ts", "src/core/boot/file-worker.ts"];

/**
 * What the binary is made of, as one digest of every file under src/ (src/core/build-id.ts):
 * `xcimg boot` keeps a node's files only when they were rendered by this very code.
 */
function sourceDigest(): string {
  const h = createHash("sha256");
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile())
        h.update(`${p.slice(root.length)}\0`)
          .update(readFileSync(p))
          .update("\0");
    }
  };
  walk(join(root, "src"));
  // the dependencies and the runtime compiled in are part of what renders a file too
  for (const f of ["package.json", "package-lock.json"]) h.update(readFileSync(join(root, f)));
  h.update(Bun.version);
  return h.digest("hex").slice(0, 32);
}
const buildId = sourceDigest();

mkdirSync(join(root, "dist"), { recursive: true });
for (const [target, out] of targets) {
  const started = performance.now();
  const proc = Bun.spawnSync(
    [
      process.execPath,
      "build",
      "--compile",
      "--minify",
      "--keep-names",
      "--bytecode",
      "--format=esm",
      "--no-compile-autoload-dotenv",
      "--no-compile-autoload-bunfig",
      `--target=${target}`,
      `--define=XCIMG_BUILD_ID=${JSON.stringify(buildId)}`,
      ...entries,
      "--outfile",
      join("dist", out),
    ],
    { cwd: root, stdout: "inherit", stderr: "inherit" },
  );
  if (proc.exitCode !== 0) {
    console.error(`build for ${target} failed`);
    process.exit(proc.exitCode ?? 1);
  }
  console.error(`built dist/${out} (${target}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
