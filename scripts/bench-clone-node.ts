#!/usr/bin/env bun
/**
 * One cloning node's download and unpack against the obvious alternative, in the same run,
 * interleaved, several repetitions, medians: the disk archive of an image (real files from
 * /usr in a pax tar, compressed as `xcimg clone` writes it: zstd for an image with zstd, gzip
 * for one without) served by nginx on 127.0.0.1, through
 *
 *   curl | zstd -d       curl -s <url> | zstd -dc > /dev/null: the whole file, nothing checked
 *   stream_ranges        clone.sh's python3 path (sourced with XC_LIB=1, run by dash): 4 ranges
 *                        of 32 MiB in parallel, each checked against the .sha256 list, then
 *                        | zstd -dc > /dev/null (on a node: | tar -x onto the disk)
 *   stream_archive       clone.sh's chunk-file path (images without python3): curl -r per
 *                        chunk into tmpfs, sha256sum, cat | zstd -dc > /dev/null
 *
 * and the same three with the gzip archive (gzip -dc). /dev/null instead of tar: the disk is
 * not what is measured. Writes docs/bench/clone-node.md.
 *
 *   bun scripts/bench-clone-node.ts [--size-mb 384] [--reps 3]
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { CHUNK_BYTES, chunkSums } from "../src/provmethods/sysclone/artifacts";
import { cloneDownload, startNginx, writeCloneScript } from "./bench-clone-shared";

const root = join(import.meta.dir, "..");
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SIZE_MIB = arg("--size-mb", 384);
const REPS = arg("--reps", 3);
const cache = join(root, ".cache", "bench-clone-node");
const imgDir = join(cache, "install", "sysclone", "clone", "bench");
const CLONE_SH = writeCloneScript();

function sh(cmd: string): string {
  const p = Bun.spawnSync(["bash", "-c", cmd], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`failed: ${cmd}\n${p.stderr.toString()}`);
  return p.stdout.toString();
}

// ---- the archives: one pax tar of files from /usr, compressed both ways ---------------------------
mkdirSync(imgDir, { recursive: true });
for (let d = imgDir; d.startsWith(cache); d = join(d, "..")) chmodSync(d, 0o755);
const tarFile = join(cache, "rootimg.tar");
const want = SIZE_MIB * 1024 * 1024;
if (!existsSync(tarFile) || Math.abs(statSync(tarFile).size - want) > want * 0.2) {
  console.error(`bench-clone-node: a ~${SIZE_MIB} MiB tar of /usr (once)...`);
  sh(
    `find /usr -xdev -type f -size -8M -print0 2>/dev/null | head -c 20000000 | tar --null -T - --format=pax -cf - 2>/dev/null | head -c ${want} > ${tarFile}.tmp || true; mv ${tarFile}.tmp ${tarFile}`,
  );
}
const archives = {
  zstd: { file: join(imgDir, "rootimg.tar.zst"), make: `zstd -q -T0 -3 -c ${tarFile}`, decompress: "zstd -dc" },
  gzip: { file: join(imgDir, "rootimg.tar.gz"), make: `pigz -6 -c ${tarFile}`, decompress: "gzip -dc" },
};
for (const a of Object.values(archives)) {
  if (!existsSync(a.file)) sh(`${a.make} > ${a.file}.tmp && mv ${a.file}.tmp ${a.file}`);
  chmodSync(a.file, 0o644);
  writeFileSync(`${a.file}.sha256`, chunkSums(a.file, CHUNK_BYTES));
  chmodSync(`${a.file}.sha256`, 0o644);
  sh(`cat ${a.file} > /dev/null`); // page cache warm, as on a management node serving many nodes
}

// ---- nginx ---------------------------------------------------------------------------------------
const nginx = await startNginx(join(cache, "install"), "/install/sysclone/clone/bench/rootimg.tar.zst");
if (!nginx) throw new Error("nginx is not installed (scripts/setup-debian.sh)");
const port = nginx.port;

// ---- the clients -------------------------------------------------------------------------------------
type Mode = "curl" | "stream_ranges" | "stream_archive";
function client(mode: Mode, kind: keyof typeof archives): { s: number; cpu: number } {
  const a = archives[kind];
  const name = a.file.slice(a.file.lastIndexOf("/") + 1);
  const urlPath = `/install/sysclone/clone/bench/${name}`;
  const bytes = statSync(a.file).size;
  const run = mkdtempSync(join("/dev/shm", "xcimg-bench-node-"));
  let cmd: string;
  if (mode === "curl") cmd = `curl -s http://127.0.0.1:${port}${urlPath} | ${a.decompress} > /dev/null`;
  else cmd = cloneDownload({ cloneSh: CLONE_SH, run, port, urlPath, bytes, stream: mode, sink: `| ${a.decompress} > /dev/null` });
  const t = performance.now();
  const r = Bun.spawnSync(["/usr/bin/time", "-f", "%U %S", mode === "curl" ? "sh" : "dash", "-c", cmd], { stdout: "ignore", stderr: "pipe" });
  const s = (performance.now() - t) / 1000;
  rmSync(run, { recursive: true, force: true });
  if (r.exitCode !== 0) throw new Error(`${mode} ${kind} failed: ${r.stderr.toString()}`);
  const [u, sy] = (r.stderr.toString().trim().split("\n").at(-1) ?? "0 0").split(" ").map(Number);
  return { s, cpu: (u ?? 0) + (sy ?? 0) };
}

const load0 = loadavg()[0] as number;
const modes: Mode[] = ["curl", "stream_ranges", "stream_archive"];
const res = new Map<string, { s: number; cpu: number }[]>();
for (let rep = 0; rep < REPS; rep++) {
  for (const kind of ["zstd", "gzip"] as const) {
    for (const mode of rep % 2 ? [...modes].reverse() : modes) {
      const r = client(mode, kind);
      res.set(`${kind}|${mode}`, [...(res.get(`${kind}|${mode}`) ?? []), r]);
      console.error(`rep ${rep + 1} ${kind} ${mode}: ${r.s.toFixed(2)} s, cpu ${r.cpu.toFixed(2)} s`);
    }
  }
}
await nginx.stop();

const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? (v[(v.length - 1) / 2] as number) : ((v[v.length / 2 - 1] as number) + (v[v.length / 2] as number)) / 2;
};
const MB = 1e6;
const label: Record<Mode, string> = {
  curl: "`curl -s <url> \\| <decompress> > /dev/null` (nothing checked)",
  stream_ranges: "**clone.sh `stream_ranges`** (python3: 4 parallel 32 MiB ranges, sha256 each)",
  stream_archive: "clone.sh `stream_archive` (chunk files on tmpfs, curl -r, sha256sum, cat)",
};
const lines: string[] = [];
for (const kind of ["zstd", "gzip"] as const) {
  const bytes = statSync(archives[kind].file).size;
  const base = median((res.get(`${kind}|curl`) ?? []).map((r) => r.s));
  for (const mode of modes) {
    const rs = res.get(`${kind}|${mode}`) ?? [];
    const s = median(rs.map((r) => r.s));
    lines.push(
      `| ${kind} (${(bytes / MB).toFixed(0)} MB) | ${label[mode]} | ${s.toFixed(2)} | ${(bytes / MB / s).toFixed(0)} | ${median(rs.map((r) => r.cpu)).toFixed(2)} | ${(base / s).toFixed(2)} |`,
    );
  }
}
const EXPLAIN = `**What it means.** With zstd the decompressor runs at several hundred MB/s, so the download path
shows: the chunk-file path (\`stream_archive\`, curl writing each 32 MiB range to tmpfs, sha256sum reading it, cat
copying it again, some 25 short processes and 0.2 s polls per chunk) is well below \`curl | zstd -d\`, while
\`stream_ranges\` — one python3 process, 4 ranges at a time over kept-alive connections into reused buffers, sha256 in
hashlib outside the interpreter lock, written in order to zstd — keeps up with it: the sha256 of every chunk costs a
few tenths of a CPU second per GB, which the parallel ranges hide. With gzip the single-threaded \`gzip -d\`
(~60 MB/s here) is the limit for every path; on this 2-core machine shared with other jobs, whatever else runs
(python3's threads, nginx's 4 connections) takes CPU from gzip, and the gzip rows varied most between repetitions
(a separate check against scripts/serve-static.ts gave 16.0 s for \`stream_ranges\` with 1 range, 17.5 s with 4, and
17.3 s for \`curl | gzip -d\`). On a node the decompressor writes into tar on the disk, so a node clones at the
slower of its disk and its decompressor: images with zstd clone several times faster than gzip-only ones.
`;
const md = `# One cloning node: download, check, decompress

\`bun scripts/bench-clone-node.ts --size-mb ${SIZE_MIB} --reps ${REPS}\` on ${cpus().length} × ${cpus()[0]?.model.trim()}, ${new Date().toISOString().slice(0, 10)};
load average (1 min) ${load0.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after — a shared machine: medians of ${REPS}
interleaved runs, compare rows of one table only. Server: nginx on 127.0.0.1 (sendfile), archives in the page
cache. The archive: a ${(statSync(tarFile).size / MB).toFixed(0)} MB pax tar of files from /usr, compressed as \`xcimg clone\` writes it
(zstd -3 in parallel on the management node for an image with zstd, gzip -6 for one without). Output to /dev/null
instead of tar: what is measured is the node's download path, not its disk.

| archive | how | s | MB/s (archive) | CPU s (all processes) | vs curl \\| decompress |
|---|---|---|---|---|---|
${lines.join("\n")}

${EXPLAIN}`;
writeFileSync(join(root, "docs", "bench", "clone-node.md"), md);
console.log(md);
