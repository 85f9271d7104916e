#!/usr/bin/env bun
/**
 * Bundle export/import speed against the obvious alternative, in the same run:
 *   1. a ~1 GB netboot image (kernel, initrd-stateless.gz, rootimg.cpio.gz — what packimage
 *      leaves): `xcimg export` vs `tar czf` of the same three files (what xCAT's imgexport
 *      runs, minus its copy into a staging directory), and `xcimg import` (vet + extract +
 *      place + rows) vs `tar xzf`;
 *   2. a compressible payload (a sysclone tree copied from /usr), to show the parallel gzip
 *      on its own: `xcimg export` vs `tar czf`.
 * Writes docs/bench/bundle.md. Fixtures are built once under .cache/bench-bundle.
 *
 *   bun scripts/bench-bundle.ts [--size-mb 1000] [--tree-mb 400] [--runs 2]
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SIZE_MB = arg("--size-mb", 1000);
const TREE_MB = arg("--tree-mb", 400);
const RUNS = arg("--runs", 2);
const cache = join(root, ".cache", "bench-bundle");
const bin = existsSync(join(root, "dist", "xcimg")) ? [join(root, "dist", "xcimg")] : [process.execPath, join(root, "src", "main.ts")];

function sh(cmd: string, cwd = cache): void {
  const p = Bun.spawnSync(["bash", "-c", cmd], { cwd, stdout: "inherit", stderr: "inherit" });
  if (p.exitCode !== 0) throw new Error(`failed: ${cmd}`);
}

function timed(cmd: string[], cwd: string, env: Record<string, string> = {}): number {
  const t = performance.now();
  const p = Bun.spawnSync(cmd, { cwd, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const s = (performance.now() - t) / 1000;
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${p.stderr.toString()}`);
  return s;
}

function size(p: string): number {
  return statSync(p).size;
}

function dirBytes(p: string): number {
  let n = 0;
  for (const e of readdirSync(p, { withFileTypes: true, recursive: true })) if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size;
  return n;
}

function site(name: string): { dir: string; config: string; installdir: string } {
  const dir = join(cache, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "install"), { recursive: true });
  const config = join(dir, "xcimg.toml");
  writeFileSync(config, `installdir = "${dir}/install"\ntftpdir = "${dir}/tftpboot"\n[db]\npath = "${dir}/db/xcimg.db"\n`);
  return { dir, config, installdir: join(dir, "install") };
}

function xcimg(s: { config: string }, args: string[], cwd: string): number {
  return timed([...bin, "--config", s.config, ...args], cwd);
}

const best = (xs: number[]) => Math.min(...xs);

// ---- fixtures -------------------------------------------------------------------------------
mkdirSync(cache, { recursive: true });
const img = join(cache, "netboot");
if (!existsSync(join(img, "rootimg.cpio.gz")) || Math.abs(size(join(img, "rootimg.cpio.gz")) / 1e6 - SIZE_MB) > SIZE_MB * 0.2) {
  console.error(`bench-bundle: building a ~${SIZE_MB} MB netboot image from /usr (once)...`);
  rmSync(img, { recursive: true, force: true });
  mkdirSync(img, { recursive: true });
  const kernel = join(root, ".cache", "fixtures", "vmlinuz");
  sh(existsSync(kernel) ? `cp ${kernel} netboot/kernel` : "head -c 12000000 /dev/urandom > netboot/kernel");
  sh("find /usr/lib -xdev -type f -size -2M -print0 | head -c 2000000 | xargs -0 cat 2>/dev/null | head -c 80000000 | pigz -6 > netboot/initrd-stateless.gz");
  // cpio of /usr (repeated if needed) until the compressed image has the wanted size
  sh(
    `for i in 1 2 3 4; do find /usr -xdev -print0 | cpio --null -H newc -o --quiet 2>/dev/null; done | pigz -6 | head -c ${SIZE_MB * 1_000_000} > netboot/rootimg.cpio.gz`,
  );
}
const tree = join(cache, "tree");
if (!existsSync(tree) || Math.abs(dirBytes(tree) / 1e6 - TREE_MB) > TREE_MB * 0.3) {
  console.error(`bench-bundle: copying ~${TREE_MB} MB of /usr as a sysclone tree (once)...`);
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  sh(
    `find /usr/lib /usr/share /usr/bin -xdev -type f -size -4M -print0 | head -z -n 200000 | tar --null -T - -cf - 2>/dev/null | head -c ${TREE_MB * 1_000_000} | tar -xf - -C tree 2>/dev/null || true`,
  );
}
const imgBytes = ["kernel", "initrd-stateless.gz", "rootimg.cpio.gz"].reduce((n, f) => n + size(join(img, f)), 0);
const treeBytes = dirBytes(tree);

// ---- 1. netboot image -----------------------------------------------------------------------
const a = site("site-a");
const nbDir = join(a.installdir, "netboot", "bench", "x86_64", "compute");
mkdirSync(nbDir, { recursive: true });
for (const f of ["kernel", "initrd-stateless.gz", "rootimg.cpio.gz"])
  sh(`ln -f ${join(img, f)} ${join(nbDir, f)} 2>/dev/null || cp ${join(img, f)} ${join(nbDir, f)}`);
timed(
  [
    ...bin,
    "--config",
    a.config,
    "image",
    "set",
    "bench-netboot",
    "provmethod=netboot",
    "osvers=bench",
    "osarch=x86_64",
    "profile=compute",
    `rootimgdir=${nbDir}`,
  ],
  a.dir,
);
sh(`cat ${nbDir}/* > /dev/null`); // warm the page cache for both sides

const results: { what: string; xcimg: number; base: number; baseName: string; xBytes: number; bBytes: number }[] = [];
// the import rows: a gzip of stored blocks inflates faster than tar czf's re-deflated stream, so both are shown
{
  const xs: number[] = [];
  const bs: number[] = [];
  const out = join(a.dir, "bench.tgz");
  const ref = join(a.dir, "ref.tgz");
  for (let r = 0; r < RUNS; r++) {
    rmSync(out, { force: true });
    rmSync(ref, { force: true });
    xs.push(xcimg(a, ["export", "bench-netboot", out], a.dir));
    bs.push(timed(["tar", "czf", ref, "-C", nbDir, "kernel", "initrd-stateless.gz", "rootimg.cpio.gz"], a.dir));
  }
  results.push({
    what: `export, netboot image (${(imgBytes / 1e6).toFixed(0)} MB)`,
    xcimg: best(xs),
    base: best(bs),
    baseName: "tar czf",
    xBytes: size(out),
    bBytes: size(ref),
  });

  const xi: number[] = [];
  const bi: number[] = [];
  const bx: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const b = site("site-b");
    xi.push(xcimg(b, ["import", out], b.dir));
    for (const [dir, file, list] of [
      ["x", ref, bi],
      ["y", out, bx],
    ] as const) {
      mkdirSync(join(b.dir, dir));
      list.push(timed(["tar", "xzf", file, "-C", join(b.dir, dir)], b.dir));
    }
  }
  results.push({
    what: "import (vet + extract + place + rows) vs unpacking tar czf's bundle",
    xcimg: best(xi),
    base: best(bi),
    baseName: "tar xzf",
    xBytes: size(out),
    bBytes: size(ref),
  });
  results.push({
    what: "import vs unpacking the same xcimg bundle",
    xcimg: best(xi),
    base: best(bx),
    baseName: "tar xzf",
    xBytes: size(out),
    bBytes: size(out),
  });
  rmSync(join(cache, "site-b"), { recursive: true, force: true });
}

// ---- 2. compressible tree -------------------------------------------------------------------
{
  const s = site("site-tree");
  const dir = join(s.installdir, "sysclone", "images", "bench-tree");
  mkdirSync(join(s.installdir, "sysclone", "images"), { recursive: true });
  sh(`cp -al ${tree} ${dir}`);
  timed([...bin, "--config", s.config, "image", "set", "bench-tree", "provmethod=sysclone", "osvers=bench", "osarch=x86_64", "profile=compute"], s.dir);
  sh(`tar cf - -C ${dir} . > /dev/null`);
  const xs: number[] = [];
  const bs: number[] = [];
  const out = join(s.dir, "tree.tgz");
  const ref = join(s.dir, "tree-ref.tgz");
  for (let r = 0; r < RUNS; r++) {
    rmSync(out, { force: true });
    rmSync(ref, { force: true });
    xs.push(xcimg(s, ["export", "bench-tree", out], s.dir));
    bs.push(timed(["tar", "czf", ref, "-C", dir, "."], s.dir));
  }
  results.push({
    what: `export, sysclone tree (${(treeBytes / 1e6).toFixed(0)} MB, compressible)`,
    xcimg: best(xs),
    base: best(bs),
    baseName: "tar czf",
    xBytes: size(out),
    bBytes: size(ref),
  });
  rmSync(s.dir, { recursive: true, force: true });
}
rmSync(a.dir, { recursive: true, force: true });

// ---- report ---------------------------------------------------------------------------------
const cpu = cpus()[0]?.model ?? "unknown CPU";
const lines = [
  "# Bundle export / import",
  "",
  `Measured by \`bun scripts/bench-bundle.ts\` on ${new Date().toISOString().slice(0, 10)}: ${availableParallelism()} cores (${cpu}), ${bin.length === 1 ? "compiled dist/xcimg" : "bun src/main.ts"}, best of ${RUNS} runs, page cache warm, files on the same disk. The baseline runs on the same files in the same run.`,
  "",
  "| operation | xcimg | baseline | speed-up | bundle size (xcimg / baseline) |",
  "|---|---|---|---|---|",
  ...results.map(
    (r) =>
      `| ${r.what} | ${r.xcimg.toFixed(2)} s | ${r.baseName}: ${r.base.toFixed(2)} s | **${(r.base / r.xcimg).toFixed(2)}×** | ${(r.xBytes / 1e6).toFixed(1)} MB / ${(r.bBytes / 1e6).toFixed(1)} MB |`,
  ),
  "",
  "Why export is faster: GNU tar children read the files in place (no staging copy, unlike xCAT's imgexport), the tar stream is cut into 4 MiB blocks",
  "compressed as separate gzip members on every core (libdeflate in Bun workers), and blocks of data that is already compressed (the gzip'd root",
  "image, the initrd, a bzImage kernel) are stored instead of deflated a second time — `tar czf` spends most of its time re-deflating the",
  "rootimg.cpio.gz for well under 1% of size. The result is one valid multi-member .tgz that GNU tar, gzip and xCAT read as usual.",
  "",
  "Import does more than `tar xzf`: it reads the whole bundle once to vet it (names, links, devices, sizes, SHA-256 of every member) before",
  "anything is written, then GNU tar extracts into a staging directory and the files are renamed into place with the rows in one transaction.",
  "It is still faster than `tar xzf`: stored blocks inflate at memory speed (tar czf's bundle must be inflated in full), the vetting pass over",
  "them costs about a second per GB, and the extraction runs GNU tar with pigz -d (reading, inflating, CRC and writing on separate threads)",
  "where `tar xzf` uses single-threaded gzip. Writes to this VM's disk are noisy: the same `tar xzf` took 7–14 s in different runs.",
  "",
];
mkdirSync(join(root, "docs", "bench"), { recursive: true });
writeFileSync(join(root, "docs", "bench", "bundle.md"), lines.join("\n"));
console.log(lines.join("\n"));
