#!/usr/bin/env bun
/**
 * `xcimg clone`'s download, node side, against the obvious alternative, in the same run:
 * N nodes fetch the image archive from the management node's web server at the same time.
 *
 *   stream_ranges:  the real clone.sh (sourced with XC_LIB=1, run by dash as on Debian nodes),
 *                   copy_image's download half as on a node with python3: pick_fetcher, the
 *                   .sha256 list, then stream_ranges — one python3 process, 4 byte ranges of
 *                   32 MiB in parallel over kept-alive connections, each checked against its
 *                   sha256 — to /dev/null instead of the decompressor
 *   stream_archive: the same with clone.sh's path for images without python3: fetch_chunk per
 *                   32 MiB range (curl -r into the chunk directory on tmpfs, as /run is on nodes;
 *                   resumable; sha256sum), then cat
 *   curl:           curl -s -o /dev/null <url>, the whole file, nothing checked
 *   curl|sha256sum: the whole file piped into one sha256sum (verification without chunks)
 *
 * with 1 and N simultaneous clients, from nginx (Debian's package, started here with its own
 * config on 127.0.0.1; Debian's defaults: sendfile, tcp_nopush) and from the project's Bun
 * static server (scripts/serve-static.ts, what the demo and the tests use), and the server's
 * CPU per GB delivered. The archive is a ~512 MiB multi-frame .tar.zst (--archive gzip: a
 * multi-member .tar.gz) of files from /usr with its chunk sha256 list written by artifacts.ts's
 * chunkSums, under .cache/bench-clone/install/sysclone/clone/bench/ (built once).
 * Writes docs/bench/clone.md (keeping its hand-written part after KEEP, below).
 *
 *   bun scripts/bench-clone-http.ts [--size-mb 512] [--clients 8] [--rounds 2]
 *                                   [--archive zstd|gzip] [--servers nginx,bun] [--report]
 *
 * --servers nginx halves the run. --report writes the page again from the last run's
 * measurements (.cache/bench-clone/last-run-<ext>.json) without measuring.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, getPriority, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { CHUNK_BYTES, chunkSums } from "../src/provmethods/sysclone/artifacts";
import { cloneDownload, freePort, type Server, type StreamFn, startNginx, waitUp, writeCloneScript } from "./bench-clone-shared";

const root = join(import.meta.dir, "..");
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SIZE_MIB = arg("--size-mb", 512);
const CLIENTS = arg("--clients", 8);
const ROUNDS = arg("--rounds", 2);
const opt = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? (process.argv[i + 1] ?? "") : dflt;
};
const KIND = opt("--archive", "zstd");
if (KIND !== "zstd" && KIND !== "gzip") throw new Error(`--archive ${KIND}: zstd or gzip (what xcimg clone writes for an image with or without zstd)`);
const SERVERS = opt("--servers", "nginx,bun").split(",");
if (SERVERS.some((x) => x !== "nginx" && x !== "bun") || !SERVERS.length) throw new Error(`--servers ${SERVERS.join(",")}: nginx, bun or nginx,bun`);
const EXT = KIND === "zstd" ? "zst" : "gz";
const cache = join(root, ".cache", "bench-clone");
const installdir = join(cache, "install");
const imgDir = join(installdir, "sysclone", "clone", "bench");
const archive = join(imgDir, `rootimg.tar.${EXT}`);
const URL_PATH = `/install/sysclone/clone/bench/rootimg.tar.${EXT}`;
const CLONE_SH = writeCloneScript();
const MB = 1e6;

function sh(cmd: string): string {
  const p = Bun.spawnSync(["bash", "-c", cmd], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`failed: ${cmd}\n${p.stderr.toString()}`);
  return p.stdout.toString();
}

// ---- the archive ------------------------------------------------------------------------------
// Whole zstd frames (gzip members), each a tar of 400 files from /usr at the level xcimg clone
// packs with, appended until the file has the wanted size: a valid multi-frame .tar.zst of tar
// archives (`tar -xi` reads it all), as incompressible as a real image archive. Nothing
// decompresses it here but the timing of the node's decompressor at the end.
mkdirSync(imgDir, { recursive: true });
for (const d of [cache, installdir, join(installdir, "sysclone"), join(installdir, "sysclone", "clone"), imgDir]) chmodSync(d, 0o755);
const want = SIZE_MIB * 1024 * 1024;
if (!existsSync(archive) || Math.abs(statSync(archive).size - want) > want * 0.1) {
  console.error(`bench-clone-http: building a ~${SIZE_MIB} MiB .tar.${EXT} from /usr (once)...`);
  const tmp = `${archive}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, "");
  // xargs stops at the first batch whose command exits 255: the one that reached the size
  sh(
    `find /usr -xdev -type f -size -8M -print0 2>/dev/null | nice xargs -0 -n 400 sh -c 'tar cf - "$@" 2>/dev/null | ${KIND === "zstd" ? "zstd -q -3" : "pigz -6"} >>${tmp}; [ $(stat -c %s ${tmp}) -lt ${want} ] || exit 255' sh || true`,
  );
  if (statSync(tmp).size < want * 0.9) throw new Error(`/usr gave only ${statSync(tmp).size} bytes of archive`);
  sh(`mv -f ${tmp} ${archive}`);
}
chmodSync(archive, 0o644);
const BYTES = statSync(archive).size;
const NCHUNKS = Math.max(1, Math.ceil(BYTES / CHUNK_BYTES));
// the list exactly as `xcimg clone` writes it next to the archive
writeFileSync(`${archive}.sha256`, chunkSums(archive, CHUNK_BYTES));
chmodSync(`${archive}.sha256`, 0o644);
const WHOLE_SHA = createHash("sha256").update(readFileSync(archive)).digest("hex");
sh(`cat ${archive} > /dev/null`); // page cache warm, as on a management node serving many nodes

// ---- servers ----------------------------------------------------------------------------------
async function startBun(): Promise<Server> {
  const port = freePort();
  const p = Bun.spawn([process.execPath, join(root, "scripts", "serve-static.ts"), String(port), `/install=${installdir}`], {
    stdout: "ignore",
    stderr: "ignore",
  });
  await waitUp(port, URL_PATH, "serve-static.ts");
  return {
    name: `Bun ${Bun.version} (scripts/serve-static.ts)`,
    port,
    pid: p.pid,
    stop: async () => {
      p.kill("SIGTERM");
      await p.exited;
    },
  };
}

/** CPU seconds used so far by a process and its children (nginx: master and workers). */
const TICK = Number(sh("getconf CLK_TCK").trim()) || 100;
function cpuSeconds(pid: number): number {
  const stat = (p: string): string[] | null => {
    try {
      const s = readFileSync(`/proc/${p}/stat`, "utf8");
      return s.slice(s.lastIndexOf(")") + 2).split(" ");
    } catch {
      return null;
    }
  };
  let ticks = 0;
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    const f = stat(p);
    // fields after the command: state, ppid, ...; utime and stime are fields 14 and 15 of stat
    if (f && (Number(p) === pid || Number(f[1]) === pid)) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / TICK;
}

// ---- clients ----------------------------------------------------------------------------------
type Mode = "curl" | "curl|sha256sum" | StreamFn;
const MODES: Mode[] = ["curl", "curl|sha256sum", "stream_archive", "stream_ranges"];
const MODE_NAME: Record<Mode, string> = {
  stream_ranges: "**clone.sh `stream_ranges`** (python3: 4 parallel 32 MiB ranges, sha256 each)",
  stream_archive: "clone.sh `stream_archive` (chunk files on tmpfs, curl -r, sha256sum, cat)",
  curl: "curl -s -o /dev/null (whole file)",
  "curl|sha256sum": "curl -s \\| sha256sum (whole file)",
};

interface Run {
  wall: number;
  client: number[];
  clientCpu: number[];
  serverCpu: number;
  retries: number;
}

const tmpDirs: string[] = [];
const shm = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
const runRoot = mkdtempSync(join(shm, "xcimg-bench-clone-"));
tmpDirs.push(runRoot);
let runNo = 0;

function clientCommand(mode: Mode, port: number, k: number): { cmd: string[]; run?: string } {
  const url = `http://127.0.0.1:${port}${URL_PATH}`;
  if (mode === "curl") return { cmd: ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", url] };
  if (mode === "curl|sha256sum") return { cmd: ["bash", "-c", `set -o pipefail; curl -s '${url}' | sha256sum`] };
  // the chunk directory on tmpfs, as /run is on a node
  const run = join(runRoot, `r${runNo}-c${k}`);
  mkdirSync(run, { recursive: true });
  return { cmd: ["dash", "-c", cloneDownload({ cloneSh: CLONE_SH, run, port, urlPath: URL_PATH, bytes: BYTES, stream: mode, node: `cn${k}` })], run };
}

async function runClients(mode: Mode, server: Server, n: number): Promise<Run> {
  runNo++;
  const cpu0 = cpuSeconds(server.pid);
  const t0 = performance.now();
  const procs = Array.from({ length: n }, (_, k) => {
    const { cmd, run } = clientCommand(mode, server.port, k + 1);
    const start = performance.now();
    const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
    const done = Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]).then(([out, err, code]) => ({
      out,
      err,
      code,
      seconds: (performance.now() - start) / 1000,
      end: performance.now(),
      cpu: Number(p.resourceUsage()?.cpuTime.total ?? 0n) / 1e6,
    }));
    return { run, done };
  });
  const res = await Promise.all(procs.map((p) => p.done));
  const wall = (Math.max(...res.map((r) => r.end)) - t0) / 1000;
  const serverCpu = cpuSeconds(server.pid) - cpu0;
  let retries = 0;
  res.forEach((r, k) => {
    const what = `${mode} client ${k + 1} from ${server.name}`;
    if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.err}`);
    if (mode === "curl" && r.out.trim() !== `200 ${BYTES}`) throw new Error(`${what}: ${r.out}`);
    if (mode === "curl|sha256sum" && r.out.split(" ")[0] !== WHOLE_SHA) throw new Error(`${what}: wrong sha256 ${r.out}`);
    const run = procs[k]?.run;
    if (run) {
      const log = readFileSync(join(run, "clone.log"), "utf8");
      retries += (log.match(/retry \d+|mismatch|cut short/g) ?? []).length;
      if (!readFileSync(join(run, "clone.status"), "utf8").includes("percent=100\n")) throw new Error(`${what} did not finish: ${log}`);
      rmSync(run, { recursive: true, force: true });
    }
  });
  return { wall, client: res.map((r) => r.seconds), clientCpu: res.map((r) => r.cpu), serverCpu, retries };
}

// ---- the runs -----------------------------------------------------------------------------------
interface Row {
  server: string;
  clients: number;
  mode: Mode;
  runs: Run[];
}
/** One run's measurements, kept in .cache/bench-clone/last-run.json: --report writes the page again from them. */
interface Measured {
  rows: Row[];
  date: string;
  loadBefore: number;
  loadAfter: number;
  seconds: number;
  nice: number;
  nginxMissing: boolean;
  /** the node's decompressor on this archive, one core, MB of archive per second */
  decompressMBs: number;
}
const LAST_RUN = join(cache, `last-run-${EXT}.json`);

async function measure(): Promise<Measured> {
  const rows: Row[] = [];
  const started = performance.now();
  const loadBefore = loadavg()[0] as number;
  let nginxMissing = false;
  const cleanup = () => {
    for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
  };
  const live = new Set<number>();
  process.on("SIGINT", () => {
    for (const pid of live) process.kill(pid, "SIGTERM");
    cleanup();
    process.exit(130);
  });
  try {
    const starters: Record<string, () => Promise<Server | null>> = { nginx: () => startNginx(installdir, URL_PATH), bun: startBun };
    for (const which of SERVERS) {
      const server = await (starters[which] as () => Promise<Server | null>)();
      if (!server) {
        nginxMissing = true;
        console.error("bench-clone-http: nginx is not installed (apt-get install nginx-light): only the Bun server is measured");
        if (!SERVERS.includes("bun")) throw new Error("nginx is not installed (apt-get install nginx-light), and --servers has no bun");
        continue;
      }
      live.add(server.pid);
      try {
        for (const n of [...new Set([1, CLIENTS])]) {
          const mine = MODES.map((mode) => {
            const r: Row = { server: server.name, clients: n, mode, runs: [] };
            rows.push(r);
            return r;
          });
          for (let round = 0; round < ROUNDS; round++) {
            // the modes alternate within a round, in the other order every other round
            for (const r of round % 2 ? [...mine].reverse() : mine) {
              const run = await runClients(r.mode, server, n);
              r.runs.push(run);
              console.error(`${server.name}, ${n} client(s), ${r.mode}: ${run.wall.toFixed(2)} s, ${((n * BYTES) / run.wall / MB).toFixed(0)} MB/s`);
            }
          }
        }
      } finally {
        await server.stop();
        live.delete(server.pid);
      }
    }
  } finally {
    cleanup();
  }
  const loadAfter = loadavg()[0] as number;
  // for scale: what the node does with the stream after the download, one core (page cache warm)
  const d0 = performance.now();
  sh(`${KIND === "zstd" ? "zstd -q" : "gzip"} -dc ${archive} > /dev/null`);
  const decompressMBs = BYTES / ((performance.now() - d0) / 1000) / MB;
  const m: Measured = {
    rows,
    date: new Date().toISOString().slice(0, 10),
    loadBefore,
    loadAfter,
    seconds: (performance.now() - started) / 1000,
    nice: getPriority(),
    nginxMissing,
    decompressMBs,
  };
  writeFileSync(LAST_RUN, JSON.stringify(m));
  return m;
}

const REPORT_ONLY = process.argv.includes("--report");
if (REPORT_ONLY && !existsSync(LAST_RUN)) throw new Error(`--report: no measurements in ${LAST_RUN} yet (run without --report once)`);
const M: Measured = REPORT_ONLY ? JSON.parse(readFileSync(LAST_RUN, "utf8")) : await measure();
const rows = M.rows;
rmSync(join(CLONE_SH, ".."), { recursive: true, force: true });

// ---- report -------------------------------------------------------------------------------------
const best = (r: Row): Run => r.runs.reduce((a, b) => (b.wall < a.wall ? b : a));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const agg = (r: Row) => (r.clients * BYTES) / best(r).wall / MB;
const perClient = (r: Row) => BYTES / median(best(r).client) / MB;
const gb = (r: Row) => (r.clients * BYTES) / 1e9;
const clientCpu = (r: Row) => sum(best(r).clientCpu) / gb(r);
const serverCpu = (r: Row) => best(r).serverCpu / gb(r);
const find = (server: string, clients: number, mode: Mode) => rows.find((r) => r.server === server && r.clients === clients && r.mode === mode) as Row;
const table = rows.map((r) => {
  const b = best(r);
  const plain = find(r.server, r.clients, "curl");
  return `| ${r.server} | ${r.clients} | ${MODE_NAME[r.mode]} | ${r.runs.map((x) => x.wall.toFixed(2)).join(" / ")} | **${agg(r).toFixed(0)}** | ${perClient(r).toFixed(0)} | ${Math.min(...b.client).toFixed(2)} / ${median(b.client).toFixed(2)} / ${Math.max(...b.client).toFixed(2)} | ${clientCpu(r).toFixed(2)} | ${serverCpu(r).toFixed(2)} | ${r.mode === "curl" ? "1" : (agg(r) / agg(plain)).toFixed(2)} |`;
});
const retries = sum(rows.flatMap((r) => r.runs.map((x) => x.retries)));
const servers = [...new Set(rows.map((r) => r.server))];
const ng = servers[0] as string;
const other = servers.length > 1 ? (servers[1] as string) : null;
const f = (n: number, d = 0) => n.toFixed(d);
const short = (server: string) => server.replace(/ \(.*/, "");
const r1 = (m: Mode) => find(ng, 1, m);
const rN = (m: Mode) => find(ng, CLIENTS, m);
const perNode = perClient(r1("stream_ranges"));
const hashCpu = clientCpu(r1("curl|sha256sum")) - clientCpu(r1("curl"));
const rangesHash = clientCpu(r1("stream_ranges")) - clientCpu(r1("curl"));
const link = (gbit: number) => (gbit * 1e9 * 0.94) / 8 / MB; // TCP payload over Ethernet, ~94 % of the line rate
const perHour = (gbit: number) => Math.floor((link(gbit) * 3600) / (BYTES / MB)).toLocaleString("en-US");
const fed = (rate: number) =>
  `10 GbE (~${f(link(10))} MB/s of TCP payload) keeps about ${Math.floor(link(10) / rate)} nodes at full speed and 25 GbE (~${f(link(25))} MB/s) about ${Math.floor(link(25) / rate)}`;
const ncores = availableParallelism();
// what the server's measured CPU per GB would deliver from one core: the MN's side of the question
const oneCore = (r: Row) => (serverCpu(r) > 0 ? 1 / serverCpu(r) : Number.POSITIVE_INFINITY);
const coreGBs = (r: Row) => (Number.isFinite(oneCore(r)) ? `${f(oneCore(r), 1)} GB/s` : "more than this run can resolve");
// on loopback the clients and the server share the cores: the rate those CPU seconds allow
const cpuBound = (r: Row) => (ncores / (clientCpu(r) + serverCpu(r))) * 1000;
const decomp = KIND === "zstd" ? "zstd -dc" : "gzip -dc";

const md = `# Clone download: 8 nodes at once, verified ranges vs a plain download

\`bun scripts/bench-clone-http.ts --size-mb ${SIZE_MIB} --clients ${CLIENTS} --rounds ${ROUNDS} --archive ${KIND} --servers ${SERVERS.join(",")}\` on ${M.date}:
${ncores} cores (${cpus()[0]?.model.trim() ?? "unknown CPU"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, servers and clients on 127.0.0.1 sharing the ${ncores} cores.
Load average (1 min) ${M.loadBefore.toFixed(1)} before, ${M.loadAfter.toFixed(1)} after; the whole run took ${M.seconds.toFixed(0)} s${M.nice > 0 ? ` at nice ${M.nice}` : ""}.
The machine is shared with other jobs: compare rows of one run, not absolute numbers.

The archive: ${(BYTES / MB).toFixed(1)} MB (${(BYTES / 2 ** 20).toFixed(1)} MiB, ${NCHUNKS} chunks of ${CHUNK_BYTES / 2 ** 20} MiB, the last one short), a ${KIND === "zstd" ? "multi-frame .tar.zst (zstd -3, what `xcimg clone` writes for an image with zstd)" : "multi-member .tar.gz (what `xcimg clone` writes for an image without zstd)"}
of files from /usr, served from the page cache as \`${URL_PATH}\` with its chunk list \`rootimg.tar.${EXT}.sha256\`
(written by artifacts.ts's \`chunkSums\`, as \`xcimg clone\` writes it). Servers: ${M.nginxMissing ? "nginx is not installed on this machine (apt-get install nginx-light), so only " : ""}${servers.join(" and ")}${M.nginxMissing ? "" : " — nginx started with its own temporary config: Debian's `sendfile on; tcp_nopush on;`, `worker_processes auto`, access log off, `location /install/ { alias …; }`"}.
Clients, started together, every one writing to \`/dev/null\`: what is measured is the download path, not the decompressor or tar
(for those, one node: [clone-node.md](clone-node.md)):

- **clone.sh**: the real node script (\`src/provmethods/sysclone/clone.sh\` with its \`clone.d/\` phases inlined, as the node gets it, sourced by dash with \`XC_LIB=1\`;
  scripts/bench-clone-shared.ts), the download half of \`copy_image\`: \`pick_fetcher\` (curl), \`fetch_retry\` of the .sha256 list, then
  - \`stream_ranges\`, what a node with python3 runs: one python3 process, 4 ranges of 32 MiB at a time over kept-alive connections into reused buffers, each checked with hashlib's sha256, written in order;
  - \`stream_archive\`, the path of an image without python3: \`fetch_chunk\` for every 32 MiB range (curl \`-r\` into the chunk directory on tmpfs, as \`/run\` is on a node; resumable; checked with sha256sum), up to 2 chunks ahead, each chunk \`cat\` to stdout.
- **curl**: \`curl -s -o /dev/null <url>\`, the whole file, nothing checked — the obvious alternative.
- **curl | sha256sum**: the whole file through one coreutils sha256sum: checking the bytes without chunks.

MB = 10⁶ bytes. Aggregate MB/s = clients × archive bytes / wall time until the last client finished, best of ${ROUNDS} rounds (the modes alternate
within a round); per-client numbers are from that round. CPU s/GB: CPU seconds per GB delivered, of the clients (all their processes) and of the
server (all its processes). Every clone.sh client checked every chunk; retries, checksum mismatches or resumes in all runs: ${retries}.

| server | clients | download | wall s (per round) | aggregate MB/s | MB/s per client (median) | per-client s min / median / max | client CPU s/GB | server CPU s/GB | vs curl |
|---|---|---|---|---|---|---|---|---|---|
${table.join("\n")}

## What it means

**${CLIENTS} nodes at once, ${short(ng)}:** ${CLIENTS} clone.sh clients with \`stream_ranges\` took ${f(agg(rN("stream_ranges")))} MB/s together,
${f(agg(rN("stream_ranges")) / agg(rN("curl")), 2)}× the ${f(agg(rN("curl")))} MB/s of ${CLIENTS} plain curls, ${f(agg(rN("stream_ranges")) / agg(rN("curl|sha256sum")), 2)}× ${CLIENTS} \`curl | sha256sum\` (${f(agg(rN("curl|sha256sum")))} MB/s) and
${f(agg(rN("stream_ranges")) / agg(rN("stream_archive")), 2)}× the chunk-file path (${f(agg(rN("stream_archive")))} MB/s).

**Loopback is not a network, and here the nodes are on the server's cores.** Between server and client there are only memory copies, and the
${CLIENTS} clients' hashing runs on the same ${ncores} cores as the server. \`stream_ranges\` costs its clients ${f(clientCpu(rN("stream_ranges")), 2)} CPU s per GB
and the server ${f(serverCpu(rN("stream_ranges")), 2)}: ${ncores} cores allow at most ${f(cpuBound(rN("stream_ranges")))} MB/s of that, and the run reached ${f(agg(rN("stream_ranges")))} MB/s —
the clients' CPU, not the server, set the rate (plain curl: ${f(clientCpu(rN("curl")), 2)} + ${f(serverCpu(rN("curl")), 2)} s/GB, at most ${f(cpuBound(rN("curl")))} MB/s; other jobs on the
machine, load average ${M.loadBefore.toFixed(1)} before the run, took their share of the cores from every row).
So the "vs curl" column is the nodes' CPU cost of checking, on cores a real node does not share with the management node: one node's
\`stream_ranges\` client spends ${f(clientCpu(r1("stream_ranges")), 2)} CPU s per GB against curl's ${f(clientCpu(r1("curl")), 2)}: python3 and hashlib's sha256 of every chunk
(OpenSSL, with the CPU's SHA instructions) add ${f(rangesHash, 2)} s per GB, where one coreutils sha256sum over the stream adds ${f(hashCpu, 2)} s
(${hashCpu > 0 ? f(1000 / hashCpu) : "?"} MB/s on one core here) and \`stream_archive\` costs ${f(clientCpu(r1("stream_archive")), 2)} s in all (sha256sum, the chunk files on tmpfs and some 25
short processes per chunk).

**The server's CPU is not the limit; its link is.** nginx (sendfile) spent ${f(serverCpu(rN("curl")), 2)} CPU s per GB on ${CLIENTS} whole files, ${f(serverCpu(rN("stream_ranges")), 2)} s per GB on
${CLIENTS} \`stream_ranges\` clients' 32 MiB ranges and ${f(serverCpu(rN("stream_archive")), 2)} s on \`stream_archive\`'s: one core of the management node serves
${coreGBs(rN("stream_ranges"))} of ranges at that cost (${coreGBs(rN("curl"))} of whole files)${other ? `; the Bun server ${f(serverCpu(find(other, CLIENTS, "curl")), 2)} and ${f(serverCpu(find(other, CLIENTS, "stream_ranges")), 2)} s per GB` : ""}.
A 10 GbE link carries 1.25 GB/s (line rate; ~${f(link(10) / 1000, 2)} GB/s of TCP payload), 25 GbE 3.1 GB/s (~${f(link(25) / 1000, 2)}): ${Number.isFinite(oneCore(rN("stream_ranges"))) ? `${f(link(10) / 1000 / oneCore(rN("stream_ranges")), 2)} and ${f(link(25) / 1000 / oneCore(rN("stream_ranges")), 2)} of a core` : "a fraction of a core"}
to fill them with ranges. (Loopback charges part of the kernel's copying to the receiving side, so a real NIC costs the server somewhat more:
take these as orders of magnitude.) Range requests cost a server about what whole files cost — one request per 32 MiB.

**Per node and per link.** One node running \`stream_ranges\` took the archive at ${f(perNode)} MB/s here (${f((perNode * 8) / 1000, 1)} Gbit/s), on a core it
shared with the server. A real node also decompresses (\`${decomp}\` of this archive: ${f(M.decompressMBs)} MB/s of archive on one core here) and tar
writes to its disk, in other processes alongside the download, so it takes the image at about the slowest of these. At ${f(Math.min(perNode, M.decompressMBs))} MB/s per node
(${perNode < M.decompressMBs ? "the download here" : `the rate at which ${decomp} takes it`}), ${fed(Math.min(perNode, M.decompressMBs))}. With more nodes the link is the limit and they share it: about ${perHour(10)} (10 GbE) or ${perHour(25)} (25 GbE)
copies of this ${f(BYTES / MB)} MB archive an hour, less the clone environment each node boots first (docs/clone.md). Service nodes
(\`noderes.xcatmaster\`) split this: each serves the nodes behind it from its own link, reading the files from the management node over NFS
once and then from its page cache, so the total grows with the number of service nodes while the management node's link carries each file
about once per service node. Numbers from one shared ${ncores}-core VM: time one real node (its clone.log) before sizing.
`;
// the part of the page below KEEP is written by hand (earlier runs, the end-to-end VM timings)
const KEEP = "<!-- bench-clone-http.ts rewrites what is above this line and keeps what follows -->";
const page = join(root, "docs", "bench", "clone.md");
const old = existsSync(page) ? readFileSync(page, "utf8") : "";
const kept = old.includes(KEEP) ? old.slice(old.indexOf(KEEP)) : `${KEEP}\n`;
mkdirSync(join(root, "docs", "bench"), { recursive: true });
writeFileSync(page, `${md}\n${kept}`);
console.log(md);
