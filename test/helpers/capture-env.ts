import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
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
  const sb = new Sandbox(name, ["[ssh]", `identity = "${sshd.clientKey}"`, `known_hosts = "${opts.knownHosts ?? sshd.knownHosts}"`, `port = ${sshd.port}`].join("\n"));
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

/** Staging or aside directories a capture may have left next to `tree`. */
export function leftovers(tree: string): string[] {
  const parent = join(tree, "..");
  if (!existsSync(parent)) return [];
  return readdirSync(parent).filter((n) => n.startsWith(".xcimg-staging") || n.startsWith(".xcimg-old"));
}

export function sh(cmd: string, cwd = "/"): string {
  const r = Bun.spawnSync(["/bin/sh", "-c", cmd], { cwd, stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`'${cmd}' failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
}
