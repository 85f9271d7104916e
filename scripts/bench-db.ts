#!/usr/bin/env bun
/**
 * The database on SQLite vs PostgreSQL (issue #19), compiled binary, same data, same run:
 * `table restore` of 10,000 nodelist rows, `node list` of all 10,000 nodes and of a group,
 * `node show` of 1,000 nodes; and the cost of one statement through the synchronous bridge
 * (pg-driver.ts: Worker + Atomics.wait) against bun:sqlite in-process. PostgreSQL runs on
 * 127.0.0.1 (fsync off, like a tuned test server; a production server adds its commit cost).
 * Writes docs/bench/db.md.
 *
 *   bun scripts/bench-db.ts
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { openDb } from "../src/core/db/open";
import { createDatabase, startPostgres } from "../test/helpers/postgres";

const root = join(import.meta.dir, "..");
const bin = join(root, "dist", "xcimg");
const base = join(root, ".cache", "bench", "db");
const N = 10_000;
const RUNS = 3;

rmSync(base, { recursive: true, force: true });
mkdirSync(base, { recursive: true });
const csv = join(base, "nodelist.csv");
const rows = ["#node,groups,status,statustime,appstatus,appstatustime,primarysn,hidden,updatestatus,updatestatustime,zonename,comments,disable"];
for (let i = 1; i <= N; i++) rows.push(`"n${String(i).padStart(5, "0")}","${i % 10 === 0 ? "gpu," : ""}compute,all",,,,,,,,,,,`);
writeFileSync(csv, `${rows.join("\n")}\n`);

function time(env: Record<string, string>, argv: string[]): number {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    const p = Bun.spawnSync([bin, ...argv], { env, stdout: "pipe", stderr: "pipe" });
    const ms = performance.now() - t;
    if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${p.stderr.toString()}`);
    best = Math.min(best, ms);
  }
  return best;
}

const pg = await startPostgres();
try {
  const cfg = join(base, "xcimg.toml");
  writeFileSync(cfg, `installdir = "${base}/install"\ntftpdir = "${base}/tftpboot"\n[db]\npath = "${base}/xcimg.db"\n`);
  const engines: Record<string, Record<string, string>> = {
    SQLite: { ...(process.env as Record<string, string>), XCIMG_CONFIG: cfg },
    PostgreSQL: { ...(process.env as Record<string, string>), XCIMG_CONFIG: cfg, XCIMG_DB_URL: createDatabase(pg.base, "bench") },
  };
  const cases: [string, string[]][] = [
    [`table restore, ${N.toLocaleString("en")} nodelist rows`, ["table", "restore", "nodelist", csv]],
    [`node list, all ${N.toLocaleString("en")} nodes`, ["node", "list"]],
    [`node list gpu (group of ${(N / 10).toLocaleString("en")})`, ["node", "list", "gpu"]],
    ["node show n[00001-01000] (effective attributes)", ["node", "show", "n[00001-01000]"]],
    ["table dump nodelist", ["table", "dump", "nodelist"]],
  ];
  const results: Record<string, number[]> = {};
  for (const [engine, env] of Object.entries(engines)) {
    time(env, ["node", "list"]); // create and migrate outside the timings
    results[engine] = cases.map(([, argv]) => time(env, argv));
  }

  // one statement through each driver, in-process
  const per: Record<string, number> = {};
  for (const [engine, target] of [
    ["SQLite", join(base, "micro.db")],
    ["PostgreSQL", createDatabase(pg.base, "micro")],
  ] as const) {
    const db = openDb(target);
    db.write(() => {
      for (let i = 0; i < 1000; i++) db.run(`INSERT INTO site ("key", "value") VALUES (?, ?)`, `k${i}`, "v");
    });
    const M = 5000;
    const t = performance.now();
    for (let i = 0; i < M; i++) db.get(`SELECT "value" FROM site WHERE "key" = ?`, `k${i % 1000}`);
    per[engine] = ((performance.now() - t) / M) * 1000;
    db.close();
  }

  const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
  const lines = [
    "# Database: SQLite vs PostgreSQL",
    "",
    `\`bun scripts/bench-db.ts\`, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores, load ${loadavg()[0]?.toFixed(2)}; compiled binary, best of ${RUNS} runs, process start included.`,
    "PostgreSQL 127.0.0.1, fsync off.",
    "",
    "| command | SQLite | PostgreSQL | ratio |",
    "|---|---|---|---|",
    ...cases.map(([name], i) => {
      const s = results.SQLite?.[i] ?? 0;
      const p = results.PostgreSQL?.[i] ?? 0;
      return `| ${name} | ${fmt(s)} | ${fmt(p)} | ${(p / s).toFixed(2)}× |`;
    }),
    `| one SELECT by key, in-process (µs) | ${per.SQLite?.toFixed(1)} | ${per.PostgreSQL?.toFixed(1)} | ${((per.PostgreSQL ?? 0) / (per.SQLite ?? 1)).toFixed(0)}× |`,
    "",
  ];
  mkdirSync(join(root, "docs", "bench"), { recursive: true });
  writeFileSync(join(root, "docs", "bench", "db.md"), lines.join("\n"));
  console.log(lines.join("\n"));
} finally {
  pg.stop();
}
