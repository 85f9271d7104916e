#!/usr/bin/env bun
/**
 * `xcimg clone`'s download, node side, against the obvious alternative, in the same run:
 * N nodes fetch the image archive from the management node's web server at the same time.
 *
 *   chunked:        the real clone.sh (sourced with XC_LIB=1, run by dash as on Debian nodes):
 *                   pick_fetcher, the .sha256 list, then stream_archive — 32 MiB byte ranges
 *                   (fetch_chunk: curl -r into the chunk directory, resumable), each checked
 *                   against its sha256 before it is streamed out — to /dev/null instead of the
 *                   decompressor; the chunk directory is on tmpfs (/dev/shm) as /run is on nodes
 *   sizes only:     the same with `has sha256sum` false (the script's fallback for an image
 *                   without sha256sum): the chunk machinery without the hash
 *   curl:           curl -s -o /dev/null <url>, the whole file, nothing checked
 *   curl|sha256sum: the whole file piped into one sha256sum (verification without chunks)
 *
 * with 1 and N simultaneous clients, from nginx (Debian's package, started here with its own
 * config on 127.0.0.1; Debian's defaults: sendfile, tcp_nopush) and from the project's Bun
 * static server (scripts/serve-static.ts, what the demo and the tests use). The archive is a
 * ~512 MiB multi-member .tar.gz of files from /usr with its chunk sha256 list written by
 * artifacts.ts's chunkSums, under .cache/bench-clone/install/sysclone/clone/bench/ (built once).
 * Writes docs/bench/clone.md.
 *
 *   bun scripts/bench-clone-http.ts [--size-mb 512] [--clients 8] [--rounds 2]
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, getPriority, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { CHUNK_BYTES, chunkSums } from "../src/provmethods/sysclone/artifacts";
import { CLONE_SCRIPT } from "../src/provmethods/sysclone/node-script";

const root = join(import.meta.dir, "..");
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SIZE_MIB = arg("--size-mb", 512);
const CLIENTS = arg("--clients", 8);
const ROUNDS = arg("--rounds", 2);
const cache = join(root, ".cache", "bench-clone");
const installdir = join(cache, "install");
const imgDir = join(installdir, "sysclone", "clone", "bench");
const archive = join(imgDir, "rootimg.tar.gz");
const URL_PATH = "/install/sysclone/clone/bench/rootimg.tar.gz";
// the script the node gets (clone.sh with its clone.d/ phases inlined), sourced with XC_LIB=1
const CLONE_SH = join(mkdtempSync(join(tmpdir(), "xcimg-bench-clone-sh-")), "clone.sh");
writeFileSync(CLONE_SH, CLONE_SCRIPT);
const MB = 1e6;

function sh(cmd: string): string {
  const p = Bun.spawnSync(["bash", "-c", cmd], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`failed: ${cmd}\n${p.stderr.toString()}`);
  return p.stdout.toString();
}

// ---- the archive ------------------------------------------------------------------------------
// Whole gzip members, each a tar of 400 files from /usr, appended until the file has the wanted
// size: a valid multi-member gzip of tar archives (`tar -xzi` reads it all), as incompressible
// as a real image archive. Nothing decompresses it here but the gzip -dc timing at the end.
mkdirSync(imgDir, { recursive: true });
for (const d of [cache, installdir, join(installdir, "sysclone"), join(installdir, "sysclone", "clone"), imgDir]) chmodSync(d, 0o755);
const want = SIZE_MIB * 1024 * 1024;
if (!existsSync(archive) || Math.abs(statSync(archive).size - want) > want * 0.1) {
  console.error(`bench-clone-http: building a ~${SIZE_MIB} MiB .tar.gz from /usr (once)...`);
  const tmp = `${archive}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, "");
  // xargs stops at the first batch whose command exits 255: the one that reached the size
  sh(
    `find /usr -xdev -type f -size -8M -print0 2>/dev/null | nice xargs -0 -n 400 sh -c 'tar cf - "$@" 2>/dev/null | pigz -6 >>${tmp}; [ $(stat -c %s ${tmp}) -lt ${want} ] || exit 255' sh || true`,
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
interface Server {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
}

async function waitUp(port: number, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}${URL_PATH}`, { headers: { Range: "bytes=0-99" } });
      const body = await r.arrayBuffer();
      if (r.status === 206 && body.byteLength === 100) return;
      if (r.status !== 404) throw new Error(`${what} answered a range request with ${r.status} and ${body.byteLength} bytes`);
    } catch (e) {
      if (e instanceof Error && e.message.startsWith(what)) throw e;
    }
    await Bun.sleep(100);
  }
  throw new Error(`${what} did not come up on 127.0.0.1:${port}`);
}

const tmpDirs: string[] = [];
async function startNginx(): Promise<Server | null> {
  const nginx = ["/usr/sbin/nginx", Bun.which("nginx")].find((p) => p && existsSync(p));
  if (!nginx) return null;
  const dir = mkdtempSync(join(tmpdir(), "xcimg-bench-nginx-"));
  tmpDirs.push(dir);
  const port = freePort();
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${dir}/${t};`).join("\n");
  writeFileSync(
    join(dir, "nginx.conf"),
    `daemon off;
worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
${temp}
  server {
    listen 127.0.0.1:${port};
    location /install/ { alias ${installdir}/; }
  }
}
`,
  );
  const p = Bun.spawn([nginx, "-p", dir, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf")], { stdout: "ignore", stderr: "pipe" });
  try {
    await waitUp(port, "nginx");
  } catch (e) {
    p.kill("SIGTERM");
    throw new Error(`${(e as Error).message}: ${readFileSync(join(dir, "error.log"), "utf8")}`);
  }
  const version = sh(`${nginx} -v 2>&1`)
    .trim()
    .replace(/^nginx version: nginx\//, "");
  return {
    name: `nginx ${version}`,
    port,
    pid: p.pid,
    stop: async () => {
      p.kill("SIGQUIT");
      await p.exited;
    },
  };
}

async function startBun(): Promise<Server> {
  const port = freePort();
  const p = Bun.spawn([process.execPath, join(root, "scripts", "serve-static.ts"), String(port), `/install=${installdir}`], {
    stdout: "ignore",
    stderr: "ignore",
  });
  await waitUp(port, "serve-static.ts");
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
type Mode = "chunked" | "sizes" | "curl" | "curl|sha256sum";
const MODES: Mode[] = ["curl", "curl|sha256sum", "sizes", "chunked"];
const MODE_NAME: Record<Mode, string> = {
  chunked: "**clone.sh: 32 MiB ranges, sha256 of each**",
  sizes: "clone.sh, sizes only (image without sha256sum)",
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

const shm = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
const runRoot = mkdtempSync(join(shm, "xcimg-bench-clone-"));
tmpDirs.push(runRoot);
let runNo = 0;

function clientCommand(mode: Mode, port: number, k: number): { cmd: string[]; run?: string } {
  const url = `http://127.0.0.1:${port}${URL_PATH}`;
  if (mode === "curl") return { cmd: ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", url] };
  if (mode === "curl|sha256sum") return { cmd: ["bash", "-c", `set -o pipefail; curl -s '${url}' | sha256sum`] };
  const run = join(runRoot, `r${runNo}-c${k}`);
  mkdirSync(run, { recursive: true });
  // the names node-plan.ts renderPlanEnv gives these settings
  writeFileSync(
    join(run, "plan.env"),
    `XC_JOB='bench'\nXC_NODE='cn${k}'\nXC_MASTER='127.0.0.1'\nXC_HTTP_PORT='${port}'\nXC_ARCHIVE='${URL_PATH}'\nXC_ARCHIVE_BYTES='${BYTES}'\nXC_CHUNK_BYTES='${CHUNK_BYTES}'\nXC_CHUNKS='${NCHUNKS}'\n`,
  );
  // copy_image's download half: the sums, then stream_archive, whose stdout would be the decompressor
  const body = [
    `XC_LIB=1 XC_DIR=${run} XC_RUN=${run}`,
    `. ${CLONE_SH}`,
    `. ${run}/plan.env`,
    `mkdir -p "$XC_RUN" && : >>"$LOG"`,
    `pick_fetcher && [ "$FETCHER" = curl ] || { echo "fetcher: $FETCHER" >&2; exit 3; }`,
    // an image without sha256sum: copy_image falls back to checking each chunk's size
    mode === "sizes" ? `has() { [ "$1" != sha256sum ] && command -v "$1" >/dev/null 2>&1; }` : ":",
    `SUMS_OK=`,
    `if has sha256sum && fetch_retry "$XC_ARCHIVE.sha256" "$XC_RUN/sums" 12; then SUMS_OK=1; else log "no chunk checksums: chunks are checked by size only"; fi`,
    mode === "sizes" ? `[ -z "$SUMS_OK" ] || exit 4` : `[ -n "$SUMS_OK" ] || exit 4`,
    `stream_archive >/dev/null`,
  ].join("\n");
  return { cmd: ["dash", "-c", body], run };
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
const rows: Row[] = [];
const started = performance.now();
const loadBefore = loadavg()[0] as number;
let nginxMissing = false;

async function cleanup(): Promise<void> {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
}
const live = new Set<number>();
process.on("SIGINT", () => {
  for (const pid of live) process.kill(pid, "SIGTERM");
  void cleanup().then(() => process.exit(130));
});

try {
  const servers: (() => Promise<Server | null>)[] = [startNginx, startBun];
  for (const start of servers) {
    const server = await start();
    if (server) live.add(server.pid);
    if (!server) {
      nginxMissing = true;
      console.error("bench-clone-http: nginx is not installed (apt-get install nginx-light): only the Bun server is measured");
      continue;
    }
    try {
      for (const n of [...new Set([1, CLIENTS])]) {
        const mine = MODES.map((mode) => {
          const r: Row = { server: server.name, clients: n, mode, runs: [] };
          rows.push(r);
          return r;
        });
        for (let round = 0; round < ROUNDS; round++) {
          for (const r of mine) {
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
  await cleanup();
}
const loadAfter = loadavg()[0] as number;
// for scale: what the node does with the stream after the download, one core (page cache warm)
const gz0 = performance.now();
sh(`gzip -dc ${archive} > /dev/null`);
const gzipMBs = BYTES / ((performance.now() - gz0) / 1000) / MB;
const totalSeconds = (performance.now() - started) / 1000;

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
const bun = servers[servers.length - 1] as string;
const f = (n: number, d = 0) => n.toFixed(d);
const short = (server: string) => server.replace(/ \(.*/, "");
const r1 = (m: Mode) => find(ng, 1, m);
const rN = (m: Mode) => find(ng, CLIENTS, m);
const perNode = perClient(r1("chunked"));
const hashCpu = clientCpu(r1("curl|sha256sum")) - clientCpu(r1("curl"));
const link = (gbit: number) => (gbit * 1e9 * 0.94) / 8 / MB; // TCP payload over Ethernet, ~94 % of the line rate
const perHour = (gbit: number) => Math.floor((link(gbit) * 3600) / (BYTES / MB)).toLocaleString("en-US");
const fed = (rate: number, first = true) =>
  `${first ? "a management node's 10 GbE link" : "10 GbE"}${first ? ` (~${f(link(10))} MB/s of TCP payload)` : ""} keeps about ${Math.floor(link(10) / rate)} nodes at full speed and ${first ? "a 25 GbE link" : "25 GbE"}${first ? ` (~${f(link(25))} MB/s)` : ""} about ${Math.floor(link(25) / rate)}`;
const sizes1 = r1("sizes");
const busy = (clientCpu(sizes1) * gb(sizes1)) / best(sizes1).wall; // CPU seconds per second of the size-only client
const cores = (s: number) => (s > 0 ? `one core ≈ ${f(1 / s)} GB/s` : "too little to measure");

const md = `# Clone download: chunked, verified HTTP vs a plain download

\`bun scripts/bench-clone-http.ts --size-mb ${SIZE_MIB} --clients ${CLIENTS} --rounds ${ROUNDS}\` on ${new Date().toISOString().slice(0, 10)}:
${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? "unknown CPU"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, servers and clients on 127.0.0.1 sharing the 2 cores.
Load average (1 min) ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after; the whole run took ${totalSeconds.toFixed(0)} s${getPriority() > 0 ? ` at nice ${getPriority()}` : ""}.
The machine is shared with other jobs: compare rows of one run, not absolute numbers.

The archive: ${(BYTES / MB).toFixed(1)} MB (${(BYTES / 2 ** 20).toFixed(1)} MiB, ${NCHUNKS} chunks of ${CHUNK_BYTES / 2 ** 20} MiB, the last one short), a multi-member .tar.gz
of files from /usr, served from the page cache as \`/install/sysclone/clone/bench/rootimg.tar.gz\` with its chunk list \`rootimg.tar.gz.sha256\`
(written by artifacts.ts's \`chunkSums\`, as \`xcimg clone\` writes it). Servers: ${nginxMissing ? "nginx is not installed on this machine (apt-get install nginx-light), so only " : ""}${servers.join(" and ")}${nginxMissing ? "" : " — nginx started with its own temporary config: Debian's `sendfile on; tcp_nopush on;`, `worker_processes auto`, access log off, `location /install/ { alias …; }`"}.
Clients, started together:

- **clone.sh**: the real node script (\`src/provmethods/sysclone/clone.sh\` with its \`clone.d/\` phases inlined, as the node gets it, sourced by dash with \`XC_LIB=1\`), the download half of \`copy_image\`:
  \`pick_fetcher\` (curl), \`fetch_retry\` of the .sha256 list, then \`stream_archive\` — \`fetch_chunk\` for every 32 MiB range (curl \`-r\` into
  the chunk directory on tmpfs, as \`/run\` is on a node; resumable; checked with sha256sum), up to 2 chunks ahead, each chunk \`cat\` to stdout,
  here \`/dev/null\` instead of the decompressor and tar. The "sizes only" row is the same with \`has sha256sum\` false, the script's own
  fallback for an image without sha256sum: the chunk machinery without the hash.
- **curl**: \`curl -s -o /dev/null <url>\`, the whole file, nothing checked — the obvious alternative.
- **curl | sha256sum**: the whole file through one sha256sum: the cost of checking the bytes, without chunks.

MB = 10⁶ bytes. Aggregate MB/s = clients × archive bytes / wall time until the last client finished, best of ${ROUNDS} rounds (the modes alternate
within a round); per-client numbers are from that round. CPU s/GB: CPU seconds per GB delivered, of the clients (all their processes) and of the
server (all its processes). Every clone.sh client checked every chunk; retries, checksum mismatches or resumes in all runs: ${retries}.

| server | clients | download | wall s (per round) | aggregate MB/s | MB/s per client (median) | per-client s min / median / max | client CPU s/GB | server CPU s/GB | vs curl |
|---|---|---|---|---|---|---|---|---|---|
${table.join("\n")}

## What it means

**Loopback is not a network.** Between server and client there are only memory copies: plain \`curl\` takes the file at ${f(agg(r1("curl")))} MB/s
from ${short(ng)} (${f(agg(rN("curl")))} MB/s for ${CLIENTS} clients together). So the "vs curl" column is the node's CPU cost of the chunked, verified
download, not a network effect: clone.sh runs at ${f(agg(r1("chunked")) / agg(r1("curl")), 2)}× plain curl with 1 client and ${f(agg(rN("chunked")) / agg(rN("curl")), 2)}× with ${CLIENTS}
(${CLIENTS} clients on 2 cores are limited by the clients' CPU). On a real network a single plain download is capped by the link, and the comparison that matters is the
node's rate against its share of the link (below).

**Where a node's time goes** (client CPU per GB delivered, 1 client, ${short(ng)}): curl alone ${f(clientCpu(r1("curl")), 2)} s; one sha256sum over the
stream adds ${f(hashCpu, 2)} s (coreutils' sha256sum: ${hashCpu > 0 ? f(1000 / hashCpu) : "?"} MB/s on one core here); clone.sh costs ${f(clientCpu(r1("chunked")), 2)} s in all,
${f(clientCpu(sizes1), 2)} s without the hash. The ${f(clientCpu(sizes1) - clientCpu(r1("curl")), 2)} s between curl alone and the size-only row are the per-chunk
machinery: curl writes each range to tmpfs, \`cat .part.more >> .part\` copies it again (also when nothing was resumed), sha256sum reads it,
\`cat\` reads it once more onto the decompressor's pipe, and some 25 short processes run per chunk (wc, tr, sed, cut, mv, rm, ls, grep, date and their subshells). The size-only client was also idle
${f((1 - busy) * 100)} % of its time (${f(busy, 2)} CPU s per second): two loops poll every 0.2 s, the fetcher waiting for room 2 chunks ahead and the
reader waiting for the next chunk. Fetching and hashing alternate in one process, so a node's download rate is 1 / (1/network + 1/copies + 1/hash),
below the slowest of them.

**The server side is cheap.** nginx spent ${f(serverCpu(rN("curl")), 2)} CPU s per GB on whole files and ${f(serverCpu(rN("chunked")), 2)} s per GB on 32 MiB
ranges (${CLIENTS} clients; ${cores(serverCpu(rN("chunked")))}); ${bun !== ng ? `the Bun server ${f(serverCpu(find(bun, CLIENTS, "curl")), 2)} and ${f(serverCpu(find(bun, CLIENTS, "chunked")), 2)} s per GB.` : ""}
(Loopback charges part of the kernel's copying to the receiving side: take these as orders of magnitude.)
Range requests cost a server no more than whole files (one request per 32 MiB), and neither server was the limit here${
  bun !== ng
    ? `: the clone.sh rows of the two servers
differ by ${f(Math.abs(agg(find(bun, CLIENTS, "chunked")) / agg(rN("chunked")) - 1) * 100)} % with ${CLIENTS} clients, within this machine's noise`
    : ""
}.

**Per node and per link.** One node running clone.sh took the archive at ${f(perNode)} MB/s here (${f((perNode * 8) / 1000, 1)} Gbit/s). A real node also
decompresses (\`gzip -dc\` of this archive: ${f(gzipMBs)} MB/s of input on one core here; zstd archives decompress several times faster) and tar
writes to its disk, in other processes alongside the download, so it takes the image at about the slowest of these. At the download rate,
${f(perNode)} MB/s per node, ${fed(perNode)}${gzipMBs < perNode ? `; at ${f(gzipMBs)} MB/s, the rate at which gzip -dc takes it (the slower of the two here), ${fed(gzipMBs, false)}` : ""}. With more nodes the link is the limit and they share it: about ${perHour(10)} (10 GbE) or ${perHour(25)} (25 GbE)
copies of this ${f(BYTES / MB)} MB archive an hour, less the clone environment each node boots first (docs/clone.md). The management node's CPU is
not the limit (above). Service nodes (\`noderes.xcatmaster\`) split this: each serves the nodes behind it from its own link, reading the files
from the management node over NFS once and then from its page cache, so the total grows with the number of service nodes while the management
node's link carries each file about once per service node. Numbers from one shared 2-core VM: time one real node (its clone.log) before sizing.
`;
mkdirSync(join(root, "docs", "bench"), { recursive: true });
writeFileSync(join(root, "docs", "bench", "clone.md"), md);
console.log(md);
