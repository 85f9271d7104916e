import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readCaptureRecord } from "../../../src/core/capture/record";
import { openDb } from "../../../src/core/db/open";
import { type CaptureEnv, captureEnv, leftovers } from "../../helpers/capture-env";
import { compareTrees, walk } from "../../helpers/fidelity-tree";
import { type CraftedMember, type HostileNode, hostileNode } from "../../helpers/hostile-node";
import { BIN } from "../../helpers/sandbox";

/**
 * A hostile golden node sends a tar stream crafted to make the management node's tar write,
 * link or delete through symbolic links of the image (src/core/capture/confine.ts). The node's
 * previous capture left `x -> <victim>/dir` in the image, as Debian's own `var/run -> /run`.
 * Each attempt must fail (exit 65, naming the member), leave the victim directory outside the
 * site, the previous image tree and the tables exactly as they were, and the next honest
 * capture must still work incrementally.
 */
let env: CaptureEnv;
let node: HostileNode;
let golden: string;
let victim: string;
const IMAGE = "debian12-x86_64-netboot-compute";
const TREE = () => join(env.sb.installdir, "netboot/debian12/x86_64/compute/rootimg");

function record() {
  const db = openDb(env.sb.dbPath);
  try {
    return readCaptureRecord(db, IMAGE);
  } finally {
    db.close();
  }
}

/** The image tree, all fields but link counts: a failed attempt drops base/, whose files were hardlinks of it. */
const treeNow = () => new Map([...walk(TREE())].map(([k, e]) => [k, { ...e, nlink: 0 }]));

const capture = () => env.sb.run("--config", node.config, "capture", "golden", "-t", "diskless", "--rootdir", golden, "--keep-identity");

beforeAll(async () => {
  env = await captureEnv("caphostile");
  node = await hostileNode(env);
  victim = join(env.sb.dir, "victim");
  mkdirSync(join(victim, "dir/sub"), { recursive: true });
  writeFileSync(join(victim, "dir/secret"), "the management node's secret\n");
  writeFileSync(join(victim, "dir/sub/keep"), "must not be purged\n");
  golden = join(env.sb.dir, "golden");
  mkdirSync(join(golden, "etc"), { recursive: true });
  mkdirSync(join(golden, "data"));
  writeFileSync(join(golden, "etc/os-release"), "ID=debian\nVERSION_ID=12\n");
  for (let i = 0; i < 5; i++) writeFileSync(join(golden, "data", `f${i}`), `file ${i}\n`);
  symlinkSync(join(victim, "dir"), join(golden, "x"));
  // a full capture, then an incremental one: base/ exists, the next capture extracts into it
  for (const level of ["full", "incremental"]) {
    const r = await env.sb.run("--json", "--config", node.config, "capture", "golden", "-t", "diskless", "--rootdir", golden, "--keep-identity");
    if (r.code !== 0) throw new Error(r.stderr);
    expect(JSON.parse(r.stdout).level).toBe(level);
  }
});
afterAll(async () => {
  await node.stop();
  await env.stop();
});

const ATTACKS: { name: string; members: CraftedMember[]; says: string }[] = [
  {
    name: "a file through the symlink the previous capture left (./x/file, x -> victim)",
    members: [{ name: "./x/file", type: "file", data: "written on the management node\n" }],
    says: "member ./x/file goes through the symbolic link ./x -> ",
  },
  {
    name: "a hard link whose target runs through that symlink (./leak -> x/secret)",
    members: [{ name: "./leak", type: "hardlink", target: "x/secret" }],
    says: "member ./leak (a hard link to x/secret) goes through the symbolic link ./x -> ",
  },
  {
    name: "a directory with an empty incremental listing under that symlink (purges ./x/sub)",
    members: [{ name: "./x/sub", type: "dir", dumpdir: "\0" }],
    says: "member ./x/sub goes through the symbolic link ./x -> ",
  },
  {
    name: "a symlink in the same stream, then a member through it",
    members: [
      { name: "./y", type: "symlink", target: "" },
      { name: "./y/file", type: "file", data: "written on the management node\n" },
    ],
    says: "member ./y/file goes through the symbolic link ./y -> ",
  },
];

describe("a crafted stream never reaches outside the image (exit 65, nothing changed)", () => {
  for (const attack of ATTACKS) {
    test(attack.name, async () => {
      const members = attack.members.map((m) => (m.type === "symlink" ? { ...m, target: join(victim, "dir") } : m));
      const victimBefore = walk(victim);
      const treeBefore = treeNow();
      const recordBefore = record();
      node.craft(members);
      node.tar("crafted");
      const r = await capture();
      node.tar("real");
      expect(r.stderr).toContain(`Error: the archive from golden`);
      expect(r.stderr).toContain(`${attack.says}${join(victim, "dir")}`);
      expect(r.stderr).toContain("hint: ");
      expect(r.code).toBe(65);
      expect(walk(victim)).toEqual(victimBefore); // names, modes, owners, sizes, times, inodes, link counts
      expect(treeNow()).toEqual(treeBefore);
      expect(leftovers(TREE())).toEqual([]);
      expect(record()).toEqual(recordBefore);
    });
  }

  test("the next honest capture still works, incrementally, and copies the node exactly", async () => {
    writeFileSync(join(golden, "data/f0"), "changed after the attacks\n");
    const r = await env.sb.run("--json", "--config", node.config, "capture", "golden", "-t", "diskless", "--rootdir", golden, "--keep-identity");
    if (r.code !== 0) throw new Error(r.stderr);
    expect(JSON.parse(r.stdout).level).toBe("incremental");
    expect(compareTrees(golden, TREE(), { ignoreRootMtime: true })).toEqual([]);
    expect(walk(victim).size).toBe(5);
  });
});

describe("no confinement, no extraction", () => {
  test("without CAP_SYS_ADMIN (an unprivileged container) the capture fails with exit 73 instead of extracting unconfined", async () => {
    writeFileSync(join(golden, "data/f1"), "changed again\n");
    const treeBefore = treeNow();
    const recordBefore = record();
    // the compiled binary, with CAP_SYS_ADMIN gone from its bounding and inheritable sets
    const proc = Bun.spawn(
      [
        "setpriv",
        "--bounding-set",
        "-sys_admin",
        "--inh-caps",
        "-sys_admin",
        BIN,
        "--config",
        node.config,
        "capture",
        "golden",
        "-t",
        "diskless",
        "--rootdir",
        golden,
        "--keep-identity",
      ],
      { env: env.sb.env as Record<string, string>, stdout: "ignore", stderr: "pipe" },
    );
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(stderr).toContain("Error: cannot confine the extracting tar (confine.ts): unshare: unshare failed: Operation not permitted");
    expect(stderr).toContain("hint: xcimg capture must run as root on the management node, where it may create mount namespaces");
    expect(code).toBe(73);
    expect(treeNow()).toEqual(treeBefore);
    expect(leftovers(TREE())).toEqual([]);
    expect(record()).toEqual(recordBefore);
  });
});

describe("replaying the last capture's changes into base/ never follows the node's symlinks", () => {
  test("a symlink the node turned into a directory (honest tar): the file it pointed at on this machine stays", async () => {
    const other = join(env.sb.dir, "victim2");
    mkdirSync(other);
    writeFileSync(join(other, "secret"), "another file of the management node\n");
    const root = join(env.sb.dir, "golden2");
    mkdirSync(join(root, "etc"), { recursive: true });
    writeFileSync(join(root, "etc/os-release"), "ID=debian\nVERSION_ID=12\n");
    symlinkSync(other, join(root, "z"));
    const run = async (level: string) => {
      const r = await env.sb.run(
        "--json",
        "--config",
        node.config,
        "capture",
        "golden",
        "-t",
        "diskless",
        "--rootdir",
        root,
        "--keep-identity",
        "-o",
        "turned",
        "-p",
        "turned",
      );
      if (r.code !== 0) throw new Error(r.stderr);
      expect(JSON.parse(r.stdout).level).toBe(level);
      return JSON.parse(r.stdout).tree as string;
    };
    await run("full");
    const before = walk(other);
    // on the node, z becomes a directory holding a file of the same name as the one it pointed at
    rmSync(join(root, "z"));
    mkdirSync(join(root, "z"));
    writeFileSync(join(root, "z/secret"), "the node's own file\n");
    await run("incremental"); // into a hardlink copy; the tree before (z a symlink) is kept as base/
    writeFileSync(join(root, "etc/motd"), "one more change\n");
    const tree = await run("incremental"); // base/ is brought up to date: z/secret is replayed
    expect(walk(other)).toEqual(before);
    expect(compareTrees(root, tree, { ignoreRootMtime: true })).toEqual([]);
  });
});
