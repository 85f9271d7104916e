import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A real NFS server for statelite boot tests, started without kernel modules or anything
 * system-wide: Debian's nfs-ganesha (user space, FSAL_VFS) on 127.0.0.1:<free port>, NFSv4
 * only — NFSv3 would need rpcbind on port 111, shared by the whole machine — and reached
 * from qemu guests through user-mode networking as 10.0.2.2:<port>. Exports are read-write,
 * no root squash (statelite nodes write their persistent files as root).
 */
export const GANESHA = "/usr/bin/ganesha.nfsd";
export const haveGanesha = () => existsSync(GANESHA) && existsSync("/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so");

export interface NfsServer {
  port: number;
  /** Mount options a node needs for this server (version and port). */
  options: string;
  log(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

async function listening(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      const sock = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      sock.end();
      return true;
    } catch {
      await Bun.sleep(200);
    }
  }
  return false;
}

export async function startNfsServer(workdir: string, exports: string[]): Promise<NfsServer> {
  mkdirSync(join(workdir, "recovery"), { recursive: true });
  const port = await freePort();
  const conf = join(workdir, "ganesha.conf");
  const logFile = join(workdir, "ganesha.log");
  const blocks = exports.map(
    (path, i) => `EXPORT {
  Export_Id = ${i + 1}; Path = "${path}"; Pseudo = "${path}";
  Access_Type = RW; Squash = No_Root_Squash; Protocols = 4; Transports = TCP; SecType = sys;
  FSAL { Name = VFS; }
}`,
  );
  writeFileSync(
    conf,
    `NFS_CORE_PARAM {
  NFS_Port = ${port}; Bind_addr = 127.0.0.1; Protocols = 4;
  Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false;
  Plugins_Dir = "/usr/lib/x86_64-linux-gnu/ganesha";
}
NFSV4 { Graceless = true; RecoveryRoot = "${join(workdir, "recovery")}"; }
NFS_KRB5 { Active_krb5 = false; }
LOG { Default_Log_Level = EVENT; }
${blocks.join("\n")}
`,
  );
  const proc = Bun.spawn([GANESHA, "-F", "-f", conf, "-L", logFile, "-p", join(workdir, "ganesha.pid"), "-N", "NIV_EVENT"], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  if (!(await listening(port, 15000))) {
    proc.kill();
    await proc.exited;
    throw new Error(`nfs-ganesha did not listen on 127.0.0.1:${port}:\n${log().slice(-2000)}`);
  }
  return {
    port,
    options: `vers=4.1,port=${port}`,
    log,
    async stop() {
      proc.kill();
      await proc.exited;
    },
  };
}
