import type { Config } from "../config/schema";
import type { Image } from "../defs/image";
import { findMethodFacts } from "../provmethod/facts";
import type { ImageKind } from "./xcat-dirs";

/**
 * MethodFacts.image: what core/image, core/provenance and core/synclist ask about an
 * image's files instead of branching on its provmethod. Declared by each method in
 * src/provmethods/<method>/facts.ts.
 */
export interface ImageFacts {
  /**
   * The image directory when linuximage.rootimgdir is unset. "profile": xCAT's
   * <installdir>/netboot/<osvers>/<arch>/<profile>, shared by the images of one
   * os/arch/profile (a copy gets <...>/<arch>/<copy's name>); a function: a directory of the
   * image's own, named after it (`fileName` is the image name made safe for a path), which a
   * copy gets by its name alone.
   */
  readonly home: "profile" | ((installdir: string, fileName: string) => string);
  /**
   * The root tree: "rootimg" inside the image directory; "." the directory itself (what nodes
   * get, so the manifest and capture's state live beside it); null none (the image points at
   * its media: `image copy` makes no directory and `image rm --files` removes only boot files).
   */
  readonly tree: "rootimg" | "." | null;
  /** Which of xCAT's directory kinds the image's site files are in (core/image/xcat-dirs.ts). */
  readonly customDir: ImageKind;
  /** What the method keeps for an image outside its directory; `image rm --files` removes it too. */
  ownFiles?(config: Config, image: string): string[];
  /**
   * Directories the image's nodes read that other images may share (install media in
   * linuximage.pkgdir and otherpkgdir, the site's templates): a service node mirrors them
   * with the image (core/sn/sync.ts); `image rm` never removes them.
   */
  sharedDirs?(config: Config, img: Image): string[];
  /**
   * The files nodes boot or clone from, for the manifest (docs/provenance.md): name in the
   * manifest → path. Without it: pack's and liteimg's outputs in the image directory.
   */
  artifacts?(config: Config, image: string): Map<string, string>;
  /** True when nodes mount the tree itself over NFS (core/image/tree-barrier.ts guards it). */
  nfsRoot?(img: Image): boolean;
}

/**
 * An image whose provmethod is unset, or one xcimg lacks: laid out as xCAT's diskless images
 * are, as it always was (rootimgdir, synclists, `image rm --files`).
 */
const UNKNOWN_METHOD: ImageFacts = { home: "profile", tree: "rootimg", customDir: "diskless" };

export function imageFacts(provmethod: string | undefined): ImageFacts {
  return findMethodFacts(provmethod)?.image ?? UNKNOWN_METHOD;
}
