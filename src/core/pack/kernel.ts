import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { NotFoundError } from "../errors";
import { isFile } from "../fs/predicates";

/**
 * The kernel an image boots: linuximage.kernelver when set, else the newest one found in the
 * tree — /boot/vmlinuz-<ver> (Debian, EL, SUSE), /boot/vmlinux-<ver> (ppc64) or
 * /lib/modules/<ver>/vmlinuz (EL9 trees built in a chroot often leave /boot empty).
 * Rescue and debug kernels are never picked on their own.
 */
export interface ImageKernel {
  path: string;
  version: string;
}

const PREFIXES = ["vmlinuz-", "vmlinux-", "Image-"];

export function kernelsIn(rootimg: string): ImageKernel[] {
  const found = new Map<string, ImageKernel>();
  const boot = join(rootimg, "boot");
  for (const f of safeList(boot)) {
    const prefix = PREFIXES.find((p) => f.startsWith(p));
    if (!prefix) continue;
    const version = f.slice(prefix.length);
    if (version === "" || version.includes("rescue") || version.includes("debug") || f.endsWith(".old")) continue;
    const path = join(boot, f);
    if (isFile(path)) found.set(version, { path, version });
  }
  const modules = join(rootimg, "lib", "modules");
  for (const v of safeList(modules)) {
    if (found.has(v)) continue;
    const path = join(modules, v, "vmlinuz");
    if (isFile(path)) found.set(v, { path, version: v });
  }
  return [...found.values()].sort((a, b) => compareVersions(a.version, b.version));
}

export function pickKernel(rootimg: string, kernelver?: string): ImageKernel | null {
  const all = kernelsIn(rootimg);
  if (kernelver) {
    const k = all.find((x) => x.version === kernelver);
    if (!k) {
      throw new NotFoundError(`linuximage.kernelver is ${kernelver}, but ${rootimg}/boot has no vmlinuz-${kernelver}`, {
        hint: all.length ? `kernels in the image: ${all.map((x) => x.version).join(", ")}` : "the image has no kernel under /boot",
      });
    }
    return k;
  }
  return all.at(-1) ?? null;
}

/** `sort -V`-like: digit runs compare as numbers, the rest as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
    } else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function safeList(dir: string): string[] {
  try {
    return existsSync(dir) ? readdirSync(dir) : [];
  } catch {
    return [];
  }
}
