#!/usr/bin/env bun
/**
 * Benchmarks for `xcimg lite` (writes docs/bench/statelite.md):
 *
 * 1. Copying an entry to .default: one `cp -a` child per entry (what lite does: keeps owners,
 *    xattrs, hard links) against node:fs `cpSync` (recursive, timestamps kept; no owners or
 *    xattrs, so it could not be used anyway) — is the child process a cost?
 * 2. A whole lite run over a synthetic image with xCAT's 25-row test litefile (all tmpfs) plus
 *    link entries, against the same work done the way liteimg does it: one shell command per
 *    step (mkdir -p, cp -r -a, rm -rf, ln -sfn, touch through system()).
 *
 *   bun scripts/bench-statelite.ts [files-per-dir=40] [runs=3]     (BENCH_DIR=<dir> to use a disk)
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImageRoot } from "../src/core/image/image-root";
import { MemoryLogger } from "../src/core/log";
import { copyA } from "../src/provmethods/statelite/fsops";
import { buildHierarchy, processingOrder } from "../src/provmethods/statelite/hierarchy";
import { liteItem } from "../src/provmethods/statelite/lite-item";

const perDir = Number(process.argv[2] ?? 40);
const runs = Number(process.argv[3] ?? 3);
// tmpfs by default: the VM disk is shared and noisy; this measures CPU and process cost
const base = process.env.BENCH_DIR ?? (Bun.spawnSync(["test", "-d", "/dev/shm"]).exitCode === 0 ? "/dev/shm" : tmpdir());
const work = mkdtempSync(join(base, "xcimg-bench-statelite-"));

function synthTree(root: string, dirs: string[]): number {
  let n = 0;
  const blob = Buffer.alloc(4096, 7);
  for (const d of dirs) {
    for (let s = 0; s < 10; s++) {
      const dir = join(root, d, `sub${s}`);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < perDir; i++, n++) writeFileSync(join(dir, `f${i}`), blob);
    }
  }
  return n;
}

const ENTRIES = [
  "/etc/adjtime",
  "/etc/securetty",
  "/etc/inittab",
  "/etc/lvm/",
  "/etc/ntp.conf",
  "/etc/rsyslog.conf",
  "/etc/rsyslog.conf.XCATORIG",
  "/etc/udev/",
  "/etc/ntp.conf.predhclient",
  "/etc/resolv.conf",
  "/etc/yp.conf",
  "/etc/resolv.conf.predhclient",
  "/etc/sysconfig/",
  "/etc/ssh/",
  "/etc/systemd/system/multi-user.target.wants/",
  "/tmp/",
  "/var/",
  "/etc/ntp.conf.org",
  "/opt/xcat/",
  "/xcatpost/",
  "/root/.ssh/",
  "/etc/rc3.d/",
  "/etc/rc2.d/",
  "/etc/rc4.d/",
  "/etc/rc5.d/",
].map((file) => ({ file, options: "tmpfs" }));
const LINKS = ["/usr/share/doc/", "/home/", "/srv/data/"].map((file) => ({ file, options: "link" }));

function makeImage(root: string): number {
  return synthTree(root, ["etc/udev", "etc/sysconfig", "var/lib", "var/log", "usr/share/doc", "home/user", "srv/data", "opt/xcat"]);
}

/** The same structure through one shell command per step, as statelite.pm's system() calls. */
function liteimgStyle(root: string): void {
  const sh = (cmd: string) => Bun.spawnSync(["sh", "-c", cmd]);
  for (const { file } of ENTRIES) {
    const f = file.replace(/\/$/, "");
    const d = f.slice(0, f.lastIndexOf("/")) || "/";
    if (Bun.spawnSync(["test", "-e", `${root}${f}`]).exitCode !== 0)
      sh(file.endsWith("/") ? `mkdir -p '${root}${f}'` : `mkdir -p '${root}${d}' && touch '${root}${f}'`);
    sh(`mkdir -p '${root}/.default${d}'`);
    sh(`cp -r -a '${root}${file}' '${root}/.default${d}'`);
  }
  for (const { file } of LINKS) {
    const f = file.replace(/\/$/, "");
    const d = f.slice(0, f.lastIndexOf("/")) || "/";
    const rel =
      d === "/"
        ? "."
        : d
            .split("/")
            .slice(1)
            .map(() => "..")
            .join("/");
    sh(`readlink -m '${root}${f}'`);
    sh(`mkdir -p '${root}/.default${d}'`);
    sh(`cp -r -a '${root}${f}' '${root}/.default${d}'`);
    sh(`rm -rf '${root}${f}'`);
    sh(`mkdir -p '${root}/.statelite/tmpfs${d}'`);
    sh(`ln -sfn '../../${rel}/.default${f}' '${root}/.statelite/tmpfs${f}'`);
    sh(`ln -sfn '${rel}/.statelite/tmpfs${f}' '${root}${f}'`);
  }
}

async function xcimgStyle(root: string): Promise<void> {
  const h = buildHierarchy([...ENTRIES, ...LINKS]);
  const c = { img: new ImageRoot(root), log: new MemoryLogger() };
  mkdirSync(join(root, ".statelite", "tmpfs"), { recursive: true });
  for (const { entry, isChild } of processingOrder(h)) await liteItem(c, entry, isChild);
}

async function time(fn: () => Promise<void> | void): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const results: string[] = [];

// 1. copy one big entry
{
  const src = join(work, "src");
  const files = synthTree(src, ["a", "b", "c", "d"]);
  const tA: number[] = [];
  const tB: number[] = [];
  for (let r = 0; r < runs; r++) {
    tA.push(await time(() => copyA(src, join(work, `cpa${r}`))));
    tB.push(await time(() => cpSync(src, join(work, `fscp${r}`), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true })));
  }
  results.push(
    `| copy one entry to .default (${files} files of 4 KiB, ${((files * 4) / 1024) | 0} MiB) | \`cp -a\` child ${mean(tA).toFixed(3)} s | node:fs \`cpSync\` ${mean(tB).toFixed(3)} s (drops owners and xattrs) | ${(mean(tB) / mean(tA)).toFixed(2)}x |`,
  );
}

// 2. whole lite structure
{
  const tA: number[] = [];
  const tB: number[] = [];
  let files = 0;
  for (let r = 0; r < runs; r++) {
    const a = join(work, `imgA${r}`);
    const b = join(work, `imgB${r}`);
    files = makeImage(a);
    makeImage(b);
    tA.push(await time(() => xcimgStyle(a)));
    tB.push(await time(() => liteimgStyle(b)));
  }
  results.push(
    `| lite structure: xCAT's 25-row test litefile + 3 link dirs over ${files} files | xcimg ${mean(tA).toFixed(3)} s | one shell command per step (liteimg's system() calls) ${mean(tB).toFixed(3)} s | ${(mean(tB) / mean(tA)).toFixed(2)}x |`,
  );
}

rmSync(work, { recursive: true, force: true });
const date = new Date().toISOString().slice(0, 10);
const doc = `# Statelite benchmarks

Measured by \`bun scripts/bench-statelite.ts ${perDir} ${runs}\` on ${date} (${navigator.hardwareConcurrency} cores, files on ${base}, other jobs running); means of ${runs} runs.
Ratio = alternative / xcimg (above 1: xcimg is faster).

| what | xcimg | alternative | ratio |
|---|---|---|---|
${results.join("\n")}
`;
mkdirSync(join(import.meta.dir, "..", "docs", "bench"), { recursive: true });
writeFileSync(join(import.meta.dir, "..", "docs", "bench", "statelite.md"), doc);
console.log(doc);
