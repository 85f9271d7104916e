#!/usr/bin/env bun
/**
 * `xcimg boot` for 10,000 xnba nodes (compiled binary, a throwaway site): the first run creates
 * every node's SSH host key and files, the second finds them unchanged, the third switches
 * every node to another image. Each scenario runs interleaved, several times, with
 *  - this tree's binary (dist/xcimg),
 *  - with `--base <git-ref>`, a binary built from that commit (the code before a change),
 *  - the floor: writing the same number of files (temporary name + rename, as boot does) in
 *    one tight loop, no xcimg at all;
 * and medians are reported, so the load of a shared machine hits both sides alike. Also, as
 * before, 1,000 host keys by spawning ssh-keygen against xcimg's in-process keys.
 * Writes docs/bench/boot-runs.md (docs/bench/boot.md explains where the time goes).
 *
 *   bun scripts/bench-boot.ts [--base <git-ref>] [--reps 3] [--nodes 10000] [--dir <path>] [--out <file>] [--keys 1000]
 *
 * --dir puts the sites and the floor's files on another filesystem (e.g. a journaled ext4
 * mounted from a loop file), because what a file creation costs depends on it: see
 * docs/bench/boot.md. The page names the filesystem and whether ext4 has a journal.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { newEd25519HostKey } from "../src/core/boot/hostkeys";

const root = join(import.meta.dir, "..");
const bin = join(root, "dist", "xcimg");
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? (process.argv[i + 1] as string) : dflt;
};
const binDir = join(root, ".cache", "bench", "boot");
const base = arg("--dir", binDir);
const outFile = arg("--out", join(root, "docs", "bench", "boot-runs.md"));
const baseRef = arg("--base", "");
const reps = Number(arg("--reps", "3"));
const N = Number(arg("--nodes", "10000"));

/** A baseline binary built from `ref` (git archive + this checkout's node_modules). */
function baselineBinary(ref: string): string {
  const dir = join(binDir, `base-${ref.replace(/[^\w.-]/g, "_")}`);
  const out = join(dir, "dist", "xcimg");
  if (existsSync(out)) return out;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync("sh", ["-c", `git -C "${root}" archive "${ref}" | tar x -C "${dir}"`]);
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  execFileSync(process.execPath, ["scripts/build.ts", "--host"], { cwd: dir, stdio: "ignore" });
  return out;
}

/** A site with n xnba nodes and two images, not booted yet: copied afresh for every measured run. */
function template(n: number): string {
  const dir = join(base, `template-${n}`);
  rmSync(dir, { recursive: true, force: true });
  const tree = join(dir, "install/netboot/bench1/x86_64/compute/rootimg");
  mkdirSync(join(tree, "boot"), { recursive: true });
  mkdirSync(join(tree, "sbin"), { recursive: true });
  const kernel = Buffer.alloc(4096);
  Buffer.from([0x50, 0x45, 0, 0, 0x64, 0x86]).copy(kernel, 0x80); // EFI stub: .uefi files too
  writeFileSync(join(tree, "boot/vmlinuz-6.1.0-1"), kernel);
  writeFileSync(join(tree, "sbin/init"), "#!/bin/sh\n");
  const env = siteEnv(dir);
  const x = (...a: string[]) => execFileSync(bin, a, { env, stdio: ["ignore", "ignore", "pipe"] });
  x("image", "set", "bench", "provmethod=netboot", "osvers=bench1", "osarch=x86_64", "profile=compute");
  // the image switched to: the same tree under another name (every node's overlay and loader file change)
  x(
    "image",
    "set",
    "bench2",
    "provmethod=netboot",
    "osvers=bench1",
    "osarch=x86_64",
    "profile=compute",
    `rootimgdir=${join(dir, "install/netboot/bench1/x86_64/compute")}`,
  );
  x("pack", "bench");
  const width = String(n).length;
  x("node", "set", `bn[${"1".padStart(width, "0")}-${n}]`, "groups=bench,all", "netboot=xnba", "arch=x86_64", "serialport=0", "serialspeed=115200");
  const rows = ["#node,interface,mac,comments,disable"];
  for (let i = 1; i <= n; i++) rows.push(`"bn${String(i).padStart(width, "0")}",,"52:54:02:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)}",,`);
  writeFileSync(join(dir, "mac.csv"), `${rows.join("\n")}\n`);
  x("table", "restore", "mac", join(dir, "mac.csv"));
  return dir;
}

function siteEnv(dir: string): Record<string, string> {
  writeFileSync(join(dir, "xcimg.toml"), `installdir = "${dir}/install"\ntftpdir = "${dir}/tftpboot"\n[db]\npath = "${dir}/db/xcimg.db"\n`);
  return { ...(process.env as Record<string, string>), XCIMG_CONFIG: join(dir, "xcimg.toml") };
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}

interface Run {
  wall: number;
  cpu: number;
}

/** Wall and CPU (user + system) seconds of one command. */
function measure(cmd: string, args: string[], env: Record<string, string>): Run {
  const t = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S", cmd, ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
  const wall = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  const [u, s] = (r.stderr.toString().trim().split("\n").at(-1) ?? "0 0").split(" ").map(Number);
  return { wall, cpu: (u ?? 0) + (s ?? 0) };
}

/** The floor: `files` files of `size` bytes, each written under a temporary name and renamed, in one loop. */
function floorRun(dir: string, files: number, size: number): Run {
  rmSync(dir, { recursive: true, force: true });
  for (const d of ["a", "b", "c"]) mkdirSync(join(dir, d), { recursive: true });
  const buf = Buffer.alloc(size, 0x61);
  const t = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < files; i++) {
    const p = join(dir, "abc"[i % 3] as string, `f${i}`);
    const fd = openSync(`${p}.tmp`, "wx", 0o600);
    writeSync(fd, buf);
    closeSync(fd);
    renameSync(`${p}.tmp`, p);
  }
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t) / 1000, cpu: (c.user + c.system) / 1e6 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

/** The filesystem `dir` is on, as /proc/mounts names it, and for ext4 whether it has a journal (a file creation's cost depends on both). */
function describeFs(dir: string): string {
  mkdirSync(dir, { recursive: true });
  let best = { mnt: "", line: [] as string[] };
  for (const l of readFileSync("/proc/mounts", "utf8").split("\n")) {
    const f = l.split(" ");
    const mnt = f[1] ?? "";
    if (f.length > 2 && (dir === mnt || dir.startsWith(mnt.endsWith("/") ? mnt : `${mnt}/`)) && mnt.length >= best.mnt.length) best = { mnt, line: f };
  }
  const [dev, mnt, type] = best.line;
  if (type !== "ext4") return `${type} (${mnt})`;
  const name = (dev ?? "").replace(/^\/dev\//, "");
  let task = "";
  try {
    task = readFileSync(`/sys/fs/ext4/${name}/journal_task`, "utf8").trim();
  } catch {
    // no sysfs entry: unknown
  }
  const journal = task === "<none>" ? "no journal" : task ? "journaled" : "journal unknown";
  return `ext4, ${journal} (${dev} on ${mnt})`;
}

const fsDesc = describeFs(base);
const load0 = loadavg()[0] as number;
const binaries: [string, string][] = [["this tree", bin]];
if (baseRef) binaries.push([`baseline (${baseRef})`, baselineBinary(baseRef)]);
const tpl = template(N);
const scenarios = ["first run", "again (unchanged)", "switch to another image"] as const;
const results = new Map<string, Run[]>();
const add = (k: string, r: Run) => results.set(k, [...(results.get(k) ?? []), r]);
for (let rep = 0; rep < reps; rep++) {
  for (const [label, b] of rep % 2 ? [...binaries].reverse() : binaries) {
    const dir = join(base, "run");
    rmSync(dir, { recursive: true, force: true });
    cpSync(tpl, dir, { recursive: true });
    const env = siteEnv(dir);
    const runs = [
      measure(b, ["boot", "bench", "-o", "bench"], env),
      measure(b, ["boot", "bench", "-o", "bench"], env),
      measure(b, ["boot", "bench", "-o", "bench2"], env),
    ];
    for (const [i, r] of runs.entries()) add(`${label}|${scenarios[i]}`, r);
    console.error(`rep ${rep + 1} ${label}: ${runs.map((r) => `${r.wall.toFixed(2)} s (cpu ${r.cpu.toFixed(2)})`).join(", ")}`);
  }
  const f = floorRun(join(base, "floor"), 3 * N, 2048);
  add("floor", f);
  console.error(`rep ${rep + 1} floor: ${(3 * N).toLocaleString("en")} files ${f.wall.toFixed(2)} s (cpu ${f.cpu.toFixed(2)})`);
}
rmSync(join(base, "run"), { recursive: true, force: true });
rmSync(join(base, "floor"), { recursive: true, force: true });

const cell = (k: string) => {
  const rs = results.get(k) ?? [];
  return `${median(rs.map((r) => r.wall)).toFixed(2)} (cpu ${median(rs.map((r) => r.cpu)).toFixed(2)})`;
};
/** baseline / this tree, of wall time and of CPU time: on a loaded machine the CPU ratio is the steadier one. */
const ratio = (s: string, k: "wall" | "cpu") =>
  median((results.get(`${binaries[1]?.[0]}|${s}`) ?? []).map((r) => r[k])) / median((results.get(`this tree|${s}`) ?? []).map((r) => r[k]));
const rows = scenarios.map(
  (s) =>
    `| ${s} | ${binaries.map(([l]) => cell(`${l}|${s}`)).join(" | ")} |${baseRef ? ` ${ratio(s, "wall").toFixed(2)}× (cpu ${ratio(s, "cpu").toFixed(2)}×) |` : ""}`,
);
const floorWall = median((results.get("floor") ?? []).map((r) => r.wall));
const firstWall = median((results.get("this tree|first run") ?? []).map((r) => r.wall));

// --keys 0 skips this part (its result does not change with the boot loop; it costs minutes on a loaded machine)
const K = Number(arg("--keys", "1000"));
const tmp = join(base, "keygen");
mkdirSync(tmp, { recursive: true });
const t0 = performance.now();
for (let i = 0; i < K; i++) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `root@n${i}`, "-f", join(tmp, `k${i}`)], { stdio: "ignore" });
const spawnS = (performance.now() - t0) / 1000;
rmSync(tmp, { recursive: true, force: true });
const t1 = performance.now();
for (let i = 0; i < K; i++) newEd25519HostKey(`root@n${i}`);
const inprocS = (performance.now() - t1) / 1000;
if (K) console.error(`${K.toLocaleString("en")} host keys: ssh-keygen spawns ${spawnS.toFixed(2)} s, in-process ${inprocS.toFixed(3)} s`);

const keysTable = `The alternative for the costliest CPU step per node, measured in the same run — ${K.toLocaleString("en")} ed25519 host keys:

| how | s | per key |
|---|---|---|
| \`ssh-keygen -t ed25519\` spawned per node | ${spawnS.toFixed(2)} | ${((spawnS / K) * 1e3).toFixed(2)} ms |
| xcimg, in-process (node:crypto, OpenSSH key format written by xcimg) | ${inprocS.toFixed(3)} | ${((inprocS / K) * 1e6).toFixed(0)} µs |
| ratio | ${(spawnS / inprocS).toFixed(0)}× | |
`;
const md = `# boot benchmark

\`bun scripts/bench-boot.ts${baseRef ? ` --base ${baseRef}` : ""} --reps ${reps}${base === binDir ? "" : ` --dir ${base}`}${K === 1000 ? "" : ` --keys ${K}`}\` on ${cpus().length} × ${cpus()[0]?.model.trim()}, ${new Date().toISOString().slice(0, 10)}, ${fsDesc};
load average (1 min) ${load0.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after — a shared machine, so
every cell is the median of ${reps} interleaved runs and rows compare within one run only.

\`xcimg boot bench -o bench\` with the compiled binary, ${N.toLocaleString("en")} xnba nodes (each gets an iPXE script, a
UEFI script and an identity overlay; the first run also creates its SSH host key), on a fresh
copy of the same site for every repetition; then the same command again (nothing changed); then
\`-o bench2\` (every node's overlay, scripts and rows change). Seconds wall-clock (CPU user + system):

| scenario | ${binaries.map(([l]) => l).join(" | ")} |${baseRef ? " baseline / this tree |" : ""}
|---|${binaries.map(() => "---|").join("")}${baseRef ? "---|" : ""}
${rows.join("\n")}

The floor, in the same run: ${(3 * N).toLocaleString("en")} files of 2 KiB, each written under a temporary name and renamed
(what the first run must do at least, with no xcimg at all): ${cell("floor")} s — the first run takes
${(firstWall / floorWall).toFixed(2)}× the floor.

${K ? keysTable : ""}`;
writeFileSync(outFile, md);
console.log(md);
