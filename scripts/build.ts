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
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const hostOnly = process.argv.includes("--host");
const targets: [string, string][] = [["bun-linux-x64", "xcimg"]];
if (!hostOnly) targets.push(["bun-linux-arm64", "xcimg-linux-arm64"]);

/** Extra entry points: worker scripts must be compiled in by path (bun.md §3). */
const entries = ["src/main.ts", "src/core/compress/worker.ts", "src/core/noderange/worker.ts", "src/core/db/pg-worker.ts"];

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
