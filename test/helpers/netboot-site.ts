import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { serveStatic, type StaticServer } from "./http-serve";
import { defineNetbootImage } from "./images";
import { ROOT, Sandbox } from "./sandbox";

/**
 * A management node in a box for boot tests: a sandbox site whose installdir and tftpdir a
 * static web server on 127.0.0.1 serves the way docs/boot.md tells nginx to (qemu guests
 * reach it as 10.0.2.2), and a busybox golden root (scripts/mkroot-busybox.sh, with the
 * Debian cloud kernel and its virtio modules) placed where capture leaves a tree.
 */
export interface NetbootSite {
  sb: Sandbox;
  server: StaticServer;
  image: string;
  dir: string;
  cleanup(): void;
}

export async function netbootSite(name: string, image = "bb-x86_64-netboot-compute"): Promise<NetbootSite> {
  if (!existsSync(join(ROOT, ".cache/fixtures/vmlinuz"))) throw new Error("no test kernel: run scripts/fixtures.sh (scripts/test.sh does)");
  const sb = new Sandbox(name);
  const server = serveStatic({ "/tftpboot": sb.tftpdir, "/install": sb.installdir });
  appendFileSync(sb.config, `[http]\nport = ${server.port}\n`);
  const { dir, rootimg } = await defineNetbootImage(sb, image, [], "bb1");
  execFileSync("bash", [join(ROOT, "scripts/mkroot-busybox.sh"), rootimg], { stdio: ["ignore", "ignore", "pipe"] });
  return {
    sb,
    server,
    image,
    dir,
    cleanup() {
      server.stop();
      sb.cleanup();
    },
  };
}
