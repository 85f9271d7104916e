import { chmodSync, closeSync, openSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { InterruptedError, IOFailure } from "../errors";
import type { Logger } from "../log";
import { type ExcludeRules, findArgs } from "./exlist";

/**
 * rootimg-statelite.gz for osimage.rootfstype=ramdisk: liteimg's
 *   find . [exlist] | cpio -H newc -o | pigz|gzip -c - > ../rootimg-statelite.gz
 * with no -xdev and without packimage's statelite excludes (.statelite/.default are the point).
 *
 * This is a small stand-in built on GNU find/cpio/gzip children, kept behind one function so it
 * can be swapped for core/pack's in-process cpio writer and parallel compressor once that
 * lands. Differences from xCAT, all invisible after extraction: names are passed NUL-separated
 * (a file name with a newline does not break the list), an entry matched by both the exclude
 * and the include pass is packed once, and the archive is written to a temporary name and
 * renamed, so a node booting meanwhile never downloads half an image (xCAT issue #1940).
 */
export interface PackResult {
  file: string;
  compress: "pigz" | "gzip";
  bytes: number;
}

export function pickCompressor(): "pigz" | "gzip" {
  return Bun.which("pigz") ? "pigz" : "gzip";
}

export async function packStateliteRamdisk(rootimg: string, out: string, rules: ExcludeRules, log: Logger, signal?: AbortSignal): Promise<PackResult> {
  const compress = pickCompressor();
  log.info(`compress method: ${compress}`);
  const { exclude, include } = findArgs(rules);
  const listed = await run(["find", ".", ...exclude, "-print0"], rootimg, signal);
  let names = listed;
  if (include) {
    const seen = new Set(listed.toString("latin1").split("\0"));
    const extra = (await run(["find", ".", ...include, "-print0"], rootimg, signal))
      .toString("latin1")
      .split("\0")
      .filter((n) => n !== "" && !seen.has(n));
    if (extra.length) names = Buffer.concat([listed, Buffer.from(`${extra.join("\0")}\0`, "latin1")]);
  }
  const tmpList = join(dirname(out), `.xcimg-packlist-${process.pid}`);
  const tmpOut = `${out}.xcimg-${process.pid}`;
  writeFileSync(tmpList, names, { mode: 0o600 });
  try {
    const listFd = openSync(tmpList, "r");
    const outFd = openSync(tmpOut, "w", 0o600);
    try {
      const cpio = Bun.spawn(["cpio", "--null", "-H", "newc", "-o", "--quiet"], { cwd: rootimg, stdin: listFd, stdout: "pipe", stderr: "pipe" });
      const gz = Bun.spawn([compress, "-c", "-"], { stdin: cpio.stdout, stdout: outFd, stderr: "pipe" });
      const kill = () => {
        cpio.kill("SIGTERM");
        gz.kill("SIGTERM");
      };
      signal?.addEventListener("abort", kill, { once: true });
      const [cErr, gErr, cCode, gCode] = await Promise.all([text(cpio.stderr), text(gz.stderr), cpio.exited, gz.exited]);
      signal?.removeEventListener("abort", kill);
      if (signal?.aborted) throw new InterruptedError("interrupted while packing; the previous rootimg-statelite.gz is unchanged");
      if (cCode !== 0) throw new IOFailure(`cpio failed while packing ${rootimg}: ${cErr.trim() || `exit ${cCode}`}`);
      if (gCode !== 0) throw new IOFailure(`${compress} failed while packing ${rootimg}: ${gErr.trim() || `exit ${gCode}`}`);
    } finally {
      closeSync(listFd);
      closeSync(outFd);
    }
    chmodSync(tmpOut, 0o644);
    renameSync(tmpOut, out);
  } finally {
    rmSync(tmpList, { force: true });
    rmSync(tmpOut, { force: true });
  }
  return { file: out, compress, bytes: statSync(out).size };
}

async function run(argv: string[], cwd: string, signal?: AbortSignal): Promise<Buffer> {
  const p = Bun.spawn(argv, { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const kill = () => p.kill("SIGTERM");
  signal?.addEventListener("abort", kill, { once: true });
  const [out, err, code] = await Promise.all([new Response(p.stdout).arrayBuffer(), text(p.stderr), p.exited]);
  signal?.removeEventListener("abort", kill);
  if (signal?.aborted) throw new InterruptedError("interrupted while packing; the previous rootimg-statelite.gz is unchanged");
  if (code !== 0) throw new IOFailure(`${argv[0]} failed in ${cwd}: ${err.trim() || `exit ${code}`}`);
  return Buffer.from(out);
}

function text(s: ReadableStream<Uint8Array> | undefined | number | null): Promise<string> {
  return s && typeof s !== "number" ? new Response(s).text() : Promise.resolve("");
}
