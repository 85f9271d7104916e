import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type MemoryEntry, memoryCpio } from "../archive/cpio";
import { DataError, NotFoundError, XcimgError } from "../errors";
import { inlineParts } from "../script/inline";
import { findBusybox, machineOf } from "./busybox";
import { type CarriedTool, carryFrom } from "./carried-tool";
import script from "./first-stage.sh" with { type: "text" };
import { INIT_PARTS } from "./init-script";
import { imageModulesDir, initrdModules } from "./initrd-modules";
import udhcpcScript from "./udhcpc.sh" with { type: "text" };

/**
 * initrd-fetch.gz: the first stage of a two-stage boot, for images packed as squashfs or tar
 * (`xcimg pack -m squashfs|tar`), which the kernel cannot unpack itself. xCAT boots them the
 * same way (its dracut module fetches imgurl=, xcat.md §4.1). Built per image from the image:
 *
 *   /init                      first-stage.sh: NIC drivers, DHCP, wget imgurl=, then squashfs
 *                              (loop, read-only) under an overlayfs with a tmpfs upper layer,
 *                              or tar unpacked into a tmpfs; the node's overlay on top;
 *                              switch_root into the image's init
 *   /.xcimg/bin/busybox        static: shell, wget, udhcpc, mount, modprobe, switch_root
 *   /.xcimg/udhcpc.script      DHCP hook
 *   /.xcimg/lib/modules/<v>/   NIC and AF_PACKET modules, and for squashfs the squashfs,
 *                              overlay and loop modules, from the image's own /lib/modules
 *   /.xcimg/tools/             tar images: GNU tar (busybox tar drops xattrs, so file
 *                              capabilities) and for .tar.zst zstd, with their libraries
 *
 * The loader hands the kernel this initrd and the node's overlay (staged under
 * /.xcimg/overlay, core/boot/overlay.ts), never the packed image: the node fetches it.
 */
export const FIRST_STAGE_INITRD = "initrd-fetch.gz";

export type FetchedArchive = { method: "squashfs" } | { method: "tar"; compression: "gz" | "zst" | "xz" };

/** Packed images a first stage boots, by file name (rootimg.sfs, rootimg.tar.<c>); null for the rest. */
export function fetchedArchive(file: string): FetchedArchive | null {
  if (/(^|\/)rootimg\.sfs$/.test(file)) return { method: "squashfs" };
  const m = /(^|\/)rootimg\.tar\.(gz|zst|xz)$/.exec(file);
  return m ? { method: "tar", compression: m[2] as "gz" | "zst" | "xz" } : null;
}

/** The filesystems a squashfs root needs, as modules.dep / modules.builtin name them. */
const SQUASHFS_ROOT: { name: string; re: RegExp }[] = [
  { name: "squashfs", re: /^kernel\/fs\/squashfs\/squashfs\.ko/ },
  { name: "overlay", re: /^kernel\/fs\/overlayfs\/overlay\.ko/ },
  { name: "loop", re: /^kernel\/drivers\/block\/loop\.ko/ },
];

export interface FirstStage {
  data: Buffer;
  busybox: string;
  modules: number;
  tools: string[];
}

/**
 * Build the first stage for `packedName` from the image tree and the version of the kernel it
 * boots. Throws with what is missing (a module, busybox, GNU tar), so `xcimg boot` names it
 * before any node is pointed at an image it could not start.
 */
export function firstStageInitrd(rootimg: string, kernelVersion: string, osarch: string, packedName: string): FirstStage {
  const { kind, busybox, tools } = firstStageParts(rootimg, kernelVersion, osarch, packedName);
  const mods = initrdModules(rootimg, kernelVersion, kind.method === "squashfs" ? SQUASHFS_ROOT.map((m) => m.re) : []);

  const entries: MemoryEntry[] = [];
  const dirs = new Set<string>();
  const file = (name: string, data: string | Uint8Array, mode = 0o644) => {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ name: d, mode: 0o040755 });
      }
    }
    entries.push({ name, mode: 0o100000 | mode, data });
  };
  dirs.add("dev");
  entries.push(
    { name: "dev", mode: 0o040755 },
    { name: "dev/console", mode: 0o020600, rdevMajor: 5, rdevMinor: 1 },
    { name: "dev/null", mode: 0o020666, rdevMajor: 1, rdevMinor: 3 },
  );
  file("init", inlineParts(script, INIT_PARTS), 0o755);
  file(".xcimg/bin/busybox", busybox.data, 0o755);
  file(".xcimg/udhcpc.script", udhcpcScript, 0o755);
  const base = `.xcimg/lib/modules/${kernelVersion}`;
  for (const m of [...mods.index, ...mods.files]) file(`${base}/${m.name}`, m.data);
  for (const t of tools) {
    for (const f of t.files) file(`.xcimg/tools/${f.name}`, f.data, 0o755);
    // how /init runs it: through its own loader and libraries, never the image's
    const run = t.interp ? `/.xcimg/tools/${t.interp} --library-path /.xcimg/tools /.xcimg/tools/${t.program}` : `/.xcimg/tools/${t.program}`;
    file(`.xcimg/tools/${t.program}.run`, `${run}\n`);
  }
  if (tools.length) file(".xcimg/tools/tar.flags", `${tarFlags(tools[0] as CarriedTool)}\n`);
  const cpio = memoryCpio(entries, 0);
  return {
    data: Buffer.from(Bun.gzipSync(cpio as Uint8Array<ArrayBuffer>, { level: 6 })),
    busybox: `${busybox.path} (${busybox.from})`,
    modules: mods.files.length,
    tools: tools.map((t) => `${t.program} from the ${t.from} (${t.path})`),
  };
}

/** What a first stage for `packedName` is made of, or an error naming what the image lacks. */
function firstStageParts(rootimg: string, kernelVersion: string, osarch: string, packedName: string) {
  const kind = fetchedArchive(packedName);
  if (!kind) throw new DataError(`${packedName} is not an image a first-stage initrd fetches (rootimg.sfs, rootimg.tar.gz|zst|xz)`);
  const busybox = findBusybox(rootimg, osarch, "the first-stage initrd of a fetched image");
  // the NIC drivers come from there whatever the method
  const modulesDir = imageModulesDir(rootimg, kernelVersion);
  if (!existsSync(join(modulesDir, "modules.dep"))) {
    throw new NotFoundError(`${modulesDir}/modules.dep does not exist`, { hint: `run 'depmod -b ${rootimg} ${kernelVersion}' (or depmod in the image) once` });
  }
  if (kind.method === "squashfs") requireModules(rootimg, kernelVersion, packedName);
  const tools = kind.method === "tar" ? tarTools(rootimg, osarch, kind.compression) : [];
  return { kind, busybox, tools };
}

/**
 * Why nodes could not boot `packedName` from this tree, or null if they can: what `xcimg boot`
 * would refuse, checked without building the initrd (pack asks before it removes the archive
 * of another method, core/pack/outputs.ts).
 */
export function firstStageProblem(rootimg: string, kernelVersion: string, osarch: string, packedName: string): string | null {
  try {
    firstStageParts(rootimg, kernelVersion, osarch, packedName);
    return null;
  } catch (e) {
    if (e instanceof XcimgError) return e.message;
    throw e;
  }
}

/** squashfs, overlay and loop, each a module of the image's kernel or built into it. */
function requireModules(rootimg: string, version: string, packedName: string): void {
  const dir = imageModulesDir(rootimg, version);
  const read = (f: string) => {
    try {
      return readFileSync(join(dir, f), "utf8");
    } catch {
      return "";
    }
  };
  const known = `${read("modules.dep")}\n${read("modules.builtin")}`.split("\n").map((l) => l.split(":")[0] as string);
  const missing = SQUASHFS_ROOT.filter((m) => !known.some((k) => m.re.test(k))).map((m) => m.name);
  if (missing.length) {
    throw new NotFoundError(
      `${packedName} cannot be booted: the image's kernel ${version} lacks the ${missing.join(", ")} module${missing.length > 1 ? "s" : ""} a squashfs root needs (not in ${dir}/modules.dep or modules.builtin)`,
      {
        hint: `install the kernel's modules in the image (kernel/fs/squashfs, kernel/fs/overlayfs, kernel/drivers/block/loop) and run depmod, or pack with -m cpio`,
      },
    );
  }
}

const TAR_PATHS = ["/usr/bin/tar", "/bin/tar", "/usr/bin/gtar"];
const ZSTD_PATHS = ["/usr/bin/zstd", "/bin/zstd"];

/** GNU tar (image first, then the management node) and, for .tar.zst, zstd. */
function tarTools(rootimg: string, osarch: string, compression: "gz" | "zst" | "xz"): CarriedTool[] {
  const machine = machineOf(osarch) ?? 62;
  const isGnuTar = (t: CarriedTool) => (t.files[0] as { data: Buffer }).data.includes("GNU tar");
  const tar = carry(rootimg, TAR_PATHS, machine, isGnuTar);
  if (!tar) {
    throw new NotFoundError(
      `no GNU tar for ${osarch} with its libraries, in the image or on the management node (${TAR_PATHS.join(", ")}): busybox tar would drop file capabilities`,
      {
        hint: "install GNU tar in the image, or pack with -m squashfs or -m cpio",
      },
    );
  }
  if (compression !== "zst") return [tar];
  const zstd = carry(rootimg, ZSTD_PATHS, machine, () => true);
  if (!zstd)
    throw new NotFoundError(`no zstd for ${osarch} in the image or on the management node to unpack rootimg.tar.zst on the node`, {
      hint: "install zstd, or pack with -c gzip or -c xz",
    });
  return [tar, zstd];
}

function carry(rootimg: string, paths: string[], machine: number, ok: (t: CarriedTool) => boolean): CarriedTool | null {
  for (const [root, from] of [
    [rootimg, "image"],
    ["/", "management node"],
  ] as const) {
    for (const p of paths) {
      const t = carryFrom(root, p, machine, from);
      if (t && ok(t)) return t;
    }
  }
  return null;
}

/**
 * What the carried GNU tar restores: every xattr (security.capability among them: without
 * --xattrs-include GNU tar restores only user.*), and ACLs when it is linked with libacl.
 */
function tarFlags(tar: CarriedTool): string {
  const flags = ["--numeric-owner", "--xattrs", "--xattrs-include=*"];
  if (tar.files.some((f) => f.name.startsWith("libacl.so"))) flags.push("--acls");
  return flags.join(" ");
}
