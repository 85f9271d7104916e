import { spawn } from "node:child_process";
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, normalize, relative } from "node:path";
import { canonicalArch } from "../arch";
import type { Context } from "../context";
import { DataError, fsError, IOFailure, NotFoundError } from "../errors";
import { isAlive } from "../fs/lock";
import { exchangeDirs } from "../fs/swap";
import { validatePathComponent } from "../names";
import { abortReason } from "../remote/ssh";
import { detectMedia, type MediaInfo } from "./detect";

/**
 * copycds' copy step: an ISO file (or a CD/DVD block device) into <installdir>/<os>/<arch>.
 * It is read with bsdtar (libarchive's ISO 9660 + Rock Ridge + Joliet reader), not a loop
 * mount: no CAP_SYS_ADMIN or loop device needed, nothing mounted that a crash could leave
 * behind, and bsdtar refuses absolute and `..` names and writing through symlinks by itself.
 * The order keeps installdir as it was on any failure:
 *   1. the file must carry an ISO 9660 primary volume descriptor ("CD001" at sector 16);
 *   2. it is unpacked into <installdir>/.xcimg-media.<pid>/ (0700: not served half-done);
 *   3. the tree is vetted: no device nodes, FIFOs or sockets, no symlink leading out of it
 *      (nginx serves installdir to every node);
 *   4. the distribution is read from it (detect.ts) or taken from -n/-a;
 *   5. one rename puts it at <installdir>/<os>/<arch> — or exchanges it with the tree already
 *      there (renameat2 RENAME_EXCHANGE), which is removed afterwards.
 * SUSE media (media.1/ at the top) go to <os>/<arch>/1, as xCAT's sles.pm copies disc 1.
 */
export interface IsoImport {
  iso: string;
  /** <installdir>/<os>/<arch>: what `image media` defines its images over. */
  dir: string;
  /** Where the disc's files are (dir, or dir/1 for SUSE). */
  placed: string;
  replaced: boolean;
  files: number;
  info: MediaInfo | null;
}

const SECTOR = 2048;

/** A regular file or a block device (copycds takes both). */
export function isMediaFile(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isFile() || st.isBlockDevice();
  } catch {
    return false;
  }
}

export async function importIso(ctx: Context, iso: string, want: { osvers?: string; arch?: string }): Promise<IsoImport> {
  checkIso9660(iso);
  const installdir = ctx.config.installdir;
  clearStale(installdir, ctx);
  const staging = join(installdir, `.xcimg-media.${process.pid}`);
  const aside = join(installdir, `.xcimg-media-old.${process.pid}`);
  try {
    mkdirSync(staging, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fsError(e, `cannot create ${staging}`);
  }
  try {
    ctx.log.info(`Reading ${iso}...`);
    await unpack(iso, staging, ctx.signal);
    const files = vetTree(staging, iso);
    if (files === 0) throw new DataError(`${iso} holds no files`, { hint: "is it the installation DVD? an empty or blank ISO cannot be imported" });
    const info = want.osvers && want.arch ? null : detectIn(staging, iso);
    if (info && want.arch && (canonicalArch(want.arch) ?? want.arch) !== info.arch)
      throw new DataError(`Requested distribution architecture ${want.arch}, but media is ${info.arch}`);
    const osvers = validatePathComponent("osvers", want.osvers ?? (info?.osvers as string));
    const arch = validatePathComponent("osarch", want.arch ? (canonicalArch(want.arch) ?? want.arch) : (info?.arch as string));
    const dir = join(installdir, osvers, arch);
    const placed = existsSync(join(staging, "media.1")) ? join(dir, "1") : dir;
    chmodSync(staging, 0o755);
    mkdirSync(dirname(placed), { recursive: true, mode: 0o755 });
    const replaced = existsSync(placed);
    if (replaced) await exchangeDirs(placed, staging, aside);
    else renameSync(staging, placed);
    ctx.log.info(`Copied ${files} files from ${iso} to ${placed}${replaced ? " (the previous copy replaced)" : ""}.`);
    return { iso, dir, placed, replaced, files, info };
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(aside, { recursive: true, force: true });
  }
}

/** ECMA-119: the volume descriptor set starts at sector 16; each one begins type(1) "CD001". */
function checkIso9660(iso: string): void {
  if (!existsSync(iso)) throw new NotFoundError(`${iso} does not exist`, { hint: "give the ISO file, a CD/DVD device, or a media directory under installdir" });
  const pvd = Buffer.alloc(SECTOR);
  let n = 0;
  let size = 0;
  try {
    const fd = openSync(iso, "r");
    try {
      n = readSync(fd, pvd, 0, SECTOR, 16 * SECTOR);
      size = statSync(iso).isFile() ? statSync(iso).size : 0;
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw fsError(e, `cannot read ${iso}`);
  }
  if (n < 6 || pvd.toString("latin1", 1, 6) !== "CD001") {
    throw new DataError(`${iso} is not an ISO 9660 image: it has no CD001 volume descriptor at sector 16`, {
      hint: "give the distribution's installation ISO (or a directory the media was copied to, under installdir)",
    });
  }
  // the primary volume descriptor (type 1) says how long the volume is: space size (LE uint32
  // at 80) × logical block size (LE uint16 at 128). A shorter file is a partial download.
  const declared = pvd[0] === 1 && n === SECTOR ? pvd.readUInt32LE(80) * pvd.readUInt16LE(128) : 0;
  if (size && declared && size < declared) {
    throw new DataError(`${iso} is truncated: ${size} bytes of the ${declared} its volume descriptor declares`, {
      hint: "the download or copy is incomplete: fetch the ISO again and compare its checksum (sha256sum)",
    });
  }
}

function unpack(iso: string, dest: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    // --no-same-owner: files belong to root, not to whatever uid the ISO recorded; setuid bits
    // are dropped because -p is not given (libarchive's default without ARCHIVE_EXTRACT_PERM)
    const child = spawn("bsdtar", ["-x", "--no-same-owner", "-f", iso, "-C", dest], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      if (err.length < 4096) err += d.toString("utf8");
    });
    const onAbort = () => child.kill("SIGKILL");
    signal.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e) => {
      signal.removeEventListener("abort", onAbort);
      reject(
        new IOFailure(`cannot run bsdtar to read ${iso}: ${e.message}`, { cause: e, hint: "install libarchive-tools (apt-get install libarchive-tools)" }),
      );
    });
    child.on("close", (code) => {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) return reject(abortReason(signal));
      if (code === 0) return resolve();
      const detail = err.trim().split("\n").slice(-3).join(" | ");
      reject(
        new DataError(`cannot read ${iso} as an ISO 9660 image: ${detail || `bsdtar exited ${code}`}`, {
          hint: "the image is damaged or truncated: compare its checksum with the distribution's (sha256sum), or download it again",
        }),
      );
    });
  });
}

/** Every entry below `root`: files and directories, and symlinks that stay inside it. Returns the number of files. */
function vetTree(root: string, iso: string): number {
  let files = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) files++;
      else if (st.isSymbolicLink()) {
        const target = readlinkSync(p);
        const resolved = normalize(join(dirname(p), target));
        if (isAbsolute(target) || relative(root, resolved).startsWith("..")) {
          throw new DataError(`${iso} has a symlink leading out of the media: /${relative(root, p)} -> ${target}`, {
            hint: "installation media link only within themselves; this image was altered — use the distribution's own ISO",
          });
        }
      } else {
        throw new DataError(`${iso} holds a device node, FIFO or socket (/${relative(root, p)}), which installation media never do`, {
          hint: "use the distribution's own ISO",
        });
      }
    }
  };
  walk(root);
  return files;
}

function detectIn(staging: string, iso: string): MediaInfo {
  try {
    return detectMedia(staging);
  } catch (e) {
    if (e instanceof DataError)
      throw new DataError(e.message.replace(`the media in ${staging}`, iso), {
        hint: "name it yourself with -n <osvers> -a <arch>, e.g. -n rhels9.4 -a x86_64",
      });
    throw e;
  }
}

/** Staging and aside trees a killed import left (their pid is gone). */
function clearStale(installdir: string, ctx: Context): void {
  let names: string[] = [];
  try {
    names = readdirSync(installdir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^\.xcimg-media(?:-old)?\.(\d+)$/.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    ctx.log.info(`removing ${join(installdir, name)}, left by an interrupted image media`);
    rmSync(join(installdir, name), { recursive: true, force: true });
  }
}
