import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { normaliseMemberName, vetMembers } from "../../../src/core/bundle/vet";
import { DataError } from "../../../src/core/errors";
import { fuzzArchive, rng } from "../../helpers/tar-fuzz";

/**
 * The vetter against GNU tar's own reading of the same archives (issue #12, "two parsers for
 * one archive"). Import vets a bundle with xcimg's tar reader, then GNU tar extracts it: any
 * archive the vetter ACCEPTS must list, under GNU tar, exactly the members the vetter saw —
 * the same names, types and link targets, in the same order. Refusing more than GNU tar is
 * fine. A few hundred random and mutated archives from a fixed seed, a few seconds.
 * FUZZ_SEED=<n> explores another seed; FUZZ_KEEP=1 keeps the archives and prints the counts.
 */
const CASES = 600;
const SEED = Number(process.env.FUZZ_SEED ?? 0x12bad);
const work = mkdtempSync(join(tmpdir(), "xcimg-vetfuzz-"));
afterAll(() => {
  if (!process.env.FUZZ_KEEP) rmSync(work, { recursive: true, force: true });
});

type Row = { name: string; type: string; link: string };

const TYPE_OF_MODE: Record<string, string> = { "-": "file", d: "dir", l: "symlink", h: "hardlink", c: "char", b: "block", p: "fifo" };

/** `tar -tv` lines: "<mode> <uid>/<gid> <size> <date> <time> <name>[ -> target| link to target]". */
function gnuList(file: string): Row[] | null {
  const p = Bun.spawnSync(["tar", "--list", "--verbose", "--numeric-owner", "--full-time", "--quoting-style=literal", "-z", "-f", file], {
    stdout: "pipe",
    stderr: "pipe",
    env: { LC_ALL: "C" },
  });
  if (p.exitCode !== 0) return null; // GNU tar fails the archive: extraction would fail, nothing is placed
  const rows: Row[] = [];
  for (const line of p.stdout.toString("latin1").split("\n")) {
    if (!line) continue;
    const m = /^(\S)\S* \S+\s+\S+ \S+ \S+ (.*)$/.exec(line);
    if (!m) throw new Error(`unparsed tar -tv line: ${line}`);
    const type = TYPE_OF_MODE[m[1] as string] ?? `?${m[1]}`;
    let rest = m[2] as string;
    let link = "";
    const sep = type === "symlink" ? " -> " : type === "hardlink" ? " link to " : null;
    if (sep) {
      const at = rest.indexOf(sep);
      link = rest.slice(at + sep.length);
      rest = rest.slice(0, at);
    }
    rows.push({ name: rest, type, link });
  }
  return rows;
}

function norm(name: string): string {
  let n = name;
  while (n.startsWith("./")) n = n.slice(2);
  return n.replace(/\/$/, "");
}

test(`the vetter and GNU tar read ${CASES} hostile archives alike whenever the vetter accepts one`, async () => {
  const r = rng(SEED);
  let accepted = 0;
  let refusedByVetter = 0;
  const disagreements: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const file = join(work, `f${i}.tgz`);
    if (process.env.FUZZ_KEEP) console.log(file);
    writeFileSync(file, Bun.gzipSync(new Uint8Array(fuzzArchive(r))));
    let ours: Row[];
    try {
      const { v } = await vetMembers(file);
      ours = [...v.members.values()]
        .filter((m) => m.name !== "")
        .map((m) => ({
          name: m.name,
          type: m.entry.type,
          link: m.entry.type === "hardlink" ? normaliseMemberName(m.entry.linkname) : m.entry.type === "symlink" ? m.entry.linkname : "",
        }));
    } catch (e) {
      if (!(e instanceof DataError)) throw e; // anything but a clean refusal is a bug
      refusedByVetter++;
      continue;
    }
    accepted++;
    const theirs = gnuList(file);
    if (theirs === null) continue;
    const gnu = theirs
      .map((row) => ({ name: norm(row.name), type: row.type, link: row.type === "hardlink" ? norm(row.link) : row.link }))
      .filter((row) => row.name !== "");
    if (JSON.stringify(gnu) !== JSON.stringify(ours)) {
      disagreements.push(`case ${i} (${file}):\n  vetter: ${JSON.stringify(ours)}\n  GNU tar: ${JSON.stringify(gnu)}`);
      if (disagreements.length >= 3) break;
    }
  }
  if (process.env.FUZZ_KEEP) console.log({ accepted, refusedByVetter });
  expect(disagreements).toEqual([]);
  // the generator must exercise both sides, or the comparison proves nothing
  expect(accepted).toBeGreaterThan(CASES / 10);
  expect(refusedByVetter).toBeGreaterThan(CASES / 10);
}, 60_000);
