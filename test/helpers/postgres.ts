import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A throwaway PostgreSQL server on 127.0.0.1 for the database tests: initdb into a temp dir,
 * `postgres` on a free port, trust authentication for the one superuser `xcimg`. PostgreSQL
 * refuses to run as root, so as root it runs as the `postgres` user Debian's package creates
 * (or `nobody`), owning the temp dir. Under CI=true a missing server fails the test.
 */
export interface PgServer {
  /** postgresql://xcimg@127.0.0.1:<port> (append /<database>) */
  base: string;
  port: number;
  stop(): void;
}

function binDir(): string | null {
  const candidates = ["/usr/local/bin"];
  if (existsSync("/usr/lib/postgresql")) {
    for (const v of readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a))) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  }
  return candidates.find((d) => existsSync(join(d, "initdb")) && existsSync(join(d, "postgres"))) ?? null;
}

export function havePostgres(): boolean {
  const found = binDir() !== null;
  if (!found && process.env.CI === "true") throw new Error("PostgreSQL server binaries (initdb, postgres) not found: run scripts/setup-debian.sh");
  return found;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function runAs(): { uid: number; gid: number; prefix: string[] } | null {
  if (process.getuid?.() !== 0) return null;
  const user = Bun.spawnSync(["id", "-u", "postgres"]).exitCode === 0 ? "postgres" : "nobody";
  const uid = Number(Bun.spawnSync(["id", "-u", user]).stdout.toString());
  const gid = Number(Bun.spawnSync(["id", "-g", user]).stdout.toString());
  return { uid, gid, prefix: ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--"] };
}

export async function startPostgres(): Promise<PgServer> {
  const bin = binDir();
  if (!bin) throw new Error("PostgreSQL server binaries not found");
  const dir = mkdtempSync(join(tmpdir(), "xcimg-pg-"));
  const data = join(dir, "data");
  const as = runAs();
  if (as) {
    chownSync(dir, as.uid, as.gid);
    chmodSync(dir, 0o700);
  }
  const prefix = as?.prefix ?? [];
  const init = Bun.spawnSync([...prefix, join(bin, "initdb"), "-D", data, "-U", "xcimg", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"], {
    stderr: "pipe",
    stdout: "pipe",
  });
  if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString()}`);
  const port = await freePort();
  const server = Bun.spawn(
    [
      ...prefix,
      join(bin, "postgres"),
      "-D",
      data,
      "-p",
      String(port),
      "-h",
      "127.0.0.1",
      "-k",
      dir,
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "max_connections=200",
    ],
    { stdout: "ignore", stderr: "pipe" },
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited with ${server.exitCode}: ${await new Response(server.stderr).text()}`);
    const probe = Bun.spawnSync(["psql", "-h", "127.0.0.1", "-p", String(port), "-U", "xcimg", "-d", "postgres", "-Atc", "SELECT 1"], {
      stderr: "pipe",
      stdout: "pipe",
    });
    if (probe.exitCode === 0) break;
    if (Date.now() > deadline) throw new Error(`postgres did not start: ${probe.stderr.toString()}`);
    await Bun.sleep(100);
  }
  const base = `postgresql://xcimg@127.0.0.1:${port}`;
  return {
    base,
    port,
    stop() {
      server.kill("SIGINT"); // fast shutdown
      Bun.spawnSync(["sh", "-c", `for i in $(seq 50); do kill -0 ${server.pid} 2>/dev/null || exit 0; sleep 0.1; done`]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let counter = 0;

/** A fresh, empty database on the server, via psql (synchronous, so a Sandbox constructor can call it). */
export function createDatabase(base: string, prefix = "t"): string {
  const name = `${prefix}_${process.pid}_${++counter}_${Date.now() % 100000}`;
  psql(base, "postgres", `CREATE DATABASE ${name}`);
  return `${base}/${name}`;
}

export function psql(base: string, database: string, sql: string): string {
  const url = new URL(base);
  const r = Bun.spawnSync(["psql", "-h", url.hostname, "-p", url.port, "-U", "xcimg", "-d", database, "-v", "ON_ERROR_STOP=1", "-Atqc", sql], {
    stderr: "pipe",
    stdout: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`psql failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
}
