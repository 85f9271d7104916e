import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../../src/core/config/load";
import { openDb } from "../../../src/core/db/open";
import { renderNodeData, stateliteNodeData } from "../../../src/provmethods/statelite/node-data";
import { Sandbox } from "../../helpers/sandbox";
import { LITEFILE_ROWS, listTree, makeImageRoot } from "../../helpers/statelite-fixture";

/**
 * The node side, without a VM: the script lite installed (<rootimg>/etc/init.d/statelite) runs
 * under busybox sh, in a private mount namespace (unshare -m), against the image bind-mounted
 * read-only at a fake /sysroot — what an NFS root looks like to the initramfs. The per-node
 * data file is the one xcimg renders; persistent storage and the litetree are local
 * directories. Checks run chrooted into the image with the image's own busybox, i.e. from the
 * booted node's point of view. A second "boot" proves persistent entries survive and tmpfs
 * ones do not; the image on disk is unchanged afterwards.
 */
const IMG = "debian12-x86_64-statelite-compute";
const sb = new Sandbox("rc-statelite");
const rootimg = join(sb.installdir, "netboot", "debian12", "x86_64", "compute", "rootimg");
const state = join(sb.dir, "nodedata");
const tree = join(sb.dir, "tree");
const conf = join(sb.dir, "statelite.conf");
let imageAfterLite = "";

function csv(rows: [string, string, string][]): string {
  return `#image,file,options,comments,disable\n${rows.map(([i, f, o]) => `"${i}","${f}",${o ? `"${o}"` : ""},,`).join("\n")}\n`;
}

beforeAll(async () => {
  makeImageRoot(rootimg);
  mkdirSync(join(rootimg, "bin"), { recursive: true });
  copyFileSync("/bin/busybox", join(rootimg, "bin/busybox")); // static: runs chrooted
  for (const applet of Bun.spawnSync(["/bin/busybox", "--list"]).stdout.toString().trim().split("\n")) {
    if (applet !== "busybox") symlinkSync("busybox", join(rootimg, "bin", applet));
  }
  mkdirSync(join(rootimg, "proc"));
  for (const [f, text] of [
    ["etc/issue", "Issue from the litetree\n"],
    ["etc/profile.local", "export FROM_TREE=1\n"],
    ["etc/banner", "tree banner\n"],
    ["opt/tools/ref", "tool reference v2\n"],
  ] as const) {
    mkdirSync(join(tree, f, ".."), { recursive: true });
    writeFileSync(join(tree, f), text);
  }
  const run = async (...a: string[]) => expect((await sb.run(...a)).code).toBe(0);
  await run("image", "set", IMG, "provmethod=statelite", "osvers=debian12", "osarch=x86_64", "profile=compute");
  writeFileSync(join(sb.dir, "litefile.csv"), csv(LITEFILE_ROWS));
  await run("table", "restore", "litefile", join(sb.dir, "litefile.csv"));
  await run("node", "set", "cn001", "groups=compute,all");
  await run("table", "set", "statelite", "node=compute", `statemnt=${state}`);
  await run("table", "set", "litetree", "priority=1", "image=ALL", `directory=${tree}`);
  await run("lite", IMG);
  imageAfterLite = listTree(rootimg);

  const db = openDb(sb.dbPath);
  try {
    const data = stateliteNodeData(db, loadConfig({ file: sb.config, env: {} }), "cn001", IMG, rootimg);
    writeFileSync(conf, renderNodeData(data));
  } finally {
    db.close();
  }
});
afterAll(() => (process.env.KEEP_SANDBOX ? undefined : sb.cleanup()));

/** One boot: mount the image read-only, run the script, then the checks, in a private namespace. */
function boot(n: number, checks: [string, string][]): Record<string, string> {
  const bin = join(sb.dir, "bin");
  mkdirSync(bin, { recursive: true });
  Bun.spawnSync(["/bin/busybox", "--install", "-s", bin]);
  const out = join(sb.dir, `boot${n}.out`);
  const lines = [
    `export PATH=${bin}`,
    `ROOT=${rootimg}`,
    'mount --bind "$ROOT" "$ROOT" && mount -o remount,bind,ro "$ROOT" || exit 90',
    `STATELITE_ROOT="$ROOT" STATELITE_CONF=${conf} sh "$ROOT/etc/init.d/statelite" >${out}.log 2>&1`,
    `echo "script=$?" >${out}`,
    `C="chroot $ROOT /bin/busybox env PATH=/bin /bin/busybox"`,
    ...checks.map(([name, cmd]) => `r=$($C sh -c '${cmd}' 2>&1); echo "${name}=$?:$(echo "$r" | tr '\\n' '|')" >>${out}`),
  ];
  writeFileSync(join(sb.dir, `boot${n}.sh`), `${lines.join("\n")}\n`);
  const p = Bun.spawnSync(["unshare", "-m", "--propagation", "private", "/bin/busybox", "sh", join(sb.dir, `boot${n}.sh`)], { stderr: "pipe" });
  expect(p.exitCode).toBe(0);
  const res: Record<string, string> = {};
  for (const l of readFileSync(out, "utf8").trim().split("\n")) {
    const i = l.indexOf("=");
    res[l.slice(0, i)] = l.slice(i + 1);
  }
  return res;
}

describe("rc.statelite on a read-only root (busybox sh, unshare -m)", () => {
  let first: Record<string, string> = {};
  let second: Record<string, string> = {};

  test("first boot: every option does what xCAT's rc.statelite does", () => {
    first = boot(1, [
      ["hosts", "echo node-hosts > /etc/hosts && cat /etc/hosts"], // link (empty option): writable tmpfs copy
      ["resolv", "cat /etc/resolv.conf"],
      ["motd", "echo more >> /etc/motd && cat /etc/motd"], // tmpfs: bind-mounted copy
      ["issue_write", "echo x > /etc/issue"], // ro: from the litetree, read-only
      ["issue", "cat /etc/issue"],
      ["con", "cat /etc/profile.local"], // con: litetree content
      ["linkcon", "cat /etc/banner"], // link,con
      ["linkro", "readlink /.statelite/tmpfs/opt/tools/ref && cat /opt/tools/ref"], // link,ro: symlink into the tree mount
      ["localtime", "cat /etc/localtime"],
      ["sysconfig", "echo NETWORKING=no > /etc/sysconfig/network && cat /etc/sysconfig/clock /etc/sysconfig/network"],
      ["ssh", "echo new > /etc/ssh/new && ls /etc/ssh"],
      ["logs", "echo boot1 >> /var/log/messages && cat /var/log/messages"], // persistent child of persistent dir
      ["app", "echo app1 > /var/lib/app/state && cat /var/lib/app/state"], // link,persistent
      ["bashrc", "echo rc1 >> /root/.bashrc && cat /root/.bashrc"], // link,persistent below a linked dir
      ["profile", "cat /root/.profile"], // link,con below a linked dir: not doubled
      ["authkeys", "cat /root/.ssh/authorized_keys"],
      ["cache", "touch /root/.cache/x && ls /root/.cache"],
      ["run", "cat /var/run/daemon.pid"],
      ["optdata_write", "echo x > /opt/data/new"],
      ["scratch", "echo s > /scratch/file && cat /scratch/file"], // localdisk without a local disk: memory
      ["srv", "cat /srv/new.conf && echo w > /srv/new.conf"],
      ["mtab", "readlink /etc/mtab && readlink /.statelite/tmpfs/etc/mtab"],
      ["rootfs_write", "touch /test.statelite"], // everything else stays read-only
    ]);
    expect(first.script).toBe("0");
    expect(first.hosts).toBe("0:node-hosts|");
    expect(first.resolv).toBe("0:nameserver 10.0.0.1|");
    expect(first.motd).toBe("0:welcome|more|");
    expect(first.issue_write).toStartWith("1:");
    expect(first.issue).toBe("0:Issue from the litetree|");
    expect(first.con).toBe("0:export FROM_TREE=1|");
    expect(first.linkcon).toBe("0:tree banner|");
    expect(first.linkro).toBe(`0:/.statelite/mnt/local${tree}/opt/tools/ref|tool reference v2|`);
    expect(first.localtime).toBe("0:TZif-fake-utc|");
    expect(first.sysconfig).toBe("0:ZONE=UTC|NETWORKING=no|");
    expect(first.ssh).toBe("0:new|ssh_host_key|sshd_config|");
    expect(first.logs).toBe("0:log line|boot1|");
    expect(first.app).toBe("0:app1|");
    expect(first.bashrc).toBe("0:alias ll='ls -l'|rc1|");
    expect(first.profile).toBe("0:PATH=/usr/bin|");
    expect(first.authkeys).toBe("0:ssh-ed25519 AAAA test|");
    expect(first.cache).toBe("0:x|");
    expect(first.run).toBe("0:42|");
    expect(first.optdata_write).toStartWith("1:");
    expect(first.scratch).toBe("0:s|");
    expect(first.srv).toBe("0:|");
    expect(first.mtab).toBe("0:../.statelite/tmpfs/etc/mtab|/proc/mounts|");
    expect(first.rootfs_write).toStartWith("1:");
  });

  test("second boot: persistent entries kept, tmpfs ones fresh from the image", () => {
    second = boot(2, [
      ["hosts", "cat /etc/hosts"],
      ["motd", "cat /etc/motd"],
      ["ssh", "ls /etc/ssh"],
      ["logs", "cat /var/log/messages"],
      ["app", "cat /var/lib/app/state"],
      ["bashrc", "cat /root/.bashrc"],
      ["sysconfig", "cat /etc/sysconfig/network"],
    ]);
    expect(second.script).toBe("0");
    expect(second.hosts).toBe("0:127.0.0.1 localhost|");
    expect(second.motd).toBe("0:welcome|");
    expect(second.ssh).toBe("0:ssh_host_key|sshd_config|");
    expect(second.logs).toBe("0:log line|boot1|");
    expect(second.app).toBe("0:app1|");
    expect(second.bashrc).toBe("0:alias ll='ls -l'|rc1|");
    expect(second.sysconfig).toBe("0:NETWORKING=yes|");
  });

  test("persistent data lives in <statemnt>/<node>; the image itself was never written", () => {
    expect(readFileSync(join(state, "cn001/var/log/messages"), "utf8")).toBe("log line\nboot1\n");
    expect(readFileSync(join(state, "cn001/root/.bashrc"), "utf8")).toBe("alias ll='ls -l'\nrc1\n");
    expect(readFileSync(join(state, "cn001/var/lib/app/state"), "utf8")).toBe("app1\n");
    expect(listTree(rootimg)).toBe(imageAfterLite);
  });

  test("the script says what is wrong when the node has no configuration", () => {
    const p = Bun.spawnSync(["/bin/busybox", "sh", join(rootimg, "etc/init.d/statelite")], {
      env: { STATELITE_ROOT: rootimg, STATELITE_CONF: join(sb.dir, "missing.conf"), PATH: "/usr/bin:/bin" },
      stderr: "pipe",
    });
    expect(p.exitCode).toBe(1);
    expect(p.stderr.toString()).toBe(`statelite: FATAL: cannot read ${join(sb.dir, "missing.conf")} (the node's statelite configuration from xcimg)\n`);
  });
});
