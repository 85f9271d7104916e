import { IOFailure, NotFoundError } from "../errors";
import type { ArchiveSink } from "./compress";
import { FirstTarEntryPatch } from "./tar-top";
import type { TreeEntry } from "./walk";

/**
 * `-m tar`: GNU tar does the archiving (node-tar cannot carry a root filesystem: no xattrs,
 * ACLs, devices, raw names — bun.md §0), fed our filtered, ordered list on stdin; its output
 * goes through the same parallel compressor as cpio. File capabilities and SELinux labels
 * survive (xCAT issue #922: non-root ping), files over 4 GiB too.
 */
let cachedOptions: string[] | null = null;

export function tarOptions(): string[] {
  if (cachedOptions) return cachedOptions;
  if (!Bun.which("tar")) throw new NotFoundError("Command tar does not exist, please make sure it is installed.");
  const help = Bun.spawnSync(["tar", "--help"], { stdout: "pipe", stderr: "pipe" }).stdout.toString();
  const opts = ["--numeric-owner", "--sparse"];
  if (help.includes("--xattrs")) opts.push("--xattrs", "--xattrs-include=*");
  if (help.includes("--acls")) opts.push("--acls");
  if (help.includes("--selinux")) opts.push("--selinux");
  cachedOptions = opts;
  return opts;
}

export async function writeTar(root: string, entries: readonly TreeEntry[], sink: ArchiveSink, signal?: AbortSignal): Promise<number> {
  // -C before -T: tar applies it to the names that follow
  const argv = ["tar", ...tarOptions(), "-C", root, "--no-recursion", "--null", "--verbatim-files-from", "-cf", "-", "-T", "-"];
  const proc = Bun.spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const kill = () => proc.kill();
  signal?.addEventListener("abort", kill);
  const feed = (async () => {
    const stdin = proc.stdin;
    const nul = Buffer.from([0]);
    const dot = Buffer.from("./");
    for (const e of entries) {
      const name = e.rel.length === 1 && e.rel[0] === 0x2e ? Buffer.from(".") : Buffer.concat([dot, e.rel]);
      stdin.write(name);
      stdin.write(nul);
    }
    await stdin.end();
  })();
  const stderr = new Response(proc.stderr).text();
  let total = 0;
  // `.` first: its header gets the node's / (walk entries carry it, archive-tree.ts applyTop)
  const first = entries[0];
  const top = first && first.rel.length === 1 && first.rel[0] === 0x2e ? new FirstTarEntryPatch(first) : null;
  try {
    for await (const chunk of proc.stdout) {
      const out = top ? top.push(chunk) : chunk;
      if (out.length === 0) continue;
      await sink.write(out);
      await sink.boundary();
      total += out.length;
    }
    const rest = top?.end();
    if (rest?.length) {
      await sink.write(rest);
      await sink.boundary();
      total += rest.length;
    }
    await feed;
    const code = await proc.exited;
    if (code !== 0) throw new IOFailure(`packimage failed while running:\n ${argv.join(" ")}\n${(await stderr).trim()}`);
    return total;
  } finally {
    signal?.removeEventListener("abort", kill);
  }
}
