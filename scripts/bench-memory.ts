#!/usr/bin/env bun
import { execFileSync, spawnSync } from "node:child_process";
/**
 * Peak memory (maximum resident set size, /usr/bin/time -v) of `xcimg pack`, `export` and
 * `import` over image trees of growing size: each must stay flat whatever the tree (the goal:
 * at most 300 MB), since a management node packs images far larger than its free memory.
 * The trees are generated: 60 % incompressible files (1 KiB .. 48 MiB), 40 % text, and a few
 * thousand small files, under .cache/bench/memory/ (free disk is checked first).
 * Writes docs/bench/memory.md.
 *
 *   bun scripts/bench-memory.ts [--gb 1,3]
 */
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statfsSync, writeFileSync, writeSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const bin = join(root, "dist", "xcimg");
const base = join(root, ".cache", "bench", "memory");
const i = process.argv.indexOf("--gb");
const sizes = (i > 0 ? (process.argv[i + 1] as string) : "1,3").split(",").map(Number);

mkdirSync(base, { recursive: true });
const fsst = statfsSync(base);
const freeGb = (fsst.bavail * fsst.bsize) / 1e9;
const needGb = Math.max(...sizes) * 4.5;
if (freeGb < needGb) throw new Error(`bench-memory: ${freeGb.toFixed(0)} GB free under ${base}, ${needGb.toFixed(0)} GB needed`);

const block = randomBytes(64 << 20);
const words = "node image kernel initrd overlay boot clone pack export import tree file the of and to in".split(" ");

/** A tree of about `gb` GB: incompressible files, text files, many small files. */
function makeTree(dir: string, gb: number): number {
  rmSync(dir, { recursive: true, force: true });
  let total = 0;
  const target = gb * 1e9;
  let k = 0;
  const file = (p: string, write: (fd: number) => number) => {
    const fd = openSync(p, "w");
    try {
      total += write(fd);
    } finally {
      closeSync(fd);
    }
  };
  mkdirSync(join(dir, "rootimg", "boot"), { recursive: true });
  mkdirSync(join(dir, "rootimg", "sbin"), { recursive: true });
  writeFileSync(join(dir, "rootimg", "sbin", "init"), "#!/bin/sh\n");
  writeFileSync(join(dir, "rootimg", "boot", "vmlinuz-6.1.0-1"), Buffer.alloc(4096));
  while (total < target * 0.6) {
    const d = join(dir, "rootimg", "data", `d${k % 50}`);
    mkdirSync(d, { recursive: true });
    const size = [1024, 65536, 1 << 20, 8 << 20, 48 << 20][k % 5] as number;
    file(join(d, `bin${k}`), (fd) => writeSync(fd, block, (k * 7919) % (block.length - size), size));
    k++;
  }
  const line = Buffer.from(Array.from({ length: 4096 }, (_, j) => words[(j * 31) % words.length]).join(" "));
  while (total < target) {
    const d = join(dir, "rootimg", "text", `t${k % 50}`);
    mkdirSync(d, { recursive: true });
    file(join(d, `txt${k}.log`), (fd) => {
      let n = 0;
      for (let j = 0; j < 400; j++) n += writeSync(fd, line);
      return n;
    });
    k++;
  }
  for (let j = 0; j < 5000; j++) {
    const d = join(dir, "rootimg", "etc", `s${j % 100}`);
    mkdirSync(d, { recursive: true });
    file(join(d, `conf${j}`), (fd) => writeSync(fd, `key${j}=value${j}\n`));
  }
  return total;
}

/** Peak RSS (MB) and wall seconds of one xcimg command. */
function peak(args: string[], env: Record<string, string>): { mb: number; s: number } {
  const t = performance.now();
  // stdio to files, not pipes: with Bun's pipes, pack (and /usr/bin/time after it) exited 1
  // without a word (see the report of #21); the bench must not depend on that
  const log = join(base, "time.log");
  const r = spawnSync("sh", ["-c", 'exec /usr/bin/time -v -o "$0.v" "$@" </dev/null >/dev/null 2>"$0"', log, bin, ...args], { env, stdio: "ignore" });
  const s = (performance.now() - t) / 1000;
  const err = `${readFileSync(log, "utf8")}\n${readFileSync(`${log}.v`, "utf8")}`;
  if (r.status !== 0)
    throw new Error(
      `xcimg ${args.join(" ")} failed (exit ${r.status}):\n${err
        .split("\n")
        .filter((l) => !l.startsWith("\t"))
        .join("\n")}`,
    );
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(err)?.[1] ?? 0);
  return { mb: kb / 1024, s };
}

function site(dir: string): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "xcimg.toml"), `installdir = "${dir}/install"\ntftpdir = "${dir}/tftpboot"\n[db]\npath = "${dir}/db/xcimg.db"\n`);
  return { ...(process.env as Record<string, string>), XCIMG_CONFIG: join(dir, "xcimg.toml") };
}

const load0 = loadavg()[0] as number;
const lines: string[] = [];
for (const gb of sizes) {
  const a = join(base, "a");
  const b = join(base, "b");
  rmSync(a, { recursive: true, force: true });
  rmSync(b, { recursive: true, force: true });
  const envA = site(a);
  const envB = site(b);
  const imgDir = join(a, "install", "netboot", "mem", "x86_64", "compute");
  console.error(`bench-memory: a ${gb} GB tree...`);
  const bytes = makeTree(imgDir, gb);
  const x = (args: string[], env: Record<string, string>) => execFileSync(bin, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  x(["image", "set", "mem", "provmethod=netboot", "osvers=mem", "osarch=x86_64", "profile=compute"], envA);
  const packGz = peak(["pack", "mem"], envA);
  const packZst = peak(["pack", "mem", "-c", "zstd"], envA);
  // the same tree as a sysclone image (hard links: no second copy on disk), exported as a tree
  const sc = join(a, "install", "sysclone", "images", "memtree");
  mkdirSync(join(a, "install", "sysclone", "images"), { recursive: true });
  execFileSync("cp", ["-al", join(imgDir, "rootimg"), sc]);
  x(["image", "set", "memtree", "provmethod=sysclone", "osvers=mem", "osarch=x86_64", "profile=compute"], envA);
  const bundle = join(base, "memtree.tgz");
  const exp = peak(["export", "memtree", bundle], envA);
  const imp = peak(["import", bundle], envB);
  rmSync(bundle, { force: true });
  const row = `| ${(bytes / 1e9).toFixed(2)} GB | ${packGz.mb.toFixed(0)} (${packGz.s.toFixed(0)} s) | ${packZst.mb.toFixed(0)} (${packZst.s.toFixed(0)} s) | ${exp.mb.toFixed(0)} (${exp.s.toFixed(0)} s) | ${imp.mb.toFixed(0)} (${imp.s.toFixed(0)} s) |`;
  console.error(row);
  lines.push(row);
  rmSync(a, { recursive: true, force: true });
  rmSync(b, { recursive: true, force: true });
}
const md = `# Peak memory of pack, export and import

\`bun scripts/bench-memory.ts --gb ${sizes.join(",")}\` on ${cpus().length} × ${cpus()[0]?.model.trim()}, ${new Date().toISOString().slice(0, 10)};
load average (1 min) ${load0.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after. Maximum resident set size of the
xcimg process and its threads (\`/usr/bin/time -v\`), MB, with the wall time in parentheses. The trees: 60 % incompressible
files of 1 KiB to 48 MiB, 40 % text, 5,000 small files. Export and import are of the same tree as a sysclone image
(a bundle of the tree itself); import places it into a second, empty site.

| tree | pack (gzip) | pack -c zstd | export (sysclone tree) | import of that bundle |
|---|---|---|---|---|
${lines.join("\n")}
`;
writeFileSync(join(root, "docs", "bench", "memory.md"), md);
console.log(md);
