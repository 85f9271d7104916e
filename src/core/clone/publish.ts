import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bootInitrd } from "../boot/initrd";
import { hasEfiStub, type PublishedImage } from "../boot/publish";
import type { Config } from "../config/schema";
import { fsError } from "../errors";
import { linkOrCopyAtomic, sameFile, writeFileAtomic } from "../fs/atomic";
import { bootFilesDir } from "../image/paths";
import type { CloneArtifacts } from "./artifacts";

/**
 * The clone environment's boot files where boot loaders fetch them, as for a netboot image
 * (<tftpdir>/xcat/osimage/<image>/): the image's kernel, the clone environment (hard-linked
 * from installdir when they share a filesystem) and xcimg's generic initrd-stateless.gz, whose
 * /init moves the environment into a tmpfs and starts its systemd.
 */
export function publishClone(config: Config, imageName: string, art: CloneArtifacts): PublishedImage {
  const out = bootFilesDir(config, imageName);
  try {
    mkdirSync(out, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot create ${out}`);
  }
  for (const [src, name] of [
    [art.kernel, "kernel"],
    [art.env, "cloneenv.cpio.gz"],
  ] as const) {
    const dst = join(out, name);
    if (!sameFile(src, dst)) linkOrCopyAtomic(src, dst);
  }
  const initrd = bootInitrd(0);
  const initrdPath = join(out, "initrd-stateless.gz");
  if (!existsSync(initrdPath) || !readFileSync(initrdPath).equals(initrd)) writeFileAtomic(initrdPath, initrd);
  const rel = (f: string) => `xcat/osimage/${imageName}/${f}`;
  return { dir: out, kernel: rel("kernel"), initrd: rel("initrd-stateless.gz"), rootimg: rel("cloneenv.cpio.gz"), packed: art.env, efiStub: hasEfiStub(art.kernel) };
}
