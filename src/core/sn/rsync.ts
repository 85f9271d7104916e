import { CantCreateError, IOFailure, RemoteError } from "../errors";
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
  dryRun?: boolean;
  delete?: boolean;
  excludes?: string[];
  signal?: AbortSignal;
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
  if (job.dryRun) argv.push("--dry-run");
  for (const x of job.excludes ?? []) argv.push(`--exclude=${x}`);
  argv.push(job.source, job.dest);
  // SIGTERM on abort: rsync then removes its own temporary files; --stats output can be long
  const r = await runTool(argv, { signal: job.signal, maxStdout: 8 << 20, killSignal: "SIGTERM" });
  if (r.code !== 0 && r.code !== 24) {
    const tail = r.stderr.trim().split("\n").slice(-3).join(" ");
    // 255: ssh itself failed (host down, key refused); 5/10/12/35: connection and protocol
    if (r.code === 255 || r.code === 10 || r.code === 12 || r.code === 35)
      throw new RemoteError(`rsync from ${job.source} lost the management node (exit ${r.code}): ${tail}`);
    throw new IOFailure(`rsync from ${job.source} failed (exit ${r.code}): ${tail}`);
  }
  return parseStats(r.stdout);
}

function parseStats(out: string): RsyncStats {
  const num = (re: RegExp) => {
    const m = re.exec(out);
    return m ? Number((m[1] as string).replace(/[,.]/g, "")) : 0;
  };
  const changes = out.split("\n").filter((l) => /^[<>ch.*][fdLDS+.]/.test(l) && !/^\.d\.\.t\.{6} /.test(l) && !/^\.d {9}/.test(l));
  return {
    received: num(/^Total bytes received: ([\d,.]+)/m),
    filesTransferred: num(/^Number of regular files transferred: ([\d,.]+)/m),
    transferredSize: num(/^Total transferred file size: ([\d,.]+)/m),
    changes: changes.filter((l) => !/^Number|^Total|^File list|^Literal|^Matched/.test(l)),
  };
}
