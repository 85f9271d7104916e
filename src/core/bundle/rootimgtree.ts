import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { FirstNewcEntryPatch } from "../archive/cpio";
import { ParallelGzip } from "../compress/gzip";
import { DataError, InterruptedError, IOFailure } from "../errors";
import { nodeTop } from "../image/tree-barrier";
import type { ExpansionBudget } from "./expansion";
import type { Expected } from "./staged";
import { printableName } from "./tar";

/**
 * rootimgtree.gz, the statelite root tree a bundle carries: exactly what xCAT's imgexport
 * makes with `cd <rootimgdir>; find rootimg | cpio -H newc -o | gzip` (GNU cpio as a child,
 * names NUL-separated so any name survives), gzip'd on every core.
 */
export async function writeRootimgtree(rootimgdir: string, out: string, signal: AbortSignal): Promise<number> {
  const find = Bun.spawn(["find", "rootimg", "-print0"], { cwd: rootimgdir, stdout: "pipe", stderr: "pipe" });
  const cpio = Bun.spawn(["cpio", "--null", "-H", "newc", "-o", "--quiet"], { cwd: rootimgdir, stdin: find.stdout, stdout: "pipe", stderr: "pipe" });
  const kill = () => {
    find.kill();
    cpio.kill();
  };
  signal.addEventListener("abort", kill, { once: true });
  const fh = await open(out, "wx", 0o644);
  let pos = 0;
  const gz = new ParallelGzip(async (c) => {
    await fh.write(c, 0, c.length, pos);
    pos += c.length;
  });
  try {
    // the tree's top is the MN's 0700 barrier; the bundle carries the node's / (image/tree-barrier.ts)
    const top = new FirstNewcEntryPatch(nodeTop(`${rootimgdir}/rootimg`));
    for await (const chunk of cpio.stdout as unknown as AsyncIterable<Uint8Array>) {
      const out = top.push(chunk);
      if (out.length) await gz.write(out);
    }
    const rest = top.end();
    if (rest.length) await gz.write(rest);
    await gz.end();
    const [fc, cc] = [await find.exited, await cpio.exited];
    if (signal.aborted) throw new InterruptedError("interrupted while packing the root image");
    if (fc !== 0 || cc !== 0) {
      const err = `${(await new Response(find.stderr).text()).trim()} ${(await new Response(cpio.stderr).text()).trim()}`.trim();
      throw new IOFailure(`packing ${rootimgdir}/rootimg failed: ${err || `find exit ${fc}, cpio exit ${cc}`}`);
    }
    return pos;
  } finally {
    signal.removeEventListener("abort", kill);
    gz.close();
    await fh.close();
  }
}

/** The S_IFMT part of a cpio mode. */
function fileType(mode: number): string {
  switch (mode & 0o170000) {
    case 0o100000:
      return "file";
    case 0o040000:
      return "dir";
    case 0o120000:
      return "symlink";
    case 0o020000:
      return "char";
    case 0o060000:
      return "block";
    case 0o010000:
      return "fifo";
    case 0o140000:
      return "socket";
    default:
      return "unknown";
  }
}

/** A symlink's target is its data; PATH_MAX bounds it. */
const MAX_LINK = 4096;
const HEX8 = /^[0-9a-fA-F]{8}$/;

/**
 * Vet a rootimgtree.gz from a bundle before GNU cpio extracts it: every name must be
 * `rootimg` or below it, without `..`, NUL or absolute paths, each name once, and nothing may
 * be written through a symlink the archive itself creates. (GNU cpio extracts absolute names
 * and follows symlinks it made earlier, so this check is what makes extraction safe.) Header
 * fields must be exactly eight hex digits: a lenient reading here and GNU cpio's own would
 * disagree on where the next entry starts. What it decompresses is counted against `budget`
 * (a decompression bomb stops as soon as it crosses it). Returns what GNU cpio must extract,
 * for verifyExtracted (staged.ts).
 */
export async function vetRootimgtree(
  path: string,
  opts: { under: "rootimg" | null; what: string; budget?: ExpansionBudget },
  signal?: AbortSignal,
): Promise<{ entries: number; bytes: number; expected: Map<string, Expected> }> {
  const what = opts.what;
  const nonDirs = new Map<string, string>();
  const parents = new Set<string>();
  const expected = new Map<string, Expected>();
  let entries = 0;
  let bytes = 0;
  let buf: Buffer = Buffer.alloc(0);
  let skip = 0;
  let link: { name: string; want: number; parts: Buffer[]; got: number } | null = null;
  let done = false;
  const step = () => {
    for (;;) {
      if (done) return;
      if (skip) {
        const n = Math.min(skip, buf.length);
        if (link && link.got < link.want) {
          const take = Math.min(n, link.want - link.got);
          link.parts.push(buf.subarray(0, take));
          link.got += take;
          if (link.got === link.want) {
            const e = expected.get(link.name);
            if (e) e.linkname = Buffer.concat(link.parts).toString("latin1");
            link = null;
          }
        }
        buf = buf.subarray(n);
        skip -= n;
        if (skip) return;
      }
      if (buf.length < 110) return;
      const magic = buf.subarray(0, 6).toString("latin1");
      if (magic !== "070701" && magic !== "070702") throw new DataError(`${what} is not a cpio newc archive (bad header at entry ${entries + 1})`);
      for (let i = 0; i < 13; i++) {
        if (!HEX8.test(buf.subarray(6 + i * 8, 14 + i * 8).toString("latin1"))) throw new DataError(`${what}: corrupt cpio header at entry ${entries + 1}`);
      }
      const field = (i: number) => Number.parseInt(buf.subarray(6 + i * 8, 14 + i * 8).toString("latin1"), 16);
      const mode = field(1);
      const nlink = field(4);
      const filesize = field(6);
      const namesize = field(11);
      if (!(namesize > 0 && namesize < 65536)) throw new DataError(`${what}: corrupt cpio header`);
      const nameEnd = 110 + namesize;
      const dataStart = nameEnd + ((4 - (nameEnd % 4)) % 4);
      if (buf.length < dataStart) return;
      if (buf[nameEnd - 1] !== 0) throw new DataError(`${what}: corrupt cpio header (name not NUL-terminated) at entry ${entries + 1}`);
      const name = buf.subarray(110, nameEnd - 1).toString("latin1");
      buf = buf.subarray(dataStart);
      skip = filesize + ((4 - (filesize % 4)) % 4);
      if (name === "TRAILER!!!") {
        done = true;
        return;
      }
      entries++;
      bytes += filesize;
      const shown = printableName(name);
      // GNU cpio stops a name at its first NUL; the check must see the same name
      if (name.includes("\0"))
        throw new DataError(`${what}: entry '${shown}' has a NUL byte in its name`, { hint: "GNU cpio would read a different name than was checked" });
      const parts = name.split("/");
      if (name.startsWith("/") || parts.includes(".."))
        throw new DataError(`${what}: entry '${shown}' has an absolute or '..' path`, { hint: "extracting it would write outside the image" });
      if (opts.under && parts[0] !== opts.under)
        throw new DataError(`${what}: entry '${shown}' is not below ${opts.under}/`, {
          hint: "a statelite tree holds rootimg and what is below it, nothing else",
        });
      const norm = parts.filter((p) => p !== "." && p !== "").join("/");
      const type = fileType(mode);
      if (type === "unknown") throw new DataError(`${what}: entry '${shown}' has an unknown file type`);
      if (expected.has(norm)) throw new DataError(`${what}: entry '${shown}' appears twice`, { hint: "a later copy could replace what was checked" });
      if (norm === "" && type !== "dir") throw new DataError(`${what}: its top entry '${shown}' is not a directory`);
      if (type !== "file" && type !== "symlink" && filesize !== 0) throw new DataError(`${what}: ${type} entry '${shown}' carries data`);
      if (type === "symlink") {
        if (filesize === 0 || filesize > MAX_LINK) throw new DataError(`${what}: symlink entry '${shown}' has a target of ${filesize} bytes`);
        link = { name: norm, want: filesize, parts: [], got: 0 };
      }
      const segs = norm.split("/");
      for (let i = 1; i < segs.length; i++) {
        const a = segs.slice(0, i).join("/");
        const t = nonDirs.get(a);
        if (t)
          throw new DataError(`${what}: entry '${shown}' lies below '${printableName(a)}', which is a ${t}`, {
            hint: "extracting it would write through a link",
          });
        parents.add(a);
      }
      if (type !== "dir") {
        if (parents.has(norm)) throw new DataError(`${what}: entry '${shown}' is a ${type} but other entries lie below it`);
        nonDirs.set(norm, type);
      }
      // a hard-linked file's data comes with the last of its names, so only a lone one has a size to check
      expected.set(norm, { type: type as Expected["type"], size: type === "file" && nlink <= 1 ? filesize : undefined });
    }
  };
  await new Promise<void>((resolve, reject) => {
    const input = createReadStream(path, { highWaterMark: 1 << 20 });
    const gunzip = createGunzip({ chunkSize: 1 << 20 });
    const stop = (e: unknown) => {
      input.destroy();
      gunzip.destroy();
      reject(e);
    };
    const onAbort = () => stop(signal?.reason ?? new InterruptedError("interrupted"));
    signal?.addEventListener("abort", onAbort, { once: true });
    gunzip.on("error", (e) => stop(new DataError(`${what} is corrupt or truncated: ${e.message}`)));
    input.on("error", (e) => stop(e));
    gunzip.on("data", (c: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, c]) : c;
      try {
        opts.budget?.add(c.length);
        step();
      } catch (e) {
        stop(e);
      }
    });
    gunzip.on("end", () => {
      signal?.removeEventListener("abort", onAbort);
      if (!done) reject(new DataError(`${what} is truncated (no cpio trailer)`));
      else resolve();
    });
    input.pipe(gunzip);
  });
  return { entries, bytes, expected };
}

/** Extract a vetted cpio.gz into `dir` (rootimgtree.gz: dir then holds rootimg/), as xCAT's `zcat | cpio -idum`. */
export async function extractCpioGz(path: string, dir: string, signal: AbortSignal): Promise<void> {
  const gunzip = Bun.spawn(["gzip", "-dc", path], { stdout: "pipe", stderr: "pipe" });
  const cpio = Bun.spawn(["cpio", "-idum", "--no-absolute-filenames", "--quiet"], { cwd: dir, stdin: gunzip.stdout, stdout: "ignore", stderr: "pipe" });
  const kill = () => {
    gunzip.kill();
    cpio.kill();
  };
  signal.addEventListener("abort", kill, { once: true });
  try {
    const [gc, cc] = [await gunzip.exited, await cpio.exited];
    if (signal.aborted) throw new InterruptedError("interrupted while extracting rootimgtree.gz");
    if (gc !== 0 || cc !== 0) throw new IOFailure(`extracting rootimgtree.gz failed: ${(await new Response(cpio.stderr).text()).trim() || `cpio exit ${cc}`}`);
  } finally {
    signal.removeEventListener("abort", kill);
  }
}
