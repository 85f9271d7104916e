import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeContext } from "../../../src/cli/context";
import { captureNode } from "../../../src/core/capture/capture";
import { readCaptureRecord } from "../../../src/core/capture/record";
import { loadConfig } from "../../../src/core/config/load";
import { openDb } from "../../../src/core/db/open";
import { InterruptedError, XcimgError } from "../../../src/core/errors";
import { lockDir } from "../../../src/core/fs/lock";
import { MemoryLogger } from "../../../src/core/log";
import { type CaptureEnv, captureEnv, leftovers, sh, workDir } from "../../helpers/capture-env";
import { compareTrees, walk } from "../../helpers/fidelity-tree";
import { BIN } from "../../helpers/sandbox";
import { freePort, Sshd } from "../../helpers/sshd";

/**
 * Everything that must fail cleanly: host keys, authentication, a node without a usable tar,
 * a connection killed mid-stream, Ctrl-C (in-process and through the compiled binary) and a
 * full disk. After each, the previous image and the tables are exactly as they were.
 */
let env: CaptureEnv;
/** A second sshd whose sessions get PATH=fakebin, so tests choose what `tar` the node has. */
let limited: Sshd;
let fakebin: string;
let small: string;
const TREE = () => join(env.sb.installdir, "netboot/debian12/x86_64/compute/rootimg");

function makeSmallTree(root: string, extraMiB = 0): void {
  mkdirSync(join(root, "etc"), { recursive: true });
  mkdirSync(join(root, "data"), { recursive: true });
  writeFileSync(join(root, "etc/os-release"), "ID=debian\nVERSION_ID=12\n");
  for (let i = 0; i < 20; i++) writeFileSync(join(root, "data", `f${i}`), `file ${i}\n`);
  if (extraMiB) sh(`head -c ${extraMiB * 1024 * 1024} /dev/urandom > '${join(root, "data/random")}'`);
}

/** The node's tar: none, a fake old one, the real one, the real one stalling after 1 MiB, failing, or cut short. */
function nodeTar(kind: "none" | "old" | "real" | "stall" | "fail" | "warn" | "truncated"): void {
  rmSync(join(fakebin, "tar"), { force: true });
  if (kind === "real") symlinkSync("/usr/bin/tar", join(fakebin, "tar"));
  if (kind === "old") {
    writeFileSync(
      join(fakebin, "tar"),
      `#!/bin/sh\ncase "$1" in --version) echo "tar (GNU tar) 1.26";; --help) echo "  --format=FORMAT --xattrs --sparse --listed-incremental=FILE --no-check-device --anchored --wildcards-match-slash --numeric-owner";; esac\n`,
      { mode: 0o755 },
    );
  }
  if (kind === "fail") {
    // a complete archive, then the error status tar gives when it could not read a file
    writeFileSync(
      join(fakebin, "tar"),
      `#!/bin/sh\ncase " $* " in *" --create "*) /usr/bin/tar "$@"; echo "tar: ./data/f3: Cannot open: Input/output error" >&2; exit 2 ;; *) exec /usr/bin/tar "$@";; esac\n`,
      {
        mode: 0o755,
      },
    );
  }
  if (kind === "warn") {
    // what a live node's tar says when a log file grows while it is read (exit status 1)
    writeFileSync(
      join(fakebin, "tar"),
      `#!/bin/sh\ncase " $* " in *" --create "*) /usr/bin/tar "$@"; echo "tar: ./data/f1: file changed as we read it" >&2; exit 1 ;; *) exec /usr/bin/tar "$@";; esac\n`,
      {
        mode: 0o755,
      },
    );
  }
  if (kind === "truncated") {
    // half an archive (cut inside data/random), then a quick exit status 0: the node's exit
    // arrives before the local tar has failed on the missing end
    writeFileSync(
      join(fakebin, "tar"),
      `#!/bin/sh\ncase " $* " in *" --create "*) /usr/bin/tar "$@" | head -c 700000; exit 0 ;; *) exec /usr/bin/tar "$@";; esac\n`,
      {
        mode: 0o755,
      },
    );
  }
  if (kind === "stall") {
    // sends 1 MiB of the archive, then blocks on a FIFO nobody writes until unstall()
    writeFileSync(
      join(fakebin, "tar"),
      `#!/bin/sh\ncase " $* " in *" --create "*) /usr/bin/tar "$@" | { head -c 1048576; cat '${join(fakebin, "stall")}' >/dev/null; } ;; *) exec /usr/bin/tar "$@";; esac\n`,
      {
        mode: 0o755,
      },
    );
  }
}

/** Let a stalled node-side tar finish (writers of the FIFO release the reader). */
function unstall(): void {
  const fd = openSync(join(fakebin, "stall"), "r+");
  closeSync(fd);
}

function config(port: number, knownHosts: string): string {
  const file = join(env.sb.dir, `limited-${port}.toml`);
  writeFileSync(
    file,
    `${readFileSync(env.sb.config, "utf8").replace(/\[ssh\][\s\S]*$/, "")}[ssh]\nidentity = "${env.sshd.clientKey}"\nknown_hosts = "${knownHosts}"\nport = ${port}\n`,
  );
  return file;
}

async function runLimited(...args: string[]) {
  return await env.sb.run("--config", config(limited.port, limited.knownHosts), "capture", "golden", "-t", "diskless", "--rootdir", small, ...args);
}

function record() {
  const db = openDb(env.sb.dbPath);
  try {
    return readCaptureRecord(db, "debian12-x86_64-netboot-compute");
  } finally {
    db.close();
  }
}

/** Wait until the capture has started writing the big file into the tree it builds. */
async function midStream(): Promise<void> {
  const work = workDir(TREE());
  for (let i = 0; i < 400; i++) {
    const building = readdirSync(work).filter((n) => n === "base" || n.startsWith("staging."));
    if (building.some((n) => existsSync(join(work, n, "data/random")))) return;
    await Bun.sleep(25);
  }
  throw new Error("the capture never got mid-stream");
}

beforeAll(async () => {
  env = await captureEnv("capfail");
  fakebin = join(env.sb.dir, "fakebin");
  mkdirSync(fakebin);
  for (const tool of ["uname", "od", "cat", "head", "mktemp", "find", "ls", "rm", "findmnt"]) symlinkSync(`/usr/bin/${tool}`, join(fakebin, tool));
  sh(`mkfifo '${join(fakebin, "stall")}'`);
  limited = await Sshd.start({ config: [`SetEnv PATH=${fakebin}`] });
  // the limited sshd has its own host key but takes the same client key
  writeFileSync(join(limited.dir, "authorized_keys"), readFileSync(`${env.sshd.clientKey}.pub`));
  small = join(env.sb.dir, "small");
  makeSmallTree(small);
  nodeTar("real");
  const r = await runLimited("--keep-identity");
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(async () => {
  unstall();
  await limited.stop();
  await env.stop();
});

describe("capture refuses untrusted hosts and bad credentials (exit 69)", () => {
  const kh = () => env.sshd.knownHosts;
  const serverFp = () => sh(`ssh-keygen -l -E sha256 -f '${env.sshd.dir}/ssh_host_ed25519_key.pub'`).split(" ")[1] as string;
  let saved = "";
  beforeAll(() => {
    saved = readFileSync(kh(), "utf8");
  });
  afterAll(() => writeFileSync(kh(), saved));

  test("a changed host key is refused, naming both fingerprints as OpenSSH would", async () => {
    const other = join(env.sb.dir, "other_key");
    sh(`ssh-keygen -q -t ed25519 -N '' -f '${other}'`);
    const otherKey = readFileSync(`${other}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
    writeFileSync(kh(), `# site keys\n[127.0.0.1]:${env.sshd.port} ${otherKey}\n`);
    const r = await env.sb.run("capture", "golden", "-t", "diskless", "--rootdir", small);
    expect(r.code).toBe(69);
    expect(r.stderr).toContain("REMOTE HOST IDENTIFICATION HAS CHANGED for golden (127.0.0.1:");
    expect(r.stderr).toContain(`the ED25519 key sent by the remote host is ${serverFp()}`);
    expect(r.stderr).toContain(`${kh()}:2 has a different ED25519 key`);
    expect(r.stderr).toContain("ssh-keygen -R");
    // even --accept-new-hostkey does not override a changed key
    expect((await env.sb.run("capture", "golden", "-t", "diskless", "--rootdir", small, "--accept-new-hostkey")).code).toBe(69);
  });

  test("an unknown host is refused with its fingerprint; --accept-new-hostkey records it", async () => {
    writeFileSync(kh(), "");
    const r = await env.sb.run("capture", "golden", "-t", "diskless", "--rootdir", small);
    expect(r.code).toBe(69);
    expect(r.stderr).toContain(`is not in ${kh()}: the ED25519 key sent by the remote host is ${serverFp()}`);
    expect(r.stderr).toContain("--accept-new-hostkey");
    const ok = await env.sb.run("capture", "golden", "-t", "diskless", "--rootdir", small, "--accept-new-hostkey", "-o", "accepted", "-p", "accepted");
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain(`Permanently added the ED25519 host key of golden (127.0.0.1:${env.sshd.port}) (${serverFp()})`);
    for (const name of [`[golden]:${env.sshd.port}`, `[127.0.0.1]:${env.sshd.port}`])
      expect(sh(`ssh-keygen -F '${name}' -f '${kh()}'`)).toContain("ssh-ed25519");
  });

  test("hashed known_hosts entries (ssh-keygen -H) are honoured", async () => {
    writeFileSync(kh(), saved);
    sh(`ssh-keygen -H -f '${kh()}'`);
    expect(readFileSync(kh(), "utf8")).toContain("|1|");
    const r = await env.sb.run("capture", "golden", "-t", "diskless", "--rootdir", small, "-o", "hashed", "-p", "hashed");
    expect(r.code).toBe(0);
  });

  test("the SSH agent (SSH_AUTH_SOCK) logs in when the identity file is missing or locked", async () => {
    writeFileSync(kh(), saved);
    const sock = join(env.sb.dir, "agent.sock");
    const agent = Bun.spawn(["ssh-agent", "-D", "-a", sock], { stdout: "ignore", stderr: "ignore" });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await Bun.sleep(20);
      const add = Bun.spawnSync(["ssh-add", env.sshd.clientKey], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stderr: "pipe" });
      expect(add.exitCode).toBe(0);
      const withAgent = { ...env.sb.env, SSH_AUTH_SOCK: sock };
      const r = await env.sb.bin(
        ["capture", "golden", "-t", "diskless", "--rootdir", small, "-o", "agent", "-p", "agent", "--identity", join(env.sb.dir, "no-such-key")],
        {
          env: withAgent,
        },
      );
      if (r.code !== 0) throw new Error(r.stderr);
      expect(r.stdout).toContain("Captured golden into image agent");
    } finally {
      agent.kill();
      await agent.exited;
    }
  });

  test("authentication failure, a passphrase key without an agent, nothing listening", async () => {
    writeFileSync(kh(), saved);
    const wrong = join(env.sb.dir, "wrong_key");
    sh(`ssh-keygen -q -t ed25519 -N '' -f '${wrong}'`);
    let r = await env.sb.run("capture", "golden", "-t", "diskless", "--rootdir", small, "--identity", wrong);
    expect(r.code).toBe(69);
    expect(r.stderr).toContain(`authentication as root on golden (127.0.0.1:${env.sshd.port}) failed (tried key ${wrong})`);
    const locked = join(env.sb.dir, "locked_key");
    sh(`ssh-keygen -q -t ed25519 -N secret -f '${locked}'`);
    const noAgent = { ...env.sb.env, SSH_AUTH_SOCK: undefined };
    r = await env.sb.bin(["capture", "golden", "-t", "diskless", "--rootdir", small, "--identity", locked], { env: noAgent });
    expect(r.code).toBe(69);
    expect(r.stderr).toContain(`the SSH key ${locked} is protected by a passphrase and no SSH agent is running`);
    r = await env.sb.run("capture", "golden", "-t", "diskless", "--rootdir", small, "--port", String(await freePort()));
    expect(r.code).toBe(69);
    expect(r.stderr).toContain("connection refused");
    expect(existsSync(join(env.sb.installdir, "netboot/debian12/x86_64/compute/rootimg/etc"))).toBe(true);
  });
});

describe("a node without a usable tar is refused, saying what is missing", () => {
  test("no tar at all", async () => {
    nodeTar("none");
    const r = await runLimited();
    nodeTar("real");
    expect(r.code).toBe(69);
    expect(r.stderr).toContain("has no tar: GNU tar 1.27 or newer is needed");
  });

  test("an old GNU tar without ACL support", async () => {
    nodeTar("old");
    const r = await runLimited();
    nodeTar("real");
    expect(r.code).toBe(69);
    expect(r.stderr).toContain("GNU tar on golden");
    expect(r.stderr).toContain("(tar (GNU tar) 1.26) lacks --xattrs-include, --acls");
  });
});

describe("an interrupted capture leaves the previous image and the tables as they were", () => {
  let before: ReturnType<typeof walk>;
  let recBefore: ReturnType<typeof record>;
  beforeAll(() => {
    makeSmallTree(small, 24); // the next capture has 24 MiB to send
    before = walk(TREE());
    recBefore = record();
  });
  const intact = () => {
    expect(walk(TREE())).toEqual(before); // every field, inode numbers and link counts included
    expect(leftovers(TREE())).toEqual([]);
    expect(record()).toEqual(recBefore);
  };

  test("the connection is killed mid-stream → exit 69, nothing changed", async () => {
    nodeTar("stall");
    const running = runLimited("--keep-identity");
    await midStream();
    expect(limited.killSessions()).toBeGreaterThan(0);
    const r = await running;
    unstall();
    expect(r.code).toBe(69);
    expect(r.stderr).toContain("was lost");
    intact();
  }, 30_000);

  test("Ctrl-C (the abort signal) mid-stream → InterruptedError, nothing changed", async () => {
    nodeTar("stall");
    const ac = new AbortController();
    const ctx = makeContext({
      config: loadConfig({ file: config(limited.port, limited.knownHosts), env: env.sb.env }),
      log: new MemoryLogger(),
      signal: ac.signal,
      json: false,
      verbose: false,
      quiet: false,
      env: env.sb.env,
    });
    const running = captureNode(ctx, { node: "golden", type: "diskless", excludes: [], rootdir: small, keepIdentity: true, ssh: {} });
    await midStream();
    ac.abort(new InterruptedError("interrupted by SIGINT; cleaning up"));
    const err = await running.then(
      () => null,
      (e: unknown) => e,
    );
    ctx.closeDb();
    unstall();
    expect(err).toBeInstanceOf(XcimgError);
    expect((err as XcimgError).exitCode).toBe(130);
    intact();
  }, 30_000);

  test("SIGINT to the compiled binary mid-stream → exit 130, nothing changed", async () => {
    nodeTar("stall");
    const proc = Bun.spawn(
      [BIN, "--config", config(limited.port, limited.knownHosts), "capture", "golden", "-t", "diskless", "--rootdir", small, "--keep-identity"],
      {
        env: env.sb.env as Record<string, string>,
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    await midStream();
    proc.kill("SIGINT");
    const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    unstall();
    expect(code).toBe(130);
    expect(stderr).toContain("interrupted by SIGINT");
    intact();
  }, 30_000);

  test("the node's tar fails → exit 74 with its message, nothing changed", async () => {
    nodeTar("fail");
    const r = await runLimited("--keep-identity");
    nodeTar("real");
    expect(r.code).toBe(74);
    expect(r.stderr).toContain("failed with exit status 2: tar: ./data/f3: Cannot open: Input/output error");
    intact();
  }, 30_000);

  test("the node sends half an archive and exits 0 → fails at once (no hang), lock released, nothing changed", async () => {
    nodeTar("truncated");
    const t0 = performance.now();
    const r = await runLimited("--keep-identity");
    nodeTar("real");
    expect(performance.now() - t0).toBeLessThan(15_000);
    expect(r.code).toBe(69);
    expect(r.stderr).toContain("Error: the archive from golden");
    expect(r.stderr).toContain("ended early (after ");
    expect(readdirSync(lockDir(env.sb.installdir)).filter((n) => n.endsWith(".lock"))).toEqual([]);
    intact();
  }, 30_000);

  test("after the failures the next capture is still incremental, and complete; tar's warnings are reported", async () => {
    nodeTar("warn");
    const r = await runLimited("--keep-identity", "--json");
    nodeTar("real");
    expect(r.stderr).toContain("Warning: the node's tar reported 1 warning(s)");
    expect(r.stderr).toContain("tar: ./data/f1: file changed as we read it");
    expect(record()?.warnings).toEqual(["tar: ./data/f1: file changed as we read it"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.level).toBe("incremental");
    expect(out.files).toBe(22); // makeSmallTree rewrote its 21 files and added data/random
    expect(compareTrees(small, TREE())).toEqual([]);
  });

  test("a full disk → exit 74, the previous image kept (compiled binary, tmpfs in a private mount namespace)", async () => {
    const big = join(env.sb.dir, "big");
    makeSmallTree(big, 40);
    const fp = `find '${TREE()}' -printf '%P %s %m %T@\\n' | sort | md5sum`;
    const script = [
      `mount -t tmpfs -o size=32m tmpfs '${env.sb.installdir}'`,
      `'${BIN}' --config '${config(limited.port, limited.knownHosts)}' capture golden -t diskless --rootdir '${small}' --keep-identity >/dev/null 2>&1; echo "first=$?"`,
      `echo "before=$(${fp})"`,
      `'${BIN}' --config '${config(limited.port, limited.knownHosts)}' capture golden -t diskless --rootdir '${big}' --keep-identity 2>&1; echo "second=$?"`,
      `echo "after=$(${fp})"`,
      `echo "left=$(ls -A '${workDir(TREE())}' | grep -c staging)"`,
    ].join("\n");
    writeFileSync(join(env.sb.dir, "full-disk.sh"), script);
    const out = sh(`unshare -m --propagation private /bin/sh '${join(env.sb.dir, "full-disk.sh")}'`);
    expect(out).toContain("first=0");
    expect(out).toContain("second=74");
    expect(out).toContain("no space left on device while writing the image");
    const val = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(out)?.[1];
    expect(val("before")).toBe(val("after") as string);
    expect(val("left")).toBe("0");
  }, 60_000);
});
