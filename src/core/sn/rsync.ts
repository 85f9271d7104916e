import { CantCreateError, InterruptedError, IOFailure, RemoteError } from "../errors";
import { runTool } from "../proc/run-tool";
import { shq } from "../remote/shell";

/**
 * rsync over SSH from the management node: the engine for trees and archives alike (issue #18
 * asks to measure and choose; docs/service-nodes.md has the numbers). It sends only files whose
 * size or time changed, keeps owners, modes, hard links, ACLs and xattrs (-aHAX, numeric ids:
 * the SN may not have the image's users), and with --link-dest a new generation of an image
 * shares the unchanged files of the served one instead of copying them.
 */
export interface RsyncStats {
  /** Bytes that came over the wire (rsync's "Total bytes received"). */
  received: number;
  filesTransferred: number;
  /** Sum of the sizes of the files that were (or would be) transferred. */
  transferredSize: number;
  /** --itemize-changes lines: what changed. */
  changes: string[];
}

export interface RsyncJob {
  ssh: string[];
  /** host:/abs/path[/] on the MN. */
  source: string;
  dest: string;
  linkDest?: string;
  /**
   * Absolute; outside dest and anything served. A transfer cut by a signal or a lost connection
   * leaves the file it was receiving there, and the next run with the same dir resumes inside it
   * (core/sn/partial.ts). Its parent must exist.
   */
  partialDir?: string;
  dryRun?: boolean;
  delete?: boolean;
  excludes?: string[];
  signal?: AbortSignal;
  /** Whole-transfer progress (rsync --info=progress2) as it changes. */
  onProgress?: (p: RsyncProgress) => void;
}

export interface RsyncProgress {
  /** Bytes of file data handled so far (sent, or matched by --link-dest and checksums). */
  bytes: number;
  percent: number;
  /** rsync's own rate, e.g. "112.40MB/s". */
  rate: string;
}

export function remotePath(host: string, path: string): string {
  return `${host.includes(":") ? `[${host}]` : host}:${path}`;
}

export function requireRsync(): void {
  if (!Bun.which("rsync"))
    throw new CantCreateError("rsync is not installed on this service node: sn sync moves files with it", { hint: "install the rsync package" });
  if (!Bun.which("ssh"))
    throw new CantCreateError("the OpenSSH client (ssh) is not installed on this service node: rsync needs it", { hint: "install openssh-client" });
}

export async function rsyncPull(job: RsyncJob): Promise<RsyncStats> {
  const argv = ["rsync", "-aHAX", "--numeric-ids", "--stats", "--itemize-changes", "-e", job.ssh.map(shq).join(" ")];
  if (job.delete) argv.push("--delete");
  if (job.linkDest) argv.push(`--link-dest=${job.linkDest}`);
  if (job.partialDir && !job.dryRun) argv.push(`--partial-dir=${job.partialDir}`);
  if (job.dryRun) argv.push("--dry-run");
  if (job.onProgress) argv.push("--info=progress2");
  for (const x of job.excludes ?? []) argv.push(`--exclude=${x}`);
  argv.push(job.source, job.dest);
  // SIGTERM on abort: rsync then moves the file it was receiving to partialDir (or removes its
  // temporary file without one); SIGKILL would leave nothing to resume. --stats output can be long
  const onStdout = job.onProgress && progressReader(job.onProgress);
  const r = await runTool(argv, { signal: job.signal, maxStdout: 8 << 20, killSignal: "SIGTERM", onStdout });
  if (r.code !== 0 && r.code !== 24) {
    const tail = r.stderr.trim().split("\n").slice(-3).join(" ");
    // 255: ssh itself failed (host down, key refused); 10/12/30/35: connection, protocol, timeout
    if (r.code === 255 || r.code === 10 || r.code === 12 || r.code === 30 || r.code === 35)
      throw new RemoteError(`rsync from ${job.source} lost the management node (exit ${r.code}): ${tail}`);
    // 20: rsync itself got SIGTERM/SIGINT/SIGHUP from outside (a stopped unit, Ctrl-C)
    if (r.code === 20) throw new InterruptedError(`rsync from ${job.source} was stopped by a signal: ${tail}`);
    throw new IOFailure(`rsync from ${job.source} failed (exit ${r.code}): ${tail}`);
  }
  return parseStats(r.stdout);
}

/**
 * progress2 rewrites one line with \r ("  1,234,567  45%  12.30MB/s  0:00:01 (xfr#3, to-chk=2/9)")
 * between the itemized lines; a chunk may end mid-line, so only whole lines are read.
 */
function progressReader(emit: (p: RsyncProgress) => void): (chunk: string) => void {
  let rest = "";
  return (chunk) => {
    const parts = (rest + chunk).split(/[\r\n]/);
    rest = parts.pop() ?? "";
    for (const l of parts) {
      const m = /^\s*([\d,]+)\s+(\d+)%\s+(\S+\/s)/.exec(l);
      if (m) emit({ bytes: Number((m[1] as string).replaceAll(",", "")), percent: Number(m[2]), rate: m[3] as string });
    }
  };
}

function parseStats(out: string): RsyncStats {
  const num = (re: RegExp) => {
    const m = re.exec(out);
    return m ? Number((m[1] as string).replace(/[,.]/g, "")) : 0;
  };
  // progress2's \r-rewritten line sits between itemized lines: split on both
  const changes = out.split(/[\r\n]+/).filter((l) => /^[<>ch.*][fdLDS+.]/.test(l) && !/^\.d\.\.t\.{6} /.test(l) && !/^\.d {9}/.test(l));
  return {
    received: num(/^Total bytes received: ([\d,.]+)/m),
    filesTransferred: num(/^Number of regular files transferred: ([\d,.]+)/m),
    transferredSize: num(/^Total transferred file size: ([\d,.]+)/m),
    changes: changes.filter((l) => !/^Number|^Total|^File list|^Literal|^Matched/.test(l)),
  };
}
