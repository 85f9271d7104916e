import { createHash, type Hash } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ParallelGzip } from "../compress/gzip";
import { CantCreateError, fsError, InterruptedError, IOFailure } from "../errors";
import { FirstTarEntryPatch } from "../pack/tar-top";
import { CHECKSUM_FILE, formatChecksums } from "./checksums";
import { type TarEntry, TarParser, tarEnd, tarFileMember } from "./tar";
import { normaliseMemberName } from "./vet";

/**
 * Writes a bundle without staging copies of the image: GNU tar children read the files in
 * place (one child per source directory or tree, names renamed with --transform), their
 * output runs through our tar parser — which hashes every member and drops each child's
 * end-of-archive blocks so the pieces concatenate into one archive — then the checksum file
 * is appended and the stream is gzip'd on every core into a temporary file next to the
 * destination, renamed into place only when complete.
 */
export interface TarPart {
  /** Directory the names are relative to. */
  cwd: string;
  names: string[];
  /** GNU tar --transform expression (applied to member and hard link names only). */
  transform?: string;
  recursion: boolean;
  /** A root filesystem tree: pax format with xattrs, ACLs and numeric owners. */
  tree?: boolean;
  /** What the first member (the tree's top) must carry instead of its mode on the MN. */
  top?: { mode: number; uid: number; gid: number };
}

/** A member as written, with the SHA-256 of a file's data (for a signed statement of the bundle). */
export interface WrittenMember {
  name: string;
  entry: TarEntry;
  sha256?: string;
}

/** Files to append after the parts and before the checksum file (the signed manifest and its signature). */
export type FinishHook = (members: readonly WrittenMember[]) => Promise<{ name: string; data: Uint8Array }[]>;

export interface WriteResult {
  path: string;
  bytes: number;
  members: number;
  dataBytes: number;
}

/** Data that is already compressed is stored, not deflated again (see compress/gzip.ts). */
function alreadyCompressed(b: Uint8Array): boolean {
  const at = (i: number, ...bytes: number[]) => bytes.every((v, k) => b[i + k] === v);
  return (
    at(0, 0x1f, 0x8b) || // gzip
    at(0, 0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00) || // xz
    at(0, 0x28, 0xb5, 0x2f, 0xfd) || // zstd
    at(0, 0x42, 0x5a, 0x68) || // bzip2
    at(0, 0x04, 0x22, 0x4d, 0x18) || // lz4
    at(0, 0x68, 0x73, 0x71, 0x73) || // squashfs
    at(0x202, 0x48, 0x64, 0x72, 0x53) // x86 bzImage ("HdrS"): a compressed kernel
  );
}

function tarArgs(part: TarPart): string[] {
  const args = ["-c", "-f", "-"];
  if (!part.recursion) args.push("--no-recursion");
  if (part.transform) args.push(`--transform=flags=rh;${part.transform}`);
  if (part.tree) args.push("--format=posix", "--xattrs", "--xattrs-include=*", "--acls", "--numeric-owner", "--pax-option=delete=atime,delete=ctime");
  else args.push("--format=gnu");
  // positional options (--no-recursion, --transform) must come before the file list
  args.push("--null", "-T", "-");
  return args;
}

export async function writeBundle(
  dest: string,
  parts: readonly TarPart[],
  opts: { imageDir: string; signal: AbortSignal; progress?: (bytes: number) => void; finish?: FinishHook },
): Promise<WriteResult> {
  const tmp = join(dirname(dest), `.${basename(dest)}.xcimg-tmp-${process.pid}`);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(tmp, "wx", 0o644);
  } catch (e) {
    const err = fsError(e, `cannot create ${tmp}`);
    throw new CantCreateError(err.message, { hint: `check that ${dirname(dest)} exists and is writable` });
  }
  let position = 0;
  const gz = new ParallelGzip(async (chunk) => {
    await fh.write(chunk, 0, chunk.length, position);
    position += chunk.length;
  });
  const sums = new Map<string, string>();
  const prefix = `${opts.imageDir}/`;
  let hashing: { name: string; hash: Hash } | null = null;
  let sniff = false;
  let compressed = false;
  let pending: [Uint8Array, boolean][] = [];
  let dataBytes = 0;
  const written: WrittenMember[] = [];
  const closeHash = () => {
    if (hashing) sums.set(hashing.name, hashing.hash.digest("hex"));
    hashing = null;
  };
  const parser = new TarParser({
    entry(e) {
      closeHash();
      sniff = e.type === "file";
      compressed = false;
      const name = normaliseMemberName(e.name);
      if (opts.finish) written.push({ name, entry: { ...e, name } });
      if (e.type === "file" && name.startsWith(prefix)) hashing = { name: name.slice(prefix.length), hash: createHash("sha256") };
    },
    data(c) {
      if (sniff) {
        compressed = alreadyCompressed(c);
        sniff = false;
      }
      hashing?.hash.update(c);
      dataBytes += c.length;
      pending.push([c, compressed]);
    },
    raw(c) {
      pending.push([c, false]);
    },
  });
  const flush = async () => {
    const batch = pending;
    pending = [];
    for (const [c, z] of batch) await gz.write(c, z);
  };
  let ok = false;
  try {
    for (const part of parts) {
      if (opts.signal.aborted) throw new InterruptedError("export interrupted; nothing was written");
      const proc = Bun.spawn(["tar", ...tarArgs(part)], {
        cwd: part.cwd,
        stdin: new Blob([Buffer.from(`${part.names.join("\0")}\0`, "latin1")]),
        stdout: "pipe",
        stderr: "pipe",
      });
      const kill = () => proc.kill();
      opts.signal.addEventListener("abort", kill, { once: true });
      const stderr = new Response(proc.stderr).text();
      const childParser = new TarParser({ entry: () => {}, data: () => {} });
      const top = part.top ? new FirstTarEntryPatch(part.top) : null;
      try {
        for await (const raw of proc.stdout as unknown as AsyncIterable<Uint8Array>) {
          const chunk = top ? top.push(raw) : raw;
          // each child's archive ends with zero blocks: forward only up to its end marker
          if (childParser.ended) continue;
          const before = childParser.bytes;
          childParser.push(chunk);
          const take = childParser.ended ? childParser.bytes - before : chunk.length;
          parser.push(chunk.subarray(0, take));
          await flush();
          opts.progress?.(gz.bytesIn);
        }
      } finally {
        opts.signal.removeEventListener("abort", kill);
      }
      const code = await proc.exited;
      if (opts.signal.aborted) throw new InterruptedError("export interrupted; nothing was written");
      if (code !== 0 || !childParser.ended) {
        throw new IOFailure(`tar failed while reading ${part.cwd}: ${(await stderr).trim() || `exit code ${code}`}`);
      }
    }
    closeHash();
    let appended = 0;
    let appendedMembers = 0;
    if (opts.finish) {
      for (const w of written) if (w.entry.type === "file" && w.name.startsWith(prefix)) w.sha256 = sums.get(w.name.slice(prefix.length));
      for (const f of await opts.finish(written)) {
        const m = tarFileMember(`./${opts.imageDir}/${f.name}`, f.data, Math.floor(Date.now() / 1000));
        sums.set(f.name, createHash("sha256").update(f.data).digest("hex"));
        await gz.write(m);
        appended += m.length;
        appendedMembers++;
      }
    }
    const checksums = formatChecksums(sums);
    const member = tarFileMember(`./${opts.imageDir}/${CHECKSUM_FILE}`, checksums, Math.floor(Date.now() / 1000));
    const tail = tarEnd(parser.bytes + appended + member.length);
    await gz.write(member);
    await gz.write(tail);
    await gz.end();
    await fh.sync();
    await fh.close();
    await rename(tmp, dest);
    ok = true;
    return { path: dest, bytes: position, members: parser.entries + appendedMembers + 1, dataBytes };
  } catch (e) {
    if (e instanceof Error && !(e instanceof IOFailure) && (e as NodeJS.ErrnoException).code) throw fsError(e, `cannot write ${dest}`);
    throw e;
  } finally {
    gz.close();
    if (!ok) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
    }
  }
}
