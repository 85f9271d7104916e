/**
 * What the clone benchmarks (bench-clone-node.ts, bench-clone-http.ts) share, so that both
 * measure the same thing: the node script as the node gets it, nginx on 127.0.0.1 with Debian's
 * defaults, and the download half of clone.sh's copy_image run by dash.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHUNK_BYTES } from "../src/provmethods/sysclone/artifacts";
import { CLONE_SCRIPT } from "../src/provmethods/sysclone/node-script";

/** clone.sh with its clone.d/ phases inlined, written to a temporary file to source with XC_LIB=1. */
export function writeCloneScript(): string {
  const file = join(mkdtempSync(join(tmpdir(), "xcimg-bench-clone-sh-")), "clone.sh");
  writeFileSync(file, CLONE_SCRIPT);
  return file;
}

export function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
}

export interface Server {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Waits until `probe` (a URL path) answers a 100-byte range request with 206. */
export async function waitUp(port: number, probe: string, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}${probe}`, { headers: { Range: "bytes=0-99" } });
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

/**
 * nginx serving `installdir` as /install/ on a free port of 127.0.0.1, with its own temporary
 * config (Debian's `sendfile on; tcp_nopush on;`, `worker_processes auto`, no access log);
 * null when nginx is not installed.
 */
export async function startNginx(installdir: string, probe: string): Promise<Server | null> {
  const nginx = ["/usr/sbin/nginx", Bun.which("nginx")].find((p) => p && existsSync(p));
  if (!nginx) return null;
  const dir = mkdtempSync(join(tmpdir(), "xcimg-bench-nginx-"));
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
    await waitUp(port, probe, "nginx");
  } catch (e) {
    p.kill("SIGTERM");
    throw new Error(`${(e as Error).message}: ${readFileSync(join(dir, "error.log"), "utf8")}`);
  }
  const v = Bun.spawnSync([nginx, "-v"], { stderr: "pipe" }).stderr.toString().trim();
  return {
    name: `nginx ${v.replace(/^nginx version: nginx\//, "")}`,
    port,
    pid: p.pid,
    stop: async () => {
      p.kill("SIGQUIT");
      await p.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** clone.sh's two ways to stream the archive (clone.d/http.sh): python3's parallel ranges, or chunk files. */
export type StreamFn = "stream_ranges" | "stream_archive";

/**
 * The body of `dash -c` that runs copy_image's download half as the node does: clone.sh sourced
 * with XC_LIB=1, a plan.env with node-plan.ts's names, pick_fetcher, the .sha256 list (unless
 * `sums` is false: the fallback of an image without sha256sum), then `stream` into `sink`
 * ("> /dev/null", or "| zstd -dc > /dev/null"). Exits non-zero when the stream failed.
 * The node's log and status are `run`/clone.log and `run`/clone.status.
 */
export function cloneDownload(o: {
  cloneSh: string;
  run: string;
  port: number;
  urlPath: string;
  bytes: number;
  stream: StreamFn;
  sums?: boolean;
  node?: string;
  sink?: string;
}): string {
  const sums = o.sums ?? true;
  writeFileSync(
    join(o.run, "plan.env"),
    `XC_JOB='bench'\nXC_NODE='${o.node ?? "cn1"}'\nXC_MASTER='127.0.0.1'\nXC_HTTP_PORT='${o.port}'\nXC_ARCHIVE='${o.urlPath}'\nXC_ARCHIVE_BYTES='${o.bytes}'\nXC_CHUNK_BYTES='${CHUNK_BYTES}'\nXC_CHUNKS='${Math.max(1, Math.ceil(o.bytes / CHUNK_BYTES))}'\n`,
  );
  return [
    `XC_LIB=1 XC_DIR=${o.run} XC_RUN=${o.run}`,
    `. ${o.cloneSh}`,
    `. ${o.run}/plan.env`,
    `mkdir -p "$XC_RUN" && : >>"$LOG"`,
    `pick_fetcher && [ "$FETCHER" = curl ] || { echo "fetcher: $FETCHER" >&2; exit 3; }`,
    // an image without sha256sum: copy_image falls back to checking each chunk's size
    sums ? ":" : `has() { [ "$1" != sha256sum ] && command -v "$1" >/dev/null 2>&1; }`,
    `SUMS_OK=`,
    `if has sha256sum && fetch_retry "$XC_ARCHIVE.sha256" "$XC_RUN/sums" 12; then SUMS_OK=1; else log "no chunk checksums: chunks are checked by size only"; fi`,
    sums ? `[ -n "$SUMS_OK" ] || exit 4` : `[ -z "$SUMS_OK" ] || exit 4`,
    // as copy_image: the stream's own exit code, not the sink's (dash has no pipefail)
    `{ ${o.stream}; echo $? >"$XC_RUN/rc.stream"; } ${o.sink ?? ">/dev/null"}`,
    `[ "$(cat "$XC_RUN/rc.stream")" = 0 ] || { echo "${o.stream} exited $(cat "$XC_RUN/rc.stream"): $(tail -n 3 "$LOG")" >&2; exit 5; }`,
  ].join("\n");
}
