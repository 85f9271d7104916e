import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, Sandbox } from "../helpers/sandbox";

/**
 * Noderanges that used to hang xcimg (and ignore SIGTERM), through the compiled binary: each
 * ends quickly with a clear error and a usage/data exit code, and a SIGTERM sent while a slow
 * expansion runs ends the command with 130 at once.
 * Needs dist/xcimg: node_modules/.bin/bun scripts/build.ts --host.
 */
let sb: Sandbox;
const LONG = "a".repeat(60);

beforeAll(async () => {
  sb = new Sandbox("noderange-hostile");
  for (const a of [
    ["cn[01-03]", "groups=compute,all"],
    [`${LONG}[01-40]`, "groups=long,all"],
  ]) {
    const r = await sb.run("node", "set", ...a);
    if (r.code !== 0) throw new Error(r.stderr);
  }
});
afterAll(() => sb.cleanup());

/** Run the binary and time it. */
async function timed(argv: string[]): Promise<{ code: number; stderr: string; stdout: string; ms: number }> {
  const t0 = performance.now();
  const r = await sb.bin(argv);
  return { ...r, ms: performance.now() - t0 };
}

describe("pathological noderanges end quickly with a clear error", () => {
  test("a FIFO as ^file is refused without blocking on open", async () => {
    const fifo = join(sb.dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    const r = await timed(["node", "list", `^${fifo}`]);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(`Error: noderange file ${fifo} is not a regular file\n  hint: ^file names a text file with one noderange per line\n`);
    expect(r.ms).toBeLessThan(5000);
  });

  test("^/dev/zero is refused instead of read forever", async () => {
    const r = await timed(["node", "list", "^/dev/zero"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("Error: noderange file /dev/zero is not a regular file");
    expect(r.ms).toBeLessThan(5000);
  });

  test("a ^file larger than 16 MiB is refused before it is read", async () => {
    const big = join(sb.dir, "big.txt");
    closeSync(openSync(big, "w"));
    execFileSync("truncate", ["-s", "17M", big]);
    const r = await timed(["node", "list", `^${big}`]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(`Error: noderange file ${big} is larger than 16 MiB`);
    expect(r.ms).toBeLessThan(5000);
  });

  test("a ^file with ordinary names still works", async () => {
    const f = join(sb.dir, "nodes.txt");
    writeFileSync(f, "cn01\ncn03  # comment\n");
    const r = await sb.bin(["node", "list", `^${f}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("cn01\ncn03\n");
  });

  for (const range of ["f[1-1000]n[1-1000]g[1-1000]", "f[1-2000]n[1-1000]", "node1+999999999", "n1-n99999999999"]) {
    test(`${range} is refused from its size, before any name is made`, async () => {
      const r = await timed(["node", "list", range]);
      expect(r.code).toBe(64);
      expect(r.stderr).toContain(`Error: range '${range}' expands to more than 1000000 names`);
      expect(r.ms).toBeLessThan(3000);
    });
  }

  test("many legal ranges together hit the per-noderange name budget", async () => {
    const r = await timed(["node", "list", "a[1-900000],b[1-900000],c[1-900000]"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("Error: noderange generates more than 2000000 names (at 'c1-c900000')");
  });

  test("a polynomial /regex is stopped by its time budget", async () => {
    const r = await timed(["node", "list", "/.*.*.*.*.*.*b"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(
      "Error: regular expression '^.*.*.*.*.*.*b$' in noderange '/.*.*.*.*.*.*b' took more than 2 s on the node names and was stopped",
    );
    expect(r.stderr).toContain("hint: ");
    expect(r.ms).toBeLessThan(10000);
  });
});

describe("regular expressions from tables cannot hang or run unchecked", () => {
  beforeAll(() => {
    const db = new Database(sb.dbPath);
    // group rows, as xCAT sites keep them; the values are what a hostile tabdump file would carry
    db.query(`INSERT INTO hosts (node, ip) VALUES ('long', ?)`).run("|^(a+)+$|10.0.0.1|");
    db.query(`INSERT INTO nodegroup (groupname, grouptype, wherevals) VALUES ('dyn', 'dynamic', ?)`).run("node=~^(a|aa)+$");
    db.query(`INSERT INTO noderes (node, xcatmaster) VALUES ('compute', ?)`).run("|\\D+(\\d+)$|10.0.1.($1+100)|");
    db.close();
  });

  test("an exponential |regex| value in a group row is refused (65), naming the value", async () => {
    const r = await timed(["node", "show", `${LONG}01`]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(
      "Error: regular expression '^(a+)+$' in table value '|^(a+)+$|10.0.0.1|' refused: a repeated group that itself repeats or alternates",
    );
    expect(r.ms).toBeLessThan(5000);
  });

  test("an exponential wherevals regex is refused (65)", async () => {
    const r = await timed(["node", "list", "dyn"]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("in the wherevals of dynamic group dyn");
  });

  test("xCAT's own regex values keep working", async () => {
    const r = await sb.bin(["--json", "node", "show", "cn02"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).cn02.xcatmaster).toBe("10.0.1.102");
  });
});

describe("SIGTERM during a slow expansion", () => {
  test("xcimg node list <slow regex> exits 130 promptly", async () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(sb.env)) if (v !== undefined) env[k] = v;
    const proc = Bun.spawn([BIN, "node", "list", "/.*.*.*.*.*.*.*.*b"], { env, stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(700); // well inside the expansion, which alone would take minutes
    const killedAt = performance.now();
    proc.kill("SIGTERM");
    const code = await proc.exited;
    const ms = performance.now() - killedAt;
    expect(code).toBe(130);
    expect(await new Response(proc.stderr).text()).toContain("Error: interrupted by SIGTERM");
    expect(ms).toBeLessThan(1500);
  });
});
