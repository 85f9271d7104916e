import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sh } from "./bundle-sites";

/**
 * Real SSH keys made by ssh-keygen for the signing tests, an allowed_signers file trusting
 * alice (ed25519) and bob (RSA) in xcimg's namespace — mallory's key is in no file — and an
 * ssh-agent started on a socket of our own (never the user's).
 */
export interface Keys {
  dir: string;
  alice: string;
  bob: string;
  mallory: string;
  allowedSigners: string;
}

export function makeKeys(dir: string): Keys {
  mkdirSync(dir, { recursive: true });
  const key = (name: string, type: string[]) => {
    const p = join(dir, name);
    rmSync(p, { force: true });
    rmSync(`${p}.pub`, { force: true });
    sh(["ssh-keygen", "-q", ...type, "-N", "", "-C", `${name}@test`, "-f", p]);
    return p;
  };
  const k: Keys = {
    dir,
    alice: key("alice", ["-t", "ed25519"]),
    bob: key("bob", ["-t", "rsa", "-b", "3072"]),
    mallory: key("mallory", ["-t", "ed25519"]),
    allowedSigners: join(dir, "allowed_signers"),
  };
  const pub = (p: string) => readFileSync(`${p}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
  writeFileSync(
    k.allowedSigners,
    `# who may sign xcimg images\nalice@site namespaces="xcimg-image" ${pub(k.alice)}\nbob@site,backup@site namespaces="xcimg-image" ${pub(k.bob)}\n`,
  );
  return k;
}

/** `ssh-keygen -Y verify` of `file` with its `.sig`: exit code and output. */
export function sshKeygenVerify(k: Keys, principal: string, file: string, sig = `${file}.sig`): { code: number; out: string } {
  const p = Bun.spawnSync(["ssh-keygen", "-Y", "verify", "-f", k.allowedSigners, "-I", principal, "-n", "xcimg-image", "-s", sig], {
    stdin: Bun.file(file),
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString() };
}

/** `ssh-keygen -Y sign` of `file` with `key` into `file.sig` (replacing it). */
export function sshKeygenSign(key: string, file: string, namespace = "xcimg-image"): void {
  rmSync(`${file}.sig`, { force: true });
  sh(["ssh-keygen", "-q", "-Y", "sign", "-f", key, "-n", namespace, file]);
}

export interface Agent {
  sock: string;
  stop(): void;
}

/** ssh-agent in the foreground (-D) on our own socket; stopped by its pid. */
export async function startAgent(dir: string, keys: string[]): Promise<Agent> {
  const sock = join(dir, `agent.${process.pid}.sock`);
  rmSync(sock, { force: true });
  const proc = Bun.spawn(["ssh-agent", "-D", "-a", sock], { stdout: "ignore", stderr: "pipe" });
  for (let i = 0; i < 100 && !existsSync(sock); i++) await Bun.sleep(50);
  if (!existsSync(sock)) throw new Error(`ssh-agent did not create ${sock}`);
  for (const k of keys) {
    const p = Bun.spawnSync(["ssh-add", "-q", k], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdout: "pipe", stderr: "pipe" });
    if (p.exitCode !== 0) throw new Error(`ssh-add ${k}: ${p.stderr.toString()}`);
  }
  return {
    sock,
    stop() {
      proc.kill();
      rmSync(sock, { force: true });
    },
  };
}
