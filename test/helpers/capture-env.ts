import { existsSync, readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Sandbox } from "./sandbox";
import { Sshd, type SshdOptions } from "./sshd";

/**
 * A management node (Sandbox) that reaches a "golden node" (a real sshd on 127.0.0.1 whose
 * files are a directory we build) through xcimg's own [ssh] config: the sshd's client key,
 * a known_hosts that trusts it, its port. The node `golden` is defined with ip=127.0.0.1.
 */
export interface CaptureEnv {
  sshd: Sshd;
  sb: Sandbox;
  stop(): Promise<void>;
}

export async function captureEnv(name: string, opts: SshdOptions & { knownHosts?: string } = {}): Promise<CaptureEnv> {
  const sshd = await Sshd.start(opts);
  const sb = new Sandbox(
    name,
    ["[ssh]", `identity = "${sshd.clientKey}"`, `known_hosts = "${opts.knownHosts ?? sshd.knownHosts}"`, `port = ${sshd.port}`].join("\n"),
  );
  const r = await sb.run("node", "set", "golden", "ip=127.0.0.1");
  if (r.code !== 0) throw new Error(r.stderr);
  return {
    sshd,
    sb,
    async stop() {
      await sshd.stop();
      sb.cleanup();
    },
  };
}

/** The capture work area next to a tree (see src/core/capture/tree.ts). */
export function workDir(tree: string): string {
  return join(dirname(tree), `.xcimg-capture.${basename(tree)}`);
}

/** Staging, aside or jail directories and snapshot spools a capture may have left behind. */
export function leftovers(tree: string): string[] {
  const work = workDir(tree);
  if (!existsSync(work)) return [];
  return readdirSync(work).filter((n) => n.startsWith("staging.") || n.startsWith("aside.") || n.startsWith("jail.") || /^snar\.\d+$/.test(n));
}

export function sh(cmd: string, cwd = "/"): string {
  const r = Bun.spawnSync(["/bin/sh", "-c", cmd], { cwd, stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`'${cmd}' failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
}
