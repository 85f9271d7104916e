import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { type StaticServer, serveStatic } from "./http-serve";
import { defineNetbootImage } from "./images";
import { ROOT, Sandbox } from "./sandbox";

/**
 * A management node in a box for boot tests: a sandbox site whose installdir and tftpdir a
 * static web server on 127.0.0.1 serves the way docs/boot.md tells nginx to (qemu guests
 * reach it as 10.0.2.2), its own SSH key pair (ssh.identity), and a golden root placed where
 * capture leaves a tree — busybox with the Debian cloud kernel (scripts/mkroot-busybox.sh). The
 * Debian image boot test uses a real capture of the golden VM instead (test/e2e/capture-vm).
 */
export interface NetbootSite {
  sb: Sandbox;
  server: StaticServer;
  image: string;
  dir: string;
  /** The management node's private key (its .pub is root's authorized_keys on the nodes). */
  mnKey: string;
  cleanup(): void;
}

export async function netbootSite(name: string, opts: { image?: string; osvers?: string; modules?: "net" | "nfs" | "all" } = {}): Promise<NetbootSite> {
  if (!existsSync(join(ROOT, ".cache/fixtures/vmlinuz"))) throw new Error("no test kernel: run scripts/fixtures.sh (scripts/test.sh does)");
  const image = opts.image ?? "bb-x86_64-netboot-compute";
  const sb = new Sandbox(name, '[ssh]\nidentity = "mn_key"');
  const mnKey = join(sb.dir, "mn_key");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "root@mn", "-f", mnKey]);
  const server = serveStatic({ "/tftpboot": sb.tftpdir, "/install": sb.installdir });
  appendFileSync(sb.config, `[http]\nport = ${server.port}\n`);
  const { dir, rootimg } = await defineNetbootImage(sb, image, [], opts.osvers ?? "bb1");
  execFileSync("bash", [join(ROOT, "scripts/mkroot-busybox.sh"), rootimg], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, MODULES: opts.modules ?? "net" },
  });
  return {
    sb,
    server,
    image,
    dir,
    mnKey,
    cleanup() {
      server.stop();
      sb.cleanup();
    },
  };
}
