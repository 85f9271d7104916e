import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CaptureEnv, sh } from "./capture-env";
import { Sshd } from "./sshd";

/**
 * A golden node whose `tar` we choose: a second sshd whose sessions get PATH=<fakebin>, so the
 * capture's probe finds <fakebin>/tar and the capture runs it. `real` is GNU tar itself;
 * `crafted` runs GNU tar for real (so the node's snapshot file is written as usual) but sends
 * <fakebin>/crafted.tar instead of its archive: the stream a hostile node would send.
 */
export interface HostileNode {
  sshd: Sshd;
  fakebin: string;
  /** A config file for the sandbox that dials this sshd. */
  config: string;
  tar(kind: "real" | "crafted" | { script: string }): void;
  /** Write the archive `crafted` sends (python3 tarfile, see craftArchive). */
  craft(members: CraftedMember[]): void;
  stop(): Promise<void>;
}

export type CraftedMember =
  | { name: string; type: "file"; data: string }
  | { name: string; type: "dir"; dumpdir?: string }
  | { name: string; type: "symlink" | "hardlink"; target: string };

export async function hostileNode(env: CaptureEnv, tools: string[] = []): Promise<HostileNode> {
  const fakebin = join(env.sb.dir, "fakebin");
  mkdirSync(fakebin, { recursive: true });
  for (const tool of ["uname", "od", "cat", "head", "mktemp", "find", "ls", "rm", "findmnt", ...tools]) symlinkSync(`/usr/bin/${tool}`, join(fakebin, tool));
  const sshd = await Sshd.start({ config: [`SetEnv PATH=${fakebin}`] });
  writeFileSync(join(sshd.dir, "authorized_keys"), readFileSync(`${env.sshd.clientKey}.pub`));
  const config = join(env.sb.dir, "hostile.toml");
  writeFileSync(
    config,
    `${readFileSync(env.sb.config, "utf8").replace(/\[ssh\][\s\S]*$/, "")}[ssh]\nidentity = "${env.sshd.clientKey}"\nknown_hosts = "${sshd.knownHosts}"\nport = ${sshd.port}\n`,
  );
  const node: HostileNode = {
    sshd,
    fakebin,
    config,
    tar(kind) {
      rmSync(join(fakebin, "tar"), { force: true });
      if (kind === "real") return symlinkSync("/usr/bin/tar", join(fakebin, "tar"));
      const create = kind === "crafted" ? `/usr/bin/tar "$@" >/dev/null; rc=$?; cat '${join(fakebin, "crafted.tar")}'; exit $rc` : kind.script;
      writeFileSync(join(fakebin, "tar"), `#!/bin/sh\ncase " $* " in *" --create "*) ${create} ;; *) exec /usr/bin/tar "$@";; esac\n`, { mode: 0o755 });
    },
    craft(members) {
      craftArchive(join(fakebin, "crafted.tar"), members);
    },
    async stop() {
      await sshd.stop();
    },
  };
  node.tar("real");
  return node;
}

/**
 * A pax archive with exactly these members, as GNU tar would write them (a directory's
 * GNU.dumpdir is its incremental listing: "Y<name>\0..." and a final "\0"; "\0" alone lists
 * nothing, so the extracting tar deletes everything in that directory).
 */
export function craftArchive(file: string, members: CraftedMember[]): void {
  const py = `
import io, json, sys, tarfile
members = json.loads(sys.argv[2])
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as tf:
    for m in members:
        ti = tarfile.TarInfo(m["name"])
        ti.mtime = 1700000000
        ti.mode = 0o755 if m["type"] == "dir" else 0o644
        data = None
        if m["type"] == "file":
            data = m["data"].encode()
            ti.size = len(data)
        elif m["type"] == "dir":
            ti.type = tarfile.DIRTYPE
            if "dumpdir" in m:
                ti.pax_headers = {"GNU.dumpdir": m["dumpdir"]}
        elif m["type"] == "symlink":
            ti.type = tarfile.SYMTYPE
            ti.linkname = m["target"]
        else:
            ti.type = tarfile.LNKTYPE
            ti.linkname = m["target"]
        tf.addfile(ti, io.BytesIO(data) if data is not None else None)
`;
  sh(`python3 -c '${py.replace(/'/g, `'"'"'`)}' '${file}' '${JSON.stringify(members).replace(/'/g, `'"'"'`)}'`);
}
