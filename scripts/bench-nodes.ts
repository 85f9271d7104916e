#!/usr/bin/env bun
/**
 * The database commands sites run over whole clusters, against the obvious alternative, in
 * the same run, interleaved, medians of --reps (compiled binary, a throwaway site):
 *
 *   node set of 10,000 nodes       one `xcimg node set bn[00001-10000] ...` vs a shell loop of
 *                                  `xcimg node set <node> ...` (100 nodes, times 100), and vs
 *                                  the sqlite3 CLI writing the same rows in one transaction
 *   table restore of 10,000 rows   `xcimg table restore mac mac.csv` vs sqlite3's own
 *                                  `.import --csv` of the same file into the same table
 *   node list of a dynamic group   `xcimg node list <group>`, the group defined by a regular
 *                                  expression over a regex-valued attribute (hosts.ip computed
 *                                  per node from its group's row), vs sqlite3 listing the nodes
 *                                  (no inheritance, no regex: the floor)
 *
 * Writes docs/bench/nodes.md.
 *
 *   bun scripts/bench-nodes.ts [--nodes 10000] [--reps 3]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const bin = join(root, "dist", "xcimg");
const base = join(root, ".cache", "bench", "nodes");
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg("--nodes", 10000);
const REPS = arg("--reps", 3);
const LOOP = 100;
const width = String(N).length;
const name = (i: number) => `bn${String(i).padStart(width, "0")}`;

function site(dir: string): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "xcimg.toml"), `installdir = "${dir}/install"\ntftpdir = "${dir}/tftpboot"\n[db]\npath = "${dir}/db/xcimg.db"\n`);
  return { ...(process.env as Record<string, string>), XCIMG_CONFIG: join(dir, "xcimg.toml") };
}

function timed(cmd: string, args: string[], env: Record<string, string>, input?: string): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { env, input, stdio: [input === undefined ? "ignore" : "pipe", "ignore", "pipe"] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return (performance.now() - t) / 1000;
}

// an empty database with the schema, copied for every measured run
const empty = join(base, "empty");
rmSync(base, { recursive: true, force: true });
const emptyEnv = site(empty);
execFileSync(bin, ["node", "set", "seed", "groups=all"], { env: emptyEnv, stdio: "ignore" }); // creates and migrates the database
execFileSync(bin, ["node", "rm", "seed"], { env: emptyEnv, stdio: "ignore" });
const fresh = (tag: string) => {
  const dir = join(base, tag);
  rmSync(dir, { recursive: true, force: true });
  cpSync(empty, dir, { recursive: true });
  return { dir, env: site(dir), db: join(dir, "db", "xcimg.db") };
};

const ATTRS = ["groups=bench,all", "netboot=xnba", "arch=x86_64", "serialport=0", "serialspeed=115200"];
const sqlNodeSet = () => {
  const lines = ["BEGIN;"];
  for (let i = 1; i <= N; i++) {
    const n = name(i);
    lines.push(`INSERT INTO nodelist (node, groups) VALUES ('${n}', 'bench,all') ON CONFLICT (node) DO UPDATE SET groups = excluded.groups;`);
    lines.push(`INSERT INTO noderes (node, netboot) VALUES ('${n}', 'xnba') ON CONFLICT (node) DO UPDATE SET netboot = excluded.netboot;`);
    lines.push(`INSERT INTO nodetype (node, arch) VALUES ('${n}', 'x86_64') ON CONFLICT (node) DO UPDATE SET arch = excluded.arch;`);
    lines.push(
      `INSERT INTO nodehm (node, serialport, serialspeed) VALUES ('${n}', '0', '115200') ON CONFLICT (node) DO UPDATE SET serialport = excluded.serialport, serialspeed = excluded.serialspeed;`,
    );
  }
  lines.push("COMMIT;");
  return `${lines.join("\n")}\n`;
};
const hex = (v: number) => v.toString(16).padStart(2, "0");
const csv = join(base, "mac.csv");
const rows = ["#node,interface,mac,comments,disable"];
for (let i = 1; i <= N; i++) rows.push(`"${name(i)}",,"52:54:02:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)}",,`);
writeFileSync(csv, `${rows.join("\n")}\n`);
const csvNoHeader = join(base, "mac-noheader.csv");
writeFileSync(csvNoHeader, `${rows.slice(1).join("\n")}\n`);
const sqlScript = sqlNodeSet();

const res = new Map<string, number[]>();
const add = (k: string, s: number) => res.set(k, [...(res.get(k) ?? []), s]);
const load0 = loadavg()[0] as number;
for (let rep = 0; rep < REPS; rep++) {
  const order = rep % 2 ? [2, 1, 0] : [0, 1, 2];
  for (const which of order) {
    const s = fresh(`run${which}`);
    if (which === 0) add("set:xcimg", timed(bin, ["node", "set", `bn[${"1".padStart(width, "0")}-${N}]`, ...ATTRS], s.env));
    if (which === 1) {
      const loop = `for i in $(seq 1 ${LOOP}); do ${bin} node set "bn$(printf %0${width}d $i)" ${ATTRS.join(" ")} >/dev/null || exit 1; done`;
      add("set:loop", (timed("sh", ["-c", loop], s.env) * N) / LOOP);
    }
    if (which === 2) add("set:sqlite3", timed("sqlite3", [s.db], s.env, sqlScript));
  }
  for (const which of rep % 2 ? [1, 0] : [0, 1]) {
    const s = fresh(`restore${which}`);
    if (which === 0) add("restore:xcimg", timed(bin, ["table", "restore", "mac", csv], s.env));
    else add("restore:sqlite3", timed("sqlite3", [s.db, "DELETE FROM mac;", `.import --csv ${csvNoHeader} mac`], s.env));
  }
  console.error(`rep ${rep + 1}: ${[...res].map(([k, v]) => `${k} ${(v.at(-1) as number).toFixed(2)}`).join(", ")}`);
}

// node list of a dynamic group over a regex attribute: every node's hosts.ip comes from the
// bench group's row (xCAT's |regex|replacement| form), the group selects half of them by it
const s = fresh("list");
execFileSync(bin, ["node", "set", `bn[${"1".padStart(width, "0")}-${N}]`, ...ATTRS], { env: s.env, stdio: "ignore" });
execFileSync(bin, ["table", "set", "hosts", "node=bench", "ip=|\\D+(\\d+)|10.1.($1/250).($1%250)|"], { env: s.env, stdio: "pipe" });
execFileSync(bin, ["table", "set", "nodegroup", "groupname=evenrack", "grouptype=dynamic", "wherevals=ip=~^10\\.1\\.[0-9]*[02468]\\."], {
  env: s.env,
  stdio: "pipe",
});
const listed = execFileSync(bin, ["node", "list", "evenrack"], { env: s.env }).toString().trim().split("\n").length;
for (let rep = 0; rep < REPS; rep++) {
  for (const which of rep % 2 ? [1, 0] : [0, 1]) {
    if (which === 0) add("list:xcimg", timed(bin, ["node", "list", "evenrack"], s.env));
    else add("list:sqlite3", timed("sqlite3", [s.db, "SELECT node FROM nodelist WHERE ',' || groups || ',' LIKE '%,bench,%' ORDER BY node;"], s.env));
  }
}
rmSync(join(base, "run0"), { recursive: true, force: true });

const med = (k: string) => {
  const v = [...(res.get(k) ?? [])].sort((a, b) => a - b);
  return v.length % 2 ? (v[(v.length - 1) / 2] as number) : ((v[v.length / 2 - 1] as number) + (v[v.length / 2] as number)) / 2;
};
const row = (what: string, x: string, alts: [string, string][]) =>
  `| ${what} | ${med(x).toFixed(2)} | ${alts.map(([l, k]) => `${l}: ${med(k).toFixed(2)} s (${(med(k) / med(x)).toFixed(1)}×)`).join("; ")} |`;
const md = `# Node and table commands over a whole cluster

\`bun scripts/bench-nodes.ts --nodes ${N} --reps ${REPS}\` on ${cpus().length} × ${cpus()[0]?.model.trim()}, ${new Date().toISOString().slice(0, 10)};
load average (1 min) ${load0.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after — a shared machine: medians of ${REPS}
interleaved runs, a fresh database for each; compare within a row. Seconds wall-clock, the compiled binary
(each run includes its start, ~0.1 s). In parentheses: the alternative's time over xcimg's.

| command | xcimg s | alternatives, same run |
|---|---|---|
${row(`\`node set bn[…-${N}]\` (${ATTRS.length} attributes, 4 tables, ${N.toLocaleString("en")} new nodes)`, "set:xcimg", [
  [`shell loop of \`xcimg node set <node>\` (${LOOP} nodes × ${N / LOOP})`, "set:loop"],
  ["sqlite3 CLI, the same upserts in one transaction", "set:sqlite3"],
])}
${row(`\`table restore mac\` (${N.toLocaleString("en")} rows, CSV as tabdump writes it)`, "restore:xcimg", [["sqlite3 `.import --csv` into the same table", "restore:sqlite3"]])}
${row(
  `\`node list evenrack\`: a dynamic group by \`ip=~\` over a regex-valued hosts.ip, ${N.toLocaleString("en")} nodes → ${listed.toLocaleString("en")}`,
  "list:xcimg",
  [["sqlite3 listing the static group's nodes (no inheritance, no regex: the floor)", "list:sqlite3"]],
)}
`;
writeFileSync(join(root, "docs", "bench", "nodes.md"), md);
console.log(md);
