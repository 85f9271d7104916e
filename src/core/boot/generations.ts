import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { fsError } from "../errors";
import { fsyncDir, linkOrCopyAtomic, sameFile, writeFileAtomic } from "../fs/atomic";

/**
 * Generation directories (config `boot.generations`; `sn sync` always uses them): an image's
 * boot files go into <tftpdir>/xcat/osimage/<image>/g-<id>/, named by its content, and the
 * loader files name that directory. A node that read its loader file before a change fetches
 * the files of that generation, which stay; one that reads it after gets only new ones. The flat
 * layout (xCAT's) replaces each file on its own, so a node whose boot straddles a change could
 * combine an old kernel with a new initrd, or an old clone plan with a new archive.
 *
 * The id is a digest of each file's name and of its size and whole-second mtime (a source:
 * rsync keeps both, so two service nodes of a pool name one generation alike) or its bytes (a
 * file xcimg generates). Generations stay while they may still be in use: the current one, the
 * one it replaced, and any other replaced less than `grace` seconds ago.
 */
export const GENERATION = /^g-[0-9a-f]{12}$/;
const BUILDING = /^\.g-[0-9a-f]{12}\.building\.\d+$/;

export type GenerationFile = { name: string; src: string } | { name: string; data: Buffer };

export function generationId(files: readonly GenerationFile[]): string {
  const h = createHash("sha256");
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if ("src" in f) {
      const st = statSync(f.src);
      h.update(`${f.name}\0src\0${st.size}\0${Math.floor(st.mtimeMs / 1000)}\n`);
    } else h.update(`${f.name}\0data\0${createHash("sha256").update(f.data).digest("hex")}\n`);
  }
  return `g-${h.digest("hex").slice(0, 12)}`;
}

/**
 * Make `files` the current generation under `root` and return its directory. A new generation
 * is built under a hidden name and renamed into place whole; one that exists already (the
 * same content, or a switch back) is checked file by file and marked current.
 */
export function placeGeneration(root: string, files: readonly GenerationFile[], graceSeconds: number, now = Date.now()): string {
  const id = generationId(files);
  const dir = join(root, id);
  if (existsSync(dir)) fillGeneration(dir, files);
  else {
    const building = join(root, `.${id}.building.${process.pid}`);
    rmSync(building, { recursive: true, force: true });
    try {
      mkdirSync(building, { mode: 0o755 });
      fillGeneration(building, files);
      renameSync(building, dir);
    } catch (e) {
      rmSync(building, { recursive: true, force: true });
      throw fsError(e, `cannot publish ${dir}`);
    }
    fsyncDir(root);
  }
  markCurrent(root, id, now);
  pruneGenerations(root, graceSeconds, now);
  return dir;
}

function fillGeneration(dir: string, files: readonly GenerationFile[]): void {
  for (const f of files) {
    const dst = join(dir, f.name);
    if ("src" in f) {
      if (!sameFile(f.src, dst)) linkOrCopyAtomic(f.src, dst);
    } else if (!existsSync(dst) || !readFileSync(dst).equals(f.data)) writeFileAtomic(dst, f.data);
  }
}

/** The newest mtime among the generations is the current one: set it, unless it is already. */
function markCurrent(root: string, id: string, now: number): void {
  const gens = generations(root);
  const first = gens[0];
  if (first?.name === id && gens.every((g, i) => i === 0 || g.mtimeMs < first.mtimeMs)) return;
  const newest = Math.max(now, ...gens.map((g) => g.mtimeMs + 1));
  const t = new Date(newest);
  utimesSync(join(root, id), t, t);
}

/** Generation directories under `root`, the current one first (by the time each became current). */
export function generations(root: string): { name: string; mtimeMs: number }[] {
  const out: { name: string; mtimeMs: number }[] = [];
  for (const name of listDir(root)) {
    if (!GENERATION.test(name)) continue;
    try {
      const st = lstatSync(join(root, name));
      if (st.isDirectory()) out.push({ name, mtimeMs: st.mtimeMs });
    } catch {
      // removed meanwhile
    }
  }
  return out.sort((a, b) => b.mtimeMs - a.mtimeMs);
}

/**
 * Remove generations no node can still be reading: the i-th (i ≥ 2) was replaced when the
 * (i-1)-th became current. Flat files left from before generations (the names loader files
 * used then) go once every generation here is older than the grace, and so was the switch.
 * A `.building` directory of a killed run goes when it is older than the grace.
 */
function pruneGenerations(root: string, graceSeconds: number, now: number): void {
  const limit = now - graceSeconds * 1000;
  const gens = generations(root);
  gens.forEach((g, i) => {
    const successor = gens[i - 1];
    if (i >= 2 && successor && successor.mtimeMs < limit) rmSync(join(root, g.name), { recursive: true, force: true });
  });
  const oldest = Math.min(...generations(root).map((g) => g.mtimeMs));
  for (const name of listDir(root)) {
    const p = join(root, name);
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isFile() && !name.startsWith(".") && oldest < limit) rmSync(p, { force: true });
    else if (st.isDirectory() && BUILDING.test(name) && st.mtimeMs < limit) rmSync(p, { recursive: true, force: true });
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
