import type { Image } from "../defs/image";
import type { OsFamily } from "./family";
import type { PkgList } from "./pkglist";

/** Everything a backend needs to build one image, resolved from the image row and the flags. */
export interface BuildPlan {
  image: Image;
  osvers: string;
  arch: string;
  profile: string;
  family: OsFamily;
  rootimgdir: string;
  /** <rootimgdir>/rootimg: the live tree, replaced only when the new one is complete. */
  tree: string;
  /** <rootimgdir>/.xcimg-genimage.rootimg/: staging trees and private package-manager config (0700). */
  work: string;
  staging: string;
  /** <installdir>/.cache/genimage/<backend>/<osvers>-<arch>/: downloaded packages and indices, kept between builds. */
  cache: string;
  pkglist: PkgList;
  pkglistSource: string;
  otherpkglist: PkgList | null;
  pkgdir: string;
  otherpkgdir: string;
  postinstall: { script: string; args: string[] }[];
  kernelver?: string;
  /** osimage.environvar (K=V,...), for the package managers and postinstall, as xCAT sets them. */
  environ: Record<string, string>;
  /** Build from nothing (no tree yet, or --fresh); else start from a copy of the live tree as xCAT does. */
  fresh: boolean;
  noupdate: boolean;
  insecure: boolean;
}

/** A backend: one file per package-manager family. */
export interface Backend {
  /** The repositories searched, for messages. */
  sources(): string[];
  /** What would run, for --dryrun. */
  describe(): string[];
  /** Fail before any tree is touched: every package named is in some repository, trust holds. */
  precheck(): Promise<void>;
  /** Build the staging tree (fresh) or bring the copy of the live tree up to the lists. */
  build(): Promise<void>;
  /** name → version-release (arch) of what the tree has installed, from the tree's own database. */
  packages(): Promise<{ name: string; version: string; arch: string }[]>;
  /** Make the tree a node's, not this MN's; returns what was changed. */
  finalize(): Promise<string[]>;
}

/** xCAT arch → Debian architecture. */
export function debArch(arch: string): string {
  return ({ x86_64: "amd64", aarch64: "arm64", ppc64le: "ppc64el", s390x: "s390x" } as Record<string, string>)[arch] ?? arch;
}
