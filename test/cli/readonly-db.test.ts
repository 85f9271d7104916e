import { Database } from "bun:sqlite";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { SCHEMA_VERSION } from "../../src/core/db/migrations";
import { BIN, Sandbox } from "../helpers/sandbox";

/**
 * Reading commands work where the database cannot be written (a read-only mount of its
 * directory, an immutable file, a missing file, an older schema) and change nothing there;
 * writing commands say they cannot write, exit 77. Run as root: the read-only cases are a bind
 * mount with -o ro and chattr +i, which hold for root too.
 */
let sb: Sandbox;
let dbDir: string;
let mounted = false;
let immutable: string | null = null;

function sh(...argv: string[]): void {
  const r = Bun.spawnSync(argv, { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
}
const mountReadOnly = () => {
  sh("mount", "--bind", "-o", "ro", dbDir, dbDir);
  mounted = true;
};
const snapshot = () => Object.fromEntries(readdirSync(dbDir).map((f) => [f, readFileSync(join(dbDir, f)).toString("base64")]));

const ok = async (...argv: string[]) => {
  const r = await sb.bin(argv);
  if (r.code !== 0) throw new Error(`xcimg ${argv.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r;
};

/** The reading commands and what they print on a writable database. */
const READS: string[][] = [
  ["image", "list"],
  ["image", "show", "img1"],
  ["node", "list"],
  ["node", "list", "compute,-cn2"],
  ["node", "list", "ipmi"], // a dynamic group, expanded in the noderange worker
  ["node", "show", "cn[1-3]"],
  ["node", "show", "-z", "cn1"],
  ["table", "dump", "nodelist"],
  ["table", "dump", "-w", "groups=~%compute%", "nodelist"],
  ["group", "show", "ipmi"],
  ["lite", "--list", "img1"],
  ["lite", "--list", "cn1"], // lslite <noderange>
  ["boot", "cn[1-3]", "stat"], // nodeset stat
];
let expected: Record<string, string>;

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
  sb = new Sandbox("fidelity-rodb");
  dbDir = dirname(sb.dbPath);
  await ok("node", "set", "cn[1-3]", "groups=compute,all", "mgt=ipmi", "arch=x86_64");
  await ok("image", "set", "img1", "provmethod=statelite", "osvers=rhels9.4", "osarch=x86_64", "profile=compute");
  await ok("node", "set", "cn1", "provmethod=img1");
  await ok("table", "set", "litefile", "image=ALL,file=/var/log/", "options=tmpfs");
  await ok("group", "set", "ipmi", "-d", "-w", "mgt==ipmi");
  expected = {};
  for (const r of READS) expected[r.join(" ")] = (await ok(...r)).stdout;
});
afterEach(() => {
  if (mounted) sh("umount", dbDir);
  mounted = false;
  if (immutable) sh("chattr", "-i", immutable);
  immutable = null;
});
afterAll(() => sb.cleanup());

async function readsMatch(): Promise<void> {
  for (const r of READS) {
    const got = await sb.bin(r);
    expect({ cmd: r.join(" "), code: got.code, stderr: got.stderr }).toEqual({ cmd: r.join(" "), code: 0, stderr: expect.any(String) });
    expect({ cmd: r.join(" "), out: got.stdout }).toEqual({ cmd: r.join(" "), out: expected[r.join(" ")] as string });
  }
}

async function writesRefused(): Promise<void> {
  for (const w of [
    ["node", "set", "cn9", "groups=all"],
    ["table", "set", "site", "key=x", "value=y"],
    ["image", "rm", "img1"],
  ]) {
    const r = await sb.bin(w);
    expect({ cmd: w.join(" "), code: r.code }).toEqual({ cmd: w.join(" "), code: 77 });
    expect(r.stderr).toContain(`Error: cannot write the database ${sb.dbPath}`);
    expect(r.stderr).toContain("hint:");
  }
}

describe("read-only database", () => {
  test("read-only mount of the database directory: every read works and prints the same; writes exit 77; nothing changes", async () => {
    const before = snapshot();
    mountReadOnly();
    await readsMatch();
    await writesRefused();
    sh("umount", dbDir);
    mounted = false;
    expect(snapshot()).toEqual(before);
  });

  test("immutable database file: reads work, writes exit 77, the file is unchanged", async () => {
    const before = snapshot();
    sh("chattr", "+i", sb.dbPath);
    immutable = sb.dbPath;
    await readsMatch();
    await writesRefused();
    sh("chattr", "-i", sb.dbPath);
    immutable = null;
    expect(readFileSync(sb.dbPath).toString("base64")).toBe(before["xcimg.db"] as string);
  });

  test("an older schema on a read-only mount is read through an in-memory migration", async () => {
    const db = new Database(sb.dbPath);
    db.exec("DROP TABLE kit");
    db.exec("PRAGMA user_version = 3");
    db.close();
    const before = snapshot();
    mountReadOnly();
    expect((await ok("table", "dump", "kit")).stdout).toBe(
      "#kitname,basename,description,version,release,ostype,isinternal,kitdeployparams,kitdir,comments,disable\n",
    );
    expect((await ok("node", "list", "ipmi")).stdout).toBe(expected["node list ipmi"] as string);
    sh("umount", dbDir);
    mounted = false;
    expect(snapshot()).toEqual(before);
    await ok("node", "set", "cn1", "groups=compute,all"); // a writing command migrates the file for real afterwards
    const after = new Database(sb.dbPath, { readonly: true });
    expect(after.query("PRAGMA user_version").get()).toEqual({ user_version: SCHEMA_VERSION });
    after.close();
  });

  test("no database yet: reading commands print nothing and create nothing", async () => {
    const other = new Sandbox("fidelity-rodb-empty");
    try {
      const r = await other.bin(["node", "list"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("");
      expect((await other.bin(["table", "dump", "site"])).stdout).toBe("#key,value,comments,disable\n");
      expect(existsSync(dirname(other.dbPath))).toBe(false);
    } finally {
      other.cleanup();
    }
  });
});
