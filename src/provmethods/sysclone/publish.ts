import { statSync } from "node:fs";
import { basename } from "node:path";
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
 *
 * With `boot.generations` the disk archive and its chunk sums join them in the generation
 * (core/boot/generations.ts), and `archive` names that link: a node cloning while the image
 * changes keeps fetching the ranges of the archive its plan describes.
 */
export function publishClone(config: Config, img: Image, art: CloneArtifacts): PublishedImage & { archive: string } {
  const name = basename(art.archive);
  const pub = publishBootFiles(
    config,
    img,
    art.kernel,
    [
      { name: "cloneenv.cpio.gz", src: art.env },
      // the node's uncompressed overlay follows: core/boot/initrd-align.ts (UEFI iPXE)
      { name: "initrd-stateless.gz", data: alignGzipAfter(bootInitrd(0), statSync(art.env).size) },
    ],
    undefined,
    [
      { name, src: art.archive },
      { name: `${name}.sha256`, src: `${art.archive}.sha256` },
    ],
  );
  return { ...pub, packed: art.env, archive: pub.servedAt[name] ?? art.archive };
}
