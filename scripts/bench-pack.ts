#!/usr/bin/env bun
/**
 * `xcimg pack` against the pipelines the peers run, on the same ~1 GB root tree in the same
 * run, page cache warm for everyone:
 *   xCAT packimage (no pigz):  find . -xdev | cpio -H newc -o | gzip -c
 *   Warewulf / xCAT with pigz: find . -xdev | cpio -H newc -o --renumber-inodes | pigz -c
 *   xcimg pack -c gzip, -c zstd (the compiled binary)
 * Writes docs/bench/pack.md. The tree is a copy of this machine's /usr/{bin,lib,share}
 * trimmed to ~1 GB (real binaries, libraries, text, locales), cached in .cache/bench.
 *
 *   bun scripts/bench-pack.ts [--size-mb 1000] [--rounds 2]
 */
import { execFileSync, execSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const sizeMb = arg("--size-mb", 1000);
const rounds = arg("--rounds", 2);
const bench = join(root, ".cache", "bench", "pack");
const site = join(bench, "site");
const tree = join(site, "install", "netboot", "bench1", "x86_64", "compute", "rootimg");
const bin = join(root, "dist", "xcimg");
if (!existsSync(bin)) throw new Error("build first: bun scripts/build.ts --host");

function du(dir: string): number {
  return Number(execSync(`du -sb ${dir}`).toString().split("\t")[0]);
}

/** Copy /usr/{bin,share,lib} file by file until the tree holds ~sizeMb. */
function makeTree(): void {
  if (existsSync(tree) && Math.abs(du(tree) / 1e6 - sizeMb) < sizeMb * 0.1) return;
  rmSync(site, { recursive: true, force: true });
  mkdirSync(join(tree, "usr"), { recursive: true });
  let total = 0;
  for (const d of ["bin", "share", "lib"]) {
    for (const e of readdirSync(`/usr/${d}`).sort()) {
      if (total > sizeMb * 1e6) break;
      mkdirSync(join(tree, "usr", d), { recursive: true });
      execFileSync("cp", ["-a", `/usr/${d}/${e}`, join(tree, "usr", d)]);
      total = du(tree);
    }
  }
  for (const l of ["bin", "lib", "sbin"]) execFileSync("ln", ["-sfn", `usr/${l === "sbin" ? "bin" : l}`, join(tree, l)]);
}

interface Result {
  name: string;
  seconds: number[];
  bytes: number;
}

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
}

makeTree();
const loadBefore = loadavg()[0] as number;
const input = Number(execSync(`cd ${tree} && find . -xdev -print0 | cpio --null -H newc -o --quiet | wc -c`).toString());
const cfg = join(site, "xcimg.toml");
writeFileSync(cfg, `installdir = "${join(site, "install")}"\ntftpdir = "${join(site, "tftpboot")}"\n[db]\npath = "${join(site, "xcimg.db")}"\n`);
const env = { ...process.env, XCIMG_CONFIG: cfg };
execFileSync(bin, ["image", "set", "bench", "provmethod=netboot", "osvers=bench1", "osarch=x86_64", "profile=compute"], { env, stdio: "ignore" });
execSync(`find ${tree} -type f -print0 | xargs -0 cat > /dev/null`); // warm the page cache

const out = join(bench, "out");
const pipelines: { name: string; run: () => void; file: string }[] = [
  {
    name: "xCAT: find | cpio -H newc -o | gzip",
    file: `${out}.gzip`,
    run: () => execSync(`cd ${tree} && find . -xdev | cpio -H newc -o --quiet | gzip -c > ${out}.gzip`),
  },
  {
    name: "Warewulf: find | cpio -H newc -o --renumber-inodes | pigz",
    file: `${out}.pigz`,
    run: () => execSync(`cd ${tree} && find . -xdev | cpio -H newc -o --renumber-inodes --quiet | pigz -c > ${out}.pigz`),
  },
  {
    name: "xcimg pack (gzip)",
    file: join(tree, "..", "rootimg.cpio.gz"),
    run: () => execFileSync(bin, ["pack", "bench", "-c", "gzip"], { env, stdio: "ignore" }),
  },
  {
    name: "xcimg pack -c zstd",
    file: join(tree, "..", "rootimg.cpio.zst"),
    run: () => execFileSync(bin, ["pack", "bench", "-c", "zstd"], { env, stdio: "ignore" }),
  },
];
const results: Result[] = pipelines.map((p) => ({ name: p.name, seconds: [], bytes: 0 }));
for (let r = 0; r < rounds; r++) {
  pipelines.forEach((p, i) => {
    const s = time(p.run);
    const res = results[i] as Result;
    res.seconds.push(s);
    res.bytes = statSync(p.file).size;
    console.error(`${p.name}: ${s.toFixed(2)} s, ${res.bytes} B`);
  });
}

const best = (r: Result) => Math.min(...r.seconds);
const pigz = results[1] as Result;
const rows = results.map((r) => {
  const s = best(r);
  return `| ${r.name.replaceAll("|", "\\|")} | ${r.seconds.map((x) => x.toFixed(2)).join(" / ")} | ${(input / s / 1e6).toFixed(0)} | ${(r.bytes / 1e6).toFixed(1)} | ${(input / r.bytes).toFixed(3)} | ${(best(pigz) / s).toFixed(2)}× | ${(r.bytes / pigz.bytes).toFixed(3)} |`;
});
const md = `# pack benchmark

\`bun scripts/bench-pack.ts --size-mb ${sizeMb} --rounds ${rounds}\` on ${cpus().length} × ${cpus()[0]?.model.trim()}, ${new Date().toISOString().slice(0, 10)}.
Tree: ${(du(tree) / 1e6).toFixed(0)} MB copied from /usr/{bin,share,lib} (${execSync(`find ${tree} | wc -l`).toString().trim()} entries), page cache warm;
uncompressed cpio stream ${(input / 1e6).toFixed(0)} MB. Every pipeline runs in the same process, in turn, ${rounds} round(s); MB/s is cpio input bytes over the best time.
Load average (1 min) ${loadBefore.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after: the machine is shared, so compare rows of one run, not absolute numbers.

| pipeline | wall s (per round) | MB/s | output MB | ratio | speed vs pigz | size vs pigz |
|---|---|---|---|---|---|---|
${rows.join("\n")}

How xcimg gets there: it writes the cpio stream itself (sorted, renumbered inodes, one read per
file), cuts it at entry boundaries into 8 MiB pieces and compresses each piece in a worker with
libdeflate (gzip) or zstd, one worker per core; the pieces are independent gzip members / zstd
frames, concatenated in order (the kernel, \`gzip -d\` and \`zstd -d\` read them as one stream).
libdeflate at level 6 compresses better than zlib's level 6, which is why the gzip output is
not bigger than pigz's despite the member restarts.
`;
mkdirSync(join(root, "docs", "bench"), { recursive: true });
writeFileSync(join(root, "docs", "bench", "pack.md"), md);
console.log(md);
