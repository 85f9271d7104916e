import { basename } from "node:path";
import { IOFailure } from "../errors";
import { shq } from "../remote/shell";
import type { RemoteSession } from "../remote/ssh";
import type { SyncTarget } from "./apply";

/**
 * A running node as a sync target (`updatenode -F`), over one SSH session: one command per
 * operation with the file's bytes on stdin, written to a temporary name and renamed into place
 * (a reader never sees half a file); hashes are read first so unchanged files are not sent.
 * The node is root's own: its paths are used as the node resolves them.
 */
export class NodeTarget implements SyncTarget {
  constructor(private readonly s: RemoteSession) {}

  private async sh(cmd: string, stdin?: Buffer, what = cmd): Promise<Buffer> {
    const r = await this.s.run(cmd, { stdin });
    if (r.code !== 0) throw new IOFailure(`${what} failed on ${this.s.where}: ${r.stderr.trim().split("\n").slice(-2).join(" ") || `exit ${r.code}`}`);
    return r.stdout;
  }

  async hashes(paths: string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>(paths.map((p) => [p, null]));
    if (!paths.length) return out;
    const cmd = `for f in ${paths.map(shq).join(" ")}; do if [ -f "$f" ] && [ ! -L "$f" ]; then printf '%s %s\\n' "$(sha256sum <"$f" | cut -c1-64)" "$f"; fi; done`;
    for (const line of (await this.sh(cmd, undefined, "reading checksums")).toString("utf8").split("\n")) {
      const m = /^([0-9a-f]{64}) (.*)$/.exec(line);
      if (m && out.has(m[2] as string)) out.set(m[2] as string, m[1] as string);
    }
    return out;
  }

  async read(path: string): Promise<Buffer | null> {
    const r = await this.s.run(`if [ -f ${shq(path)} ]; then cat ${shq(path)}; else exit 3; fi`);
    if (r.code === 3) return null;
    if (r.code !== 0) throw new IOFailure(`cannot read ${path} on ${this.s.where}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  async write(path: string, data: Buffer, mode: number): Promise<void> {
    const p = shq(path);
    const tmp = shq(`${path}.xcimg-sync`);
    await this.sh(`set -e; mkdir -p "$(dirname ${p})"; cat >${tmp}; chmod ${mode.toString(8)} ${tmp}; mv -f ${tmp} ${p}`, data, `writing ${path}`);
  }

  async mkdir(path: string, mode: number): Promise<void> {
    await this.sh(`[ -d ${shq(path)} ] || { mkdir -p ${shq(path)} && chmod ${mode.toString(8)} ${shq(path)}; }`, undefined, `creating ${path}`);
  }

  async symlink(path: string, target: string): Promise<void> {
    await this.sh(`mkdir -p "$(dirname ${shq(path)})" && ln -sfn ${shq(target)} ${shq(path)}`, undefined, `linking ${path}`);
  }

  async run(script: string, data: Buffer): Promise<{ code: number; output: string }> {
    const at = `/var/lib/xcimg/sync/${basename(script)}`;
    await this.write(at, data, 0o755);
    const r = await this.s.run(`${shq(at)} </dev/null 2>&1`);
    return { code: r.code ?? 1, output: r.stdout.toString("utf8").trim().split("\n").slice(-5).join("\n") };
  }
}
