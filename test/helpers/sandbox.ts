import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main";
import { createDatabase } from "./postgres";

export const ROOT = join(import.meta.dir, "..", "..");
export const BIN = join(ROOT, "dist", "xcimg");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A writable that keeps what it is given: stdout/stderr of an in-process run. */
class Collector {
  data = "";
  isTTY = false;
  write(chunk: string | Uint8Array): boolean {
    this.data += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
    return true;
  }
}

/**
 * A throwaway xcimg site: its own installdir, tftpdir, database and config file in a temp
 * dir. `run` calls main() in-process; `bin` runs the compiled binary, as an admin would.
 */
export class Sandbox {
  readonly dir: string;
  readonly config: string;
  readonly installdir: string;
  readonly tftpdir: string;
  readonly dbPath: string;
  /** A fresh PostgreSQL database when the test file runs the suite on PostgreSQL (test-db.ts). */
  dbUrl: string | undefined;

  constructor(name: string, extraToml = "") {
    this.dir = mkdtempSync(join(tmpdir(), `xcimg-${name}-`));
    this.installdir = join(this.dir, "install");
    this.tftpdir = join(this.dir, "tftpboot");
    this.dbPath = join(this.dir, "db", "xcimg.db");
    const pgBase = process.env.XCIMG_TEST_PG_BASE;
    this.dbUrl = pgBase ? createDatabase(pgBase) : undefined;
    mkdirSync(this.installdir, { recursive: true });
    mkdirSync(this.tftpdir, { recursive: true });
    this.config = join(this.dir, "xcimg.toml");
    writeFileSync(
      this.config,
      [`installdir = "${this.installdir}"`, `tftpdir = "${this.tftpdir}"`, `master = "10.0.2.2"`, `[db]`, `path = "${this.dbPath}"`, extraToml, ""].join("\n"),
    );
  }

  get env(): Record<string, string | undefined> {
    return { ...process.env, XCIMG_CONFIG: this.config, ...(this.dbUrl ? { XCIMG_DB_URL: this.dbUrl } : {}) };
  }

  async run(...argv: string[]): Promise<RunResult> {
    const stdout = new Collector();
    const stderr = new Collector();
    const code = await main(argv, { stdout: stdout as never, stderr: stderr as never, env: this.env });
    return { code, stdout: stdout.data, stderr: stderr.data };
  }

  /** Run the compiled binary (build it first with `bun scripts/build.ts --host`). */
  async bin(argv: string[], opts: { env?: Record<string, string | undefined>; cwd?: string; stdin?: string } = {}): Promise<RunResult> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...this.env, ...opts.env })) if (v !== undefined) env[k] = v;
    const proc = Bun.spawn([BIN, ...argv], {
      env,
      cwd: opts.cwd ?? this.dir,
      stdout: "pipe",
      stderr: "pipe",
      stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
