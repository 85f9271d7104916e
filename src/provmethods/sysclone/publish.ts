import { statSync } from "node:fs";
import { alignGzipAfter } from "../../core/boot/initrd-align";
import { type PublishedImage, publishBootFiles } from "../../core/boot/publish";
import type { Config } from "../../core/config/schema";
import type { Image } from "../../core/defs/image";
import { bootInitrd } from "../../core/initrd/stateless";
import type { CloneArtifacts } from "./artifacts";

/**
 * The clone environment's boot files where boot loaders fetch them, as for a netboot image
 * (<tftpdir>/xcat/osimage/<image>/): the image's kernel, the clone environment (hard-linked
 * from installdir when they share a filesystem) and xcimg's generic initrd-stateless.gz, whose
 * /init moves the environment into a tmpfs and starts its systemd. initrds[] is in load order.
 */
export function publishClone(config: Config, img: Image, art: CloneArtifacts): PublishedImage {
  const pub = publishBootFiles(config, img, art.kernel, [
    { name: "cloneenv.cpio.gz", src: art.env },
    // the node's uncompressed overlay follows: core/boot/initrd-align.ts (UEFI iPXE)
    { name: "initrd-stateless.gz", data: alignGzipAfter(bootInitrd(0), statSync(art.env).size) },
  ]);
  return { ...pub, packed: art.env };
}
