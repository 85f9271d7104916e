import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { BIN, Sandbox } from "../helpers/sandbox";
import { asNobody, openPathTo } from "../helpers/unprivileged";

/**
 * The database holds the passwd table's clear-text root password: with the compiled binary, a
 * fresh site's database (and its -wal/-shm) is 0600 in a 0700 directory, a 0644 database of an
 * earlier xcimg is tightened on the next command (with an info line), and an ordinary local
 * user cannot read it even where the directories above it are open.
 */
let sb: Sandbox;
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
  sb = new Sandbox("dbperms");
});
afterAll(() => sb.cleanup());

const mode = (p: string) => statSync(p).mode & 0o7777;

describe("database permissions", () => {
  test("a fresh site: database, -wal and -shm 0600 in a 0700 directory; nobody cannot read the password", async () => {
    const r = await sb.bin(["table", "set", "passwd", "key=system,username=root", "password=s3cret-root-pw"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(mode(dirname(sb.dbPath))).toBe(0o700);
    expect(mode(sb.dbPath)).toBe(0o600);
    // hold a reader open so -wal/-shm exist, then let xcimg write through them
    const held = new Database(sb.dbPath);
    held.query("SELECT count(*) FROM passwd").get();
    const again = await sb.bin(["table", "set", "passwd", "key=ipmi,username=ADMIN", "password=other"]);
    expect(again.code).toBe(0);
    for (const f of [`${sb.dbPath}-wal`, `${sb.dbPath}-shm`]) {
      expect(existsSync(f)).toBe(true);
      expect(mode(f)).toBe(0o600);
    }
    // even with every directory on the way open, the file's own mode keeps nobody out
    openPathTo(dirname(sb.dbPath));
    const read = asNobody(["cat", sb.dbPath]);
    expect(read.code).not.toBe(0);
    expect(read.stderr).toContain("Permission denied");
    expect(read.stdout).not.toContain("s3cret-root-pw");
    held.close();
  });

  test("a 0644 database from an earlier version is tightened on open, with an info line", async () => {
    const old = new Sandbox("dbperms-old");
    try {
      mkdirSync(dirname(old.dbPath), { recursive: true, mode: 0o755 });
      // an earlier xcimg: SQLite's default 0644 file with the password already in it
      const first = await old.bin(["table", "set", "passwd", "key=system,username=root", "password=old-pw"]);
      expect(first.code).toBe(0);
      chmodSync(old.dbPath, 0o644);
      writeFileSync(`${old.dbPath}-journal`, "");
      chmodSync(`${old.dbPath}-journal`, 0o644);
      openPathTo(dirname(old.dbPath));
      expect(asNobody(["cat", old.dbPath]).code).toBe(0); // the finding: anyone could read it
      const r = await old.bin(["table", "dump", "passwd"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("made the database readable by root only");
      expect(r.stderr).toContain(`${old.dbPath} (was 0644)`);
      expect(mode(old.dbPath)).toBe(0o600);
      expect(mode(`${old.dbPath}-journal`)).toBe(0o600);
      expect(mode(dirname(old.dbPath))).toBe(0o755); // an existing directory is the admin's
      const read = asNobody(["cat", old.dbPath]);
      expect(read.code).not.toBe(0);
      expect(read.stderr).toContain("Permission denied");
      // said once: the next command finds nothing to tighten
      const quiet = await old.bin(["table", "dump", "passwd"]);
      expect(quiet.stderr).not.toContain("readable by root only");
    } finally {
      old.cleanup();
    }
  });
});
