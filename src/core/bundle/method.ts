import type { Context } from "../context";
import { methodFacts } from "../provmethod/facts";
import type { CarriedCapture } from "./capture-record";
import type { ExportJob, MethodExport } from "./export";
import type { Manifest } from "./manifest";
import type { Member } from "./vet";

/**
 * What the bundle layer (export, import) asks a provmethod: the `bundle` section of its facts
 * (src/core/provmethod/facts.ts), declared in src/provmethods/<method>/facts.ts. Everything a
 * bundle of that method holds beyond what every bundle holds (lists, extras, postscripts) is
 * said here, so core/bundle never branches on a method's name.
 */
export interface BundleFacts {
  /**
   * xCAT's directory of this method's lists (templates, pkglists): <installdir>/custom/<lists>/
   * for the site's, /opt/xcat/share/xcat/<lists>/ for those xCAT ships (imgexport searches both).
   */
  readonly lists: string;
  /**
   * Where an image of this method keeps its files, below installdir, with {osvers} {osarch}
   * {profile} {imagename}: where `import -f` moves a renamed image, and how the exporting
   * site's installdir is recognised in a manifest's paths (core/bundle/destinations.ts).
   */
  readonly layout: string;
  /**
   * Whether every image of this method has that directory (it is locked while an import
   * replaces it), or only one whose linuximage.rootimgdir names it.
   */
  readonly hasImageDir: boolean;
  /** What a seed-001 manifest.cfg of this method carries (core/bundle/manifest-cfg.ts); absent: a manifest.cfg cannot hold one. */
  readonly cfg?: CfgFacts;
  /** Its bundles fill the litefile table from <img>/litefile.csv (xcat.md §1.5). */
  readonly litefile: boolean;
  /**
   * The files its bundles bring are remembered by content (core/template/provenance.ts), so a
   * template and what it includes are never taken for the site's own.
   */
  readonly remembersFiles: boolean;
  /** The method's own part of an export and of an import (loaded when a bundle is written or read). */
  readonly hooks: () => Promise<BundleHooks>;
}

export type CfgFacts =
  /** `template <file>` is placed under <installdir>/custom/<lists>/<platform>/; `media` defaults to required. */
  | { readonly carries: "template" }
  /**
   * `kernel`, `initrd` and `rootimg` are placed in the image directory, the initrd as
   * `ramdisk`; with `expandRootimg` the rootimg archive is also unpacked into rootimg/ as the
   * seed describes ("the rootimg.gz will also be expanded").
   */
  | { readonly carries: "boot-files"; readonly ramdisk: string; readonly expandRootimg: boolean };

export interface BundleHooks {
  /** Export: find the method's files (kernel, packed image, trees), fill its manifest keys and return what the bundle carries. */
  collect(job: ExportJob): Promise<MethodExport>;
  /**
   * Import: the method's checks of one image of a vetted bundle and what it places beyond the
   * files every bundle places. Nothing is written and nothing shared is changed: the importer
   * (core/bundle/import.ts) checks every destination returned here and places it.
   */
  plan(ctx: Context, image: ImageToImport): MethodImport | Promise<MethodImport>;
}

/** What an import hook sees of one image (read-only). */
export interface ImageToImport {
  readonly name: string;
  /** The image's directory in the bundle ("" for a flat manifest.cfg bundle). */
  readonly dir: string;
  readonly kind: "xml" | "cfg";
  /** Already mapped to this site (core/bundle/destinations.ts). */
  readonly manifest: Readonly<Manifest>;
  /** The bundle's member `rel` of this image (`<dir>/<rel>`), as vetted. */
  member(rel: string): Member | undefined;
  /** The image's directory on this site (linuximage.rootimgdir or the method's layout). */
  readonly imageDir: string;
  /** The capture record the bundle carries as <img>/xcimg-capture.json, checked (core/bundle/capture-record.ts). */
  capture(): CarriedCapture | undefined;
}

/** A directory of the bundle moved into place as one tree (a sysclone image tree). */
export interface TreePlacement {
  /** Member name of the directory in the bundle. */
  from: string;
  to: string;
  what: string;
}

/** A root tree the bundle carries packed in a manifest file, unpacked (vetted, bounded) while importing. */
export interface PackedTree {
  /** rootimgtree: a gzip'd cpio of rootimg/ (xCAT statelite), unpacked to <dirname of the file>/rootimg. */
  key: "rootimgtree";
}

export interface MethodImport {
  /** The method's problems in xCAT's words; all are reported and nothing is imported. */
  errors: string[];
  trees?: TreePlacement[];
  packed?: PackedTree[];
  /** The capture record to keep for the image (what clone needs of the golden node), written with its rows. */
  capture?: CarriedCapture;
}

export function bundleFacts(provmethod: string | undefined, subject?: string): BundleFacts {
  return methodFacts(provmethod, subject).bundle;
}

/** The method's image directory below `installdir` for these osimage values. */
export function layoutDir(layout: string, installdir: string, o: { osvers?: string; osarch?: string; profile?: string; imagename?: string }): string {
  const rel = layout.replace(/\{(osvers|osarch|profile|imagename)\}/g, (_, k: keyof typeof o) => o[k] ?? "");
  return `${installdir.replace(/\/+$/, "")}/${rel}`;
}
