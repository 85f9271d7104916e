import { closeSync, existsSync, mkdirSync, openSync, readSync } from "node:fs";
import { join, posix } from "node:path";
import type { Context } from "../context";
import { DataError } from "../errors";
import { checkDestination } from "./destinations";
import { ExpansionBudget, freeBytes } from "./expansion";
import type { ImportImage, ImportPlan } from "./import";
import { fileRefs, sourceOf } from "./manifest";
import type { PackedTree } from "./method";
import { extractCpioGz, vetRootimgtree } from "./rootimgtree";
import { verifyExtracted } from "./staged";

/**
 * Root trees that arrive packed inside a bundle and are unpacked during import: a
 * rootimgtree.gz a provmethod's hook names (statelite, xcat.md §1.5 step 8) and a seed-001
 * bundle's rootimg.gz. Each is vetted
 * entry by entry (names, links) before GNU cpio sees it, its expansion bounded while it is
 * decompressed (expansion.ts), what cpio extracted compared with what was vetted (staged.ts),
 * then moved into place like a file.
 */
async function unpack(ctx: Context, plan: ImportPlan, file: string, cwd: string, what: string, under: "rootimg" | null, size: number): Promise<void> {
  const budget = new ExpansionBudget(what, size, freeBytes(cwd), plan.rules.installdir);
  const vetted = await vetRootimgtree(file, { under, what, budget }, ctx.signal);
  await extractCpioGz(file, cwd, ctx.signal);
  await verifyExtracted(cwd, vetted.expected, what);
}

function member(plan: ImportPlan, img: ImportImage, key: PackedTree["key"] | "rootimg") {
  const ref = fileRefs(img.manifest).find((r) => r.key === key);
  if (!ref) return null;
  const rel = sourceOf(img.manifest, ref);
  const m = plan.bundle.members.get(img.dir ? `${img.dir}/${rel}` : rel);
  if (m?.entry.type !== "file") throw new DataError(`the bundle has no file ${img.dir ? `${img.dir}/` : ""}${rel} for ${key}`);
  return { ref, member: m };
}

/** A packed tree a provmethod's hook asked for: rootimgtree.gz (xCAT statelite) unpacks to <dirname(rootimgtree)>/rootimg. */
export function planRootimgtree(ctx: Context, plan: ImportPlan, img: ImportImage, packed: PackedTree): void {
  const found = member(plan, img, packed.key);
  if (!found) return;
  const to = posix.join(posix.dirname(found.ref.path), "rootimg");
  checkDestination(posix.join(to, "x"), plan.rules, `the ${img.provmethod} root tree`);
  const dir = `.tree.${plan.images.indexOf(img)}.${img.name}`;
  img.placements.push({ from: `${dir}/rootimg`, to, what: "rootimg", tree: true });
  img.afterExtract.push(async (staging) => {
    ctx.log.info("Extracting rootimgtree.gz. It will take a while.");
    const file = join(staging, found.member.name);
    mkdirSync(join(staging, dir), { mode: 0o700 });
    await unpack(ctx, plan, file, join(staging, dir), "rootimgtree.gz", "rootimg", found.member.entry.size);
    if (!existsSync(join(staging, dir, "rootimg"))) throw new DataError("rootimgtree.gz holds no rootimg directory");
  });
}

function isGzip(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** seed 001 (a method whose facts say cfg.expandRootimg): "the rootimg.gz will also be expanded" into <rootimgdir>/rootimg (gzip'd cpio only). */
export function planExpandRootimg(ctx: Context, plan: ImportPlan, img: ImportImage): void {
  const found = member(plan, img, "rootimg");
  const rootimgdir = img.manifest.linuximage.rootimgdir;
  if (!found || !rootimgdir) return;
  const to = posix.join(rootimgdir, "rootimg");
  checkDestination(posix.join(to, "x"), plan.rules, "the root tree");
  const dir = `.tree.${plan.images.indexOf(img)}.${img.name}`;
  const placement = { from: `${dir}/rootimg`, to, what: "rootimg", tree: true };
  img.placements.push(placement);
  img.afterExtract.push(async (staging) => {
    const file = join(staging, found.member.name);
    if (!isGzip(file)) {
      ctx.log.warn(`${found.member.name} is not a gzip'd cpio archive; it is placed as ${found.ref.path} but not expanded`);
      img.placements.splice(img.placements.indexOf(placement), 1);
      return;
    }
    ctx.log.info(`Extracting ${found.member.name} into ${to}. It will take a while.`);
    mkdirSync(join(staging, dir, "rootimg"), { recursive: true, mode: 0o755 });
    await unpack(ctx, plan, file, join(staging, dir, "rootimg"), found.member.name, null, found.member.entry.size);
  });
}
