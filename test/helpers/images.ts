import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Sandbox } from "./sandbox";

/**
 * A netboot image defined in a sandbox, laid out the way capture leaves one (and xCAT does):
 * <installdir>/netboot/<osvers>/<arch>/<profile>/rootimg with osimage/linuximage rows.
 */
export async function defineNetbootImage(sb: Sandbox, name: string, attrs: string[] = [], osvers = "test1"): Promise<{ dir: string; rootimg: string }> {
  const r = await sb.run("image", "set", name, "provmethod=netboot", `osvers=${osvers}`, "osarch=x86_64", "profile=compute", ...attrs);
  if (r.code !== 0) throw new Error(`image set failed: ${r.stderr}`);
  const dir = join(sb.installdir, "netboot", osvers, "x86_64", "compute");
  const rootimg = join(dir, "rootimg");
  mkdirSync(rootimg, { recursive: true });
  return { dir, rootimg };
}

/** Two fake kernels: pack must pick the newer by version, not by name order. */
export function fakeKernels(rootimg: string): void {
  mkdirSync(join(rootimg, "boot"), { recursive: true });
  writeFileSync(join(rootimg, "boot", "vmlinuz-6.1.0-9-amd64"), "kernel 9\n");
  writeFileSync(join(rootimg, "boot", "vmlinuz-6.1.0-10-amd64"), "kernel 10\n");
}
