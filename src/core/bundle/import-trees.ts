import { closeSync, existsSync, mkdirSync, openSync, readSync } from "node:fs";
import { join, posix } from "node:path";
import type { Context } from "../context";
import { DataError } from "../errors";
import { checkDestination } from "./destinations";
import type { ImportImage, ImportPlan } from "./import";
import { fileRefs, sourceOf } from "./manifest";
import { extractCpioGz, vetRootimgtree } from "./rootimgtree";

/**
 * Root trees that arrive packed inside a bundle and are unpacked during import: a statelite
 * rootimgtree.gz (xcat.md §1.5 step 8) and a seed-001 bundle's rootimg.gz. Each is vetted
 * entry by entry (names, links) before GNU cpio sees it, then moved into place like a file.
 */
function member(plan: ImportPlan, img: ImportImage, key: "rootimgtree" | "rootimg") {
  const ref = fileRefs(img.manifest).find((r) => r.key === key);
  if (!ref) return null;
  const rel = sourceOf(img.manifest, ref);
  const m = plan.bundle.members.get(img.dir ? `${img.dir}/${rel}` : rel);
  if (m?.entry.type !== "file") throw new DataError(`the bundle has no file ${img.dir ? `${img.dir}/` : ""}${rel} for ${key}`);
  return { ref, member: m };
}

/** statelite: rootimgtree.gz unpacks to <dirname(rootimgtree)>/rootimg. */
export function planRootimgtree(ctx: Context, plan: ImportPlan, img: ImportImage): void {
  const found = member(plan, img, "rootimgtree");
  if (!found) return;
  const to = posix.join(posix.dirname(found.ref.path), "rootimg");
  checkDestination(posix.join(to, "x"), plan.rules, "the statelite root tree");
  const unpack = `.tree.${plan.images.indexOf(img)}.${img.name}`;
  img.placements.push({ from: `${unpack}/rootimg`, to, what: "rootimg", tree: true });
  img.afterExtract.push(async (staging) => {
    ctx.log.info("Extracting rootimgtree.gz. It will take a while.");
    const file = join(staging, found.member.name);
    await vetRootimgtree(file, { under: "rootimg", what: "rootimgtree.gz" }, ctx.signal);
    mkdirSync(join(staging, unpack), { mode: 0o700 });
    await extractCpioGz(file, join(staging, unpack), ctx.signal);
    if (!existsSync(join(staging, unpack, "rootimg"))) throw new DataError("rootimgtree.gz holds no rootimg directory");
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

/** seed 001: "the rootimg.gz will also be expanded" into <rootimgdir>/rootimg (gzip'd cpio only). */
export function planExpandRootimg(ctx: Context, plan: ImportPlan, img: ImportImage): void {
  const found = member(plan, img, "rootimg");
  const dir = img.manifest.linuximage.rootimgdir;
  if (!found || !dir) return;
  const to = posix.join(dir, "rootimg");
  checkDestination(posix.join(to, "x"), plan.rules, "the root tree");
  const unpack = `.tree.${plan.images.indexOf(img)}.${img.name}`;
  const placement = { from: `${unpack}/rootimg`, to, what: "rootimg", tree: true };
  img.placements.push(placement);
  img.afterExtract.push(async (staging) => {
    const file = join(staging, found.member.name);
    if (!isGzip(file)) {
      ctx.log.warn(`${found.member.name} is not a gzip'd cpio archive; it is placed as ${found.ref.path} but not expanded`);
      img.placements.splice(img.placements.indexOf(placement), 1);
      return;
    }
    ctx.log.info(`Extracting ${found.member.name} into ${to}. It will take a while.`);
    await vetRootimgtree(file, { under: null, what: found.member.name }, ctx.signal);
    mkdirSync(join(staging, unpack, "rootimg"), { recursive: true, mode: 0o755 });
    await extractCpioGz(file, join(staging, unpack, "rootimg"), ctx.signal);
  });
}
