import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./sandbox";
import { freePort, Sshd } from "./sshd";

/**
 * Running "nodes" for updatenode and node status tests: each a busybox root tree (the image the
 * boot tests use, scripts/mkroot-busybox.sh) behind its own real sshd that chroots every
 * session into it (ChrootDirectory), listening on its own loopback address (127.0.0.N) on one
 * shared port. Whatever a test runs over SSH lands in the tree, never on this machine.
 * sshd requires every directory above a chroot to be root-owned and not writable by others, so
 * the trees live under /var/lib, not /tmp. All nodes accept the first server's client key.
 */
export interface FakeNode {
  name: string;
  address: string;
  root: string;
  sshd: Sshd;
}

export interface FakeNodes {
  nodes: FakeNode[];
  port: number;
  clientKey: string;
  /** `<node> <host key>` lines for xcimg's ssh_known_hosts (the keys boot would have given them). */
  knownHosts: string;
  stop(): Promise<void>;
}

export async function fakeNodes(names: string[]): Promise<FakeNodes> {
  const base = mkdtempSync("/var/lib/xcimg-test-nodes-");
  const golden = join(base, "golden");
  execFileSync("bash", [join(ROOT, "scripts/mkroot-busybox.sh"), golden], { stdio: ["ignore", "ignore", "pipe"] });
  rmSync(join(golden, "boot"), { recursive: true, force: true });
  rmSync(join(golden, "lib/modules"), { recursive: true, force: true });
  // sshd runs root's login shell (/bin/bash here) inside the chroot
  writeFileSync(join(golden, "bin/bash"), '#!/bin/sh\nexec /bin/sh "$@"\n', { mode: 0o755 });
  execFileSync("mknod", ["-m", "666", join(golden, "dev/null"), "c", "1", "3"]);
  const port = await freePort();
  const nodes: FakeNode[] = [];
  let clientKey = "";
  let first: Sshd | null = null;
  try {
    for (const [i, name] of names.entries()) {
      const root = join(base, name);
      execFileSync("cp", ["-a", golden, root]);
      const address = `127.0.0.${i + 2}`;
      const sshd = await Sshd.start({ address, port, config: [`ChrootDirectory ${root}`] });
      if (!first) {
        first = sshd;
        clientKey = sshd.clientKey;
      } else copyFileSync(join(first.dir, "authorized_keys"), join(sshd.dir, "authorized_keys"));
      nodes.push({ name, address, root, sshd });
    }
  } catch (e) {
    for (const n of nodes) await n.sshd.stop();
    rmSync(base, { recursive: true, force: true });
    throw e;
  }
  // the client key must outlive the first server's directory until the end
  const keyDir = join(base, "client");
  mkdirSync(keyDir);
  copyFileSync(clientKey, join(keyDir, "id_ed25519"));
  copyFileSync(`${clientKey}.pub`, join(keyDir, "id_ed25519.pub"));
  return {
    nodes,
    port,
    clientKey: join(keyDir, "id_ed25519"),
    knownHosts: `${nodes.map((n) => `${n.name} ${n.sshd.hostKeyPub.split(" ").slice(0, 2).join(" ")}`).join("\n")}\n`,
    async stop() {
      for (const n of nodes) await n.sshd.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
