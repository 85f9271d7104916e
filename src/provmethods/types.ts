import type { BootResult } from "../core/boot/boot";
import type { CaptureRequest, CaptureResult } from "../core/capture/capture";
import type { Context } from "../core/context";
import type { Image } from "../core/defs/image";
import type { XcimgError } from "../core/errors";
import type { PackResult } from "../core/pack/pack";
import type { ProvMethodName } from "../core/provmethod/names";
import type { SshFlags } from "../core/remote/target";
import type { LiteResult } from "./statelite/liteimg";
import type { LayoutOpResult, LayoutRequest } from "./sysclone/image-layout";
import type { CloneResult as SyscloneCloneResult } from "./sysclone/prepare";
import type { UpdateResult } from "./sysclone/update";

export type { ProvMethodName };

/**
 * The lifecycle operations. A provmethod supports an operation by defining it; the registry
 * turns a missing one into a usage error naming the methods that do support it. Export and
 * import are not among them: every method has them, and core/bundle runs them through the
 * method's bundle facts (src/core/bundle/method.ts).
 */
export const OPERATIONS = ["capture", "pack", "lite", "boot", "clone", "layout"] as const;
export type Operation = (typeof OPERATIONS)[number];

/*
 * Each operation's request and result, typed once here (as unstorage's `Driver` types each
 * of its methods), so a command builds a checked request and reads a typed result without a
 * cast. An operation only one method has (lite, clone) is typed by that method's own types.
 */

/** capture: the command's flags; the method adds the capture type (core/capture/plan.ts). */
export type CaptureOpRequest = Omit<CaptureRequest, "type">;
export type CaptureOpResult = CaptureResult;

/** pack: xCAT packimage -m/-c, and --nosyncfiles. */
export interface PackRequest {
  method?: string;
  compress?: string;
  nosyncfiles?: boolean;
}
export type PackOpResult = PackResult & { summary: string };

/** lite: xCAT liteimg (the listing, lslite -i, is not provmethod-bound). */
export interface LiteRequest {
  nosyncfiles?: boolean;
}
export type LiteOpResult = LiteResult;

/** boot: xCAT nodeset <noderange> osimage=<image>. */
export interface BootRequest {
  nodes: string[];
  /** Of those, the nodes whose boot files a service node writes: rows and host keys only (core/boot/boot.ts BootOptions). */
  rowsOnly?: ReadonlySet<string>;
}
export type BootOpResult = BootResult;

/** clone: prepare nodes to clone themselves at their next network boot, or (update) bring running clones up to date. */
export interface CloneRequest {
  nodes: string[];
  /** Of those, the nodes a service node serves: rows and host keys only, as for boot (BootRequest.rowsOnly). */
  rowsOnly?: ReadonlySet<string>;
  dryRun?: boolean;
  update?: boolean;
  diskBytes?: number;
  disk?: string;
  rebootAfter?: number;
  ssh?: SshFlags;
  noDelete?: boolean;
  excludeFrom?: string;
  /** On a service node (`xcimg sn sync`): use the clone files as synced from the MN, never rebuild them (artifacts.ts syncedArtifacts). */
  fromSync?: boolean;
}
export type CloneOpResult = SyscloneCloneResult | UpdateResult;

/** layout: the disk layout clone recreates, shown or set from a file (`xcimg image layout`). */
export type { LayoutOpResult, LayoutRequest };

export interface OperationFns {
  capture: (ctx: Context, req: CaptureOpRequest) => Promise<CaptureOpResult>;
  pack: (ctx: Context, img: Image, req: PackRequest) => Promise<PackOpResult>;
  lite: (ctx: Context, img: Image, req: LiteRequest) => Promise<LiteOpResult>;
  boot: (ctx: Context, img: Image, req: BootRequest) => Promise<BootOpResult>;
  clone: (ctx: Context, img: Image, req: CloneRequest) => Promise<CloneOpResult>;
  layout: (ctx: Context, img: Image, req: LayoutRequest) => Promise<LayoutOpResult>;
}

export type ProvMethod = {
  name: ProvMethodName;
  /** One line for `--help` and error hints. */
  description: string;
  /**
   * For an operation only this method has: how an image of another provmethod is refused,
   * when xCAT has its own words for it (liteimg's "Please make sure that osimage.provmethod
   * is set to statelite"). Without it the registry's generic usage error applies.
   */
  refuseOthers?: { [O in Operation]?: (image: string) => XcimgError };
} & Partial<OperationFns>;

export function defineProvMethod<const T extends ProvMethod>(m: T): T {
  return m;
}
