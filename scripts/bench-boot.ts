#!/usr/bin/env bun
/**
 * `xcimg boot` for 1,000 and 10,000 xnba nodes (compiled binary, a throwaway site): the first
 * run creates every node's SSH host key and files, the second finds them unchanged. Against it,
 * in the same run, the obvious alternative for the one per-node cost that could dominate —
 * spawning `ssh-keygen` per node, as a shell implementation of nodeset would — versus xcimg's
 * in-process key generation. Writes docs/bench/boot.md.
 *
 *   bun scripts/bench-boot.ts
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { newEd25519HostKey } from "../src/core/boot/hostkeys";

const root = join(import.meta.dir, "..");
const bin = join(root, "dist", "xcimg");
const base = join(root, ".cache", "bench", "boot");

function site(n: number): { env: Record<string, string>; dir: string } {
  const dir = join(base, `n${n}`);
  rmSync(dir, { recursive: true, force: true });
  const tree = join(dir, "install/netboot/bench1/x86_64/compute/rootimg");
  mkdirSync(join(tree, "boot"), { recursive: true });
  mkdirSync(join(tree, "sbin"), { recursive: true });
  const kernel = Buffer.alloc(4096);
  Buffer.from([0x50, 0x45, 0, 0, 0x64, 0x86]).copy(kernel, 0x80); // EFI stub: .uefi files too
  writeFileSync(join(tree, "boot/vmlinuz-6.1.0-1"), kernel);
  writeFileSync(join(tree, "sbin/init"), "#!/bin/sh\n");
  writeFileSync(join(dir, "xcimg.toml"), `installdir = "${dir}/install"\ntftpdir = "${dir}/tftpboot"\n[db]\npath = "${dir}/db/xcimg.db"\n`);
  const env = { ...(process.env as Record<string, string>), XCIMG_CONFIG: join(dir, "xcimg.toml") };
  const x = (...a: string[]) => execFileSync(bin, a, { env, stdio: ["ignore", "ignore", "pipe"] });
  x("image", "set", "bench", "provmethod=netboot", "osvers=bench1", "osarch=x86_64", "profile=compute");
  x("pack", "bench");
  const width = String(n).length;
  x("node", "set", `bn[${"1".padStart(width, "0")}-${n}]`, "groups=bench,all", "netboot=xnba", "arch=x86_64", "serialport=0", "serialspeed=115200");
  const rows = ["#node,interface,mac,comments,disable"];
  for (let i = 1; i <= n; i++) rows.push(`"bn${String(i).padStart(width, "0")}",,"52:54:02:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)}",,`);
  writeFileSync(join(dir, "mac.csv"), `${rows.join("\n")}\n`);
  x("table", "restore", "mac", join(dir, "mac.csv"));
  return { env, dir };
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}

function timed(fn: () => void): number {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
}

const lines: string[] = [];
const load0 = loadavg()[0] as number;
for (const n of [1000, 10000]) {
  const { env } = site(n);
  const boot = () => execFileSync(bin, ["boot", "bench", "-o", "bench"], { env, stdio: ["ignore", "ignore", "ignore"] });
  const first = timed(boot);
  const again = timed(boot);
  console.error(`${n} nodes: first ${first.toFixed(2)} s, again ${again.toFixed(2)} s`);
  lines.push(`| ${n.toLocaleString("en")} | ${first.toFixed(2)} | ${again.toFixed(2)} | ${((first / n) * 1e6).toFixed(0)} / ${((again / n) * 1e6).toFixed(0)} |`);
}

const K = 1000;
const tmp = join(base, "keygen");
mkdirSync(tmp, { recursive: true });
const spawnS = timed(() => {
  for (let i = 0; i < K; i++) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `root@n${i}`, "-f", join(tmp, `k${i}`)], { stdio: "ignore" });
});
rmSync(tmp, { recursive: true, force: true });
const inprocS = timed(() => {
  for (let i = 0; i < K; i++) newEd25519HostKey(`root@n${i}`);
});
console.error(`1,000 host keys: ssh-keygen spawns ${spawnS.toFixed(2)} s, in-process ${inprocS.toFixed(3)} s`);

const md = `# boot benchmark

\`bun scripts/bench-boot.ts\` on ${cpus().length} × ${cpus()[0]?.model.trim()}, ${new Date().toISOString().slice(0, 10)}, ext4 (mounted with discard);
load average (1 min) ${load0.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after — a shared machine.

\`xcimg boot bench -o bench\` with the compiled binary, xnba nodes (each gets an iPXE script, a
UEFI script and an identity overlay; each first run also creates its SSH host key):

| nodes | first run s | again s (files unchanged) | µs per node (first / again) |
|---|---|---|---|
${lines.join("\n")}

The first run is dominated by creating ~3 files per node (on this disk a file creation costs
0.1–0.5 ms; on a management node's SSD expect far less); the second run reads each file and
leaves it alone when its content is the same.

The alternative for the costliest per-node step, measured in the same run — 1,000 ed25519 host keys:

| how | s | per key |
|---|---|---|
| \`ssh-keygen -t ed25519\` spawned per node | ${spawnS.toFixed(2)} | ${((spawnS / K) * 1e3).toFixed(2)} ms |
| xcimg, in-process (node:crypto, OpenSSH key format written by xcimg) | ${inprocS.toFixed(3)} | ${((inprocS / K) * 1e6).toFixed(0)} µs |
| ratio | ${(spawnS / inprocS).toFixed(0)}× | |

Other choices that keep it fast: node attributes (with group inheritance) are read with one
query per table, all rows are written in one transaction, all host keys live in one file
(\`ssh-host-keys.json\`, one read and one write per run instead of two files per node), and the
overlay is an uncompressed cpio (no gzip per node).
`;
mkdirSync(join(root, "docs", "bench"), { recursive: true });
writeFileSync(join(root, "docs", "bench", "boot.md"), md);
console.log(md);
