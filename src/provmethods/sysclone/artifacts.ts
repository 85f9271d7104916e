import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { DiskLayout } from "../../core/capture/probe";
import { formatBytes } from "../../core/capture/progress";
import { readCaptureRecord } from "../../core/capture/record";
import type { Context } from "../../core/context";
import type { Image } from "../../core/defs/image";
import { ConfigError, fsError, NotFoundError } from "../../core/errors";
import { copyAtomic, writeFileAtomic } from "../../core/fs/atomic";
import { lockImageDir } from "../../core/fs/lock";
import { isDir } from "../../core/fs/predicates";
import { rootImgDir } from "../../core/image/paths";
import { guardTree } from "../../core/image/tree-barrier";
import { archiveTree } from "../../core/pack/archive-tree";
import { PathFilter } from "../../core/pack/exlist";
import { pickKernel } from "../../core/pack/kernel";
import { type ImageTools, inspectTools } from "./image-tools";
import { normalizeLayout, type SourceLayout } from "./layout";
import { cloneDir } from "./paths";

/**
 * What nodes need to clone an image, built once per capture and shared by every node:
 *
 *   <installdir>/sysclone/clone/<image>/
 *     kernel                the image's kernel
 *     cloneenv.cpio.gz      the clone environment: the image itself, minus what a diskless
 *                           boot of it does not need (documentation, locales, /home, /opt, caches,
 *                           other kernels' modules, GRUB's files: see ENV_EXCLUDES), as the kernel
 *                           unpacks it
 *     rootimg.tar.gz|.zst   the whole image as a pax archive (GNU tar: xattrs, ACLs, sparse files,
 *                           hardlinks), compressed with what the image can decompress
 *     rootimg.tar.*.sha256  one sha256 per chunk of the archive (CHUNK_BYTES), so a node checks
 *                           and re-fetches each chunk on its own
 *     stamp.json            what they were built from: they are rebuilt only after a new
 *                           capture, a change to the tree on this management node, or a new xcimg
 *
 * Every file is replaced atomically: nodes cloning meanwhile read the old one or the new one.
 */
export const CHUNK_BYTES = 32 * 1024 * 1024;
const STAMP_VERSION = 1;

/** Not needed to run the clone environment (the disk gets everything). Directories stay, empty. */
export const ENV_EXCLUDES = [
  "./boot/*",
  "./home/*",
  "./opt/*",
  "./srv/*",
  "./root/*",
  "./tmp/*",
  "./var/tmp/*",
  "./var/cache/*",
  "./var/log/*",
  "./var/lib/apt/lists/*",
  "./var/lib/dnf/*",
  "./var/lib/yum/*",
  "./var/lib/xcimg/*",
  "./usr/local/*",
  "./usr/src/*",
  "./usr/include/*",
  "./usr/lib/debug/*",
  "./usr/lib/locale/*",
  "./usr/lib/grub/*",
  "./usr/share/grub/*",
  "./usr/share/doc/*",
  "./usr/share/man/*",
  "./usr/share/info/*",
  "./usr/share/locale/*",
  "./usr/share/i18n/*",
  "./usr/share/help/*",
  "./usr/share/gtk-doc/*",
  "./usr/share/fonts/*",
  "./usr/share/icons/*",
  "./usr/share/backgrounds/*",
];
/** Not copied to disks: the golden node's own clone marker, if it was itself a clone. */
export const DISK_EXCLUDES = ["./var/lib/xcimg/*"];

export interface CloneArtifacts {
  image: string;
  dir: string;
  tree: string;
  kernel: string;
  kernelVersion: string;
  env: string;
  envBytes: number;
  archive: string;
  archiveBytes: number;
  chunkBytes: number;
  chunks: number;
  layout: SourceLayout;
  tools: ImageTools;
  entries: number;
  /** Rebuilt by this run (false: reused). */
  built: boolean;
  seconds: number;
}

interface Stamp {
  version: number;
  captured: string;
  tree: { dev: number; ino: number };
  kernel: string;
  decompress: string;
  chunkBytes: number;
  env: string;
  archive: string;
  archiveBytes: number;
  envBytes: number;
}

/** The image's disk layout and tools, checked: everything --dry-run needs, nothing written. */
export function inspectImageForClone(
  ctx: Context,
  img: Image,
): { tree: string; layout: SourceLayout; tools: ImageTools; entries: number; record: Record<string, unknown> } {
  const tree = rootImgDir(ctx.config, img);
  if (!isDir(tree)) {
    throw new NotFoundError(`${tree} does not exist`, { hint: `capture the golden node first: 'xcimg capture <node> -t sysclone -o ${img.name}'` });
  }
  const record = readCaptureRecord(ctx.db(), img.name);
  const raw = record?.disk_layout as DiskLayout | null | undefined;
  if (!raw) {
    throw new NotFoundError(
      `image '${img.name}' has no recorded disk layout: clone recreates the golden node's partitions, which capture records with -t sysclone from a disk`,
      {
        hint: `capture it again: 'xcimg capture <golden node> -t sysclone -o ${img.name}' (without --rootdir)`,
      },
    );
  }
  const layout = normalizeLayout(raw, img.name);
  const tools = inspectTools(tree, layout);
  const entries = ["files", "dirs", "symlinks", "specials"].reduce((n, k) => n + (Number(record?.[k]) || 0), 0);
  return { tree, layout, tools, entries, record: record as Record<string, unknown> };
}

export async function prepareArtifacts(ctx: Context, img: Image): Promise<CloneArtifacts> {
  const started = performance.now();
  const { tree, layout, tools, entries, record } = inspectImageForClone(ctx, img);
  const kernel = pickKernel(tree, img.attrs.kernelver);
  if (!kernel) throw new NotFoundError(`image '${img.name}' has no kernel under ${tree}/boot: the clone environment boots the image's own kernel`);
  const dir = cloneDir(ctx.config, img.name);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, `cannot create ${dir}`);
  }
  const archiveName = `rootimg.tar.${tools.decompress === "zstd" ? "zst" : "gz"}`;
  const st = statSync(tree);
  const want: Omit<Stamp, "archiveBytes" | "envBytes"> = {
    version: STAMP_VERSION,
    captured: String(record.finished ?? ""),
    tree: { dev: st.dev, ino: st.ino },
    kernel: kernel.version,
    decompress: tools.decompress,
    chunkBytes: CHUNK_BYTES,
    env: ENV_EXCLUDES.join(","),
    archive: archiveName,
  };
  const env = join(dir, "cloneenv.cpio.gz");
  const archive = join(dir, archiveName);
  const stampFile = join(dir, "stamp.json");
  const lock = lockImageDir(ctx.config.installdir, tree, `xcimg clone -o ${img.name} (packing)`);
  try {
    guardTree(tree, ctx.log);
    const old = readStamp(stampFile);
    let built = false;
    let archiveBytes: number;
    let envBytes: number;
    if (old && sameBuild(old, want) && existsSync(env) && existsSync(archive) && existsSync(`${archive}.sha256`) && !(await changedSince(tree, stampFile))) {
      archiveBytes = old.archiveBytes;
      envBytes = old.envBytes;
      ctx.log.debug(`clone files of ${img.name} are up to date in ${dir}`);
    } else {
      ctx.log.info(`Packing the clone environment of ${img.name} (the image without ${ENV_EXCLUDES.length} kinds of files it does not need to boot)...`);
      const otherKernels = readdirQuiet(join(tree, "usr/lib/modules"))
        .concat(readdirQuiet(join(tree, "lib/modules")))
        .filter((v) => v !== kernel.version)
        .flatMap((v) => [`./lib/modules/${v}*`, `./usr/lib/modules/${v}*`]);
      const envResult = await archiveTree({
        tree,
        out: env,
        method: "cpio",
        compression: "gzip",
        filter: new PathFilter({ excludes: [...ENV_EXCLUDES, ...otherKernels], includes: [] }),
        signal: ctx.signal,
      });
      envBytes = envResult.packedBytes;
      ctx.log.info(`Packing ${img.name} for the disks (pax tar, ${tools.decompress})...`);
      const diskResult = await archiveTree({
        tree,
        out: archive,
        method: "tar",
        compression: tools.decompress,
        filter: new PathFilter({ excludes: DISK_EXCLUDES, includes: [] }),
        signal: ctx.signal,
      });
      archiveBytes = diskResult.packedBytes;
      writeFileAtomic(`${archive}.sha256`, chunkSums(archive, CHUNK_BYTES));
      // an archive of the other compression is superseded once this one is complete
      for (const f of readdirQuiet(dir)) if (/^rootimg\.tar\.(gz|zst)(\.sha256)?$/.test(f) && !f.startsWith(archiveName)) rmSync(join(dir, f), { force: true });
      copyAtomic(kernel.path, join(dir, "kernel"));
      writeFileAtomic(stampFile, `${JSON.stringify({ ...want, archiveBytes, envBytes }, null, 1)}\n`);
      built = true;
      ctx.log.info(
        `Clone files of ${img.name}: environment ${formatBytes(envBytes)}, disk archive ${formatBytes(archiveBytes)} (${diskResult.walk.entries.length} entries)`,
      );
    }
    if (!existsSync(join(dir, "kernel"))) copyAtomic(kernel.path, join(dir, "kernel"));
    return {
      image: img.name,
      dir,
      tree,
      kernel: join(dir, "kernel"),
      kernelVersion: kernel.version,
      env,
      envBytes,
      archive,
      archiveBytes,
      chunkBytes: CHUNK_BYTES,
      chunks: Math.max(1, Math.ceil(archiveBytes / CHUNK_BYTES)),
      layout,
      tools,
      entries,
      built,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    lock.release();
  }
}

/**
 * On a service node: the clone files as `sn sync` mirrored them from the MN (checked against
 * the image manifest there), taken as they are. Never rebuilt: the sync renews the tree's
 * ctimes, so changedSince would say "edited" and the SN would pack its own archive, which is not
 * the one the manifest lists. Missing files mean the sync did not bring them: an error, not a build.
 */
export function syncedArtifacts(ctx: Context, img: Image): CloneArtifacts {
  const { tree, layout, tools, entries } = inspectImageForClone(ctx, img);
  const dir = cloneDir(ctx.config, img.name);
  const stamp = readStamp(join(dir, "stamp.json"));
  const hint = { hint: "run 'xcimg clone' for the image's nodes on the management node, then 'xcimg sn sync' again" };
  if (!stamp) throw new NotFoundError(`${join(dir, "stamp.json")} is missing or unreadable: the clone files of ${img.name} were not synced`, hint);
  // stamp.json came over the wire: its archive name becomes a path and a node's URL, its sizes the chunk count
  const sizes = [stamp.archiveBytes, stamp.chunkBytes, stamp.envBytes];
  if (!/^rootimg\.tar\.(gz|zst)$/.test(String(stamp.archive)) || !sizes.every((n) => Number.isSafeInteger(n) && n > 0))
    throw new ConfigError(
      `${join(dir, "stamp.json")} is malformed (archive '${String(stamp.archive).slice(0, 40)}'): the clone files of ${img.name} are not used`,
      hint,
    );
  const env = join(dir, "cloneenv.cpio.gz");
  const archive = join(dir, stamp.archive);
  for (const f of [env, archive, `${archive}.sha256`, join(dir, "kernel")]) {
    if (!existsSync(f)) throw new NotFoundError(`${f} is missing: the clone files of ${img.name} were not synced`, hint);
  }
  return {
    image: img.name,
    dir,
    tree,
    kernel: join(dir, "kernel"),
    kernelVersion: stamp.kernel,
    env,
    envBytes: stamp.envBytes,
    archive,
    archiveBytes: stamp.archiveBytes,
    chunkBytes: stamp.chunkBytes,
    chunks: Math.max(1, Math.ceil(stamp.archiveBytes / stamp.chunkBytes)),
    layout,
    tools,
    entries,
    built: false,
    seconds: 0,
  };
}

/** One sha256 per chunk, one per line: what the node checks each downloaded range against. */
export function chunkSums(file: string, chunkBytes: number): string {
  const fd = openSync(file, "r");
  const buf = Buffer.allocUnsafe(Math.min(chunkBytes, 8 << 20));
  const lines: string[] = [];
  try {
    for (;;) {
      const h = createHash("sha256");
      let got = 0;
      while (got < chunkBytes) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, chunkBytes - got), null);
        if (n === 0) break;
        h.update(buf.subarray(0, n));
        got += n;
      }
      if (got === 0) break;
      lines.push(h.digest("hex"));
      if (got < chunkBytes) break;
    }
  } finally {
    closeSync(fd);
  }
  return `${lines.join("\n")}\n`;
}

function sameBuild(a: Stamp, b: Omit<Stamp, "archiveBytes" | "envBytes">): boolean {
  return (
    a.version === b.version &&
    a.captured === b.captured &&
    a.tree.dev === b.tree.dev &&
    a.tree.ino === b.tree.ino &&
    a.kernel === b.kernel &&
    a.decompress === b.decompress &&
    a.chunkBytes === b.chunkBytes &&
    a.env === b.env &&
    a.archive === b.archive
  );
}

/** An edit of the tree on this management node since the files were built (ctime newer than the stamp). */
async function changedSince(tree: string, stamp: string): Promise<boolean> {
  const p = Bun.spawn(["find", tree, "-cnewer", stamp, "-print", "-quit"], { stdout: "pipe", stderr: "ignore" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  return out.trim() !== "";
}

function readStamp(f: string): Stamp | null {
  try {
    return JSON.parse(readFileSync(f, "utf8")) as Stamp;
  } catch {
    return null;
  }
}

function readdirQuiet(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}
