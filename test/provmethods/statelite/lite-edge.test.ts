import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Sandbox } from "../../helpers/sandbox";
import { LITEFILE_ROWS, listTree, makeImageRoot } from "../../helpers/statelite-fixture";

/** /etc/mtab already pointing at the kernel, /xcatpost refresh, and a run that fails midway. */
const sb = new Sandbox("lite-edge");
const imgDir = (p: string) => join(sb.dir, "images", p);

async function image(name: string): Promise<string> {
  expect(
    (await sb.run("image", "set", name, "provmethod=statelite", "osvers=rhels9", "osarch=x86_64", `profile=${name}`, `rootimgdir=${imgDir(name)}`)).code,
  ).toBe(0);
  const root = join(imgDir(name), "rootimg");
  makeImageRoot(root);
  return root;
}

beforeAll(async () => {
  const csv = `#image,file,options,comments,disable\n${LITEFILE_ROWS.map(([i, f, o]) => `"${i}","${f}",${o ? `"${o}"` : ""},,`).join("\n")}\n`;
  writeFileSync(join(sb.dir, "litefile.csv"), csv);
  expect((await sb.run("table", "restore", "litefile", join(sb.dir, "litefile.csv"))).code).toBe(0);
});
afterAll(() => sb.cleanup());

describe("lite edge cases", () => {
  test("/etc/mtab already a link to /proc/self/mounts (or ../proc/self/mounts) is left alone", async () => {
    for (const [name, target] of [
      ["mtab1", "/proc/self/mounts"],
      ["mtab2", "../proc/self/mounts"],
    ] as const) {
      const root = await image(name);
      unlinkSync(join(root, "etc/mtab"));
      symlinkSync(target, join(root, "etc/mtab"));
      const r = await sb.run("lite", name);
      expect(r.code).toBe(0);
      expect(readlinkSync(join(root, "etc/mtab"))).toBe(target);
      expect(listTree(root)).not.toContain("/.default/etc/mtab");
    }
  });

  test("<installdir>/postscripts, when a site has one, replaces the image's /xcatpost", async () => {
    const ps = join(sb.installdir, "postscripts");
    mkdirSync(ps, { recursive: true });
    writeFileSync(join(ps, "syslog"), "#!/bin/sh\n", { mode: 0o755 });
    const root = await image("post");
    mkdirSync(join(root, "xcatpost"));
    writeFileSync(join(root, "xcatpost", "stale"), "old\n");
    expect((await sb.run("lite", "post")).code).toBe(0);
    expect(listTree(join(root, "xcatpost"))).toBe('f 0755 /syslog "#!/bin/sh\\n"\n');
  });

  test("root's password from the passwd table, as packimage does; without an entry the image keeps its own", async () => {
    const root = await image("rootpw");
    writeFileSync(join(root, "etc/shadow"), "root:!:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n");
    let r = await sb.run("lite", "rootpw");
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(root, "etc/shadow"), "utf8")).toStartWith("root:!:19000:");
    expect((await sb.run("table", "set", "passwd", "key=system,username=root", "password=$6$saltsalt$hash")).code).toBe(0);
    r = await sb.run("lite", "rootpw");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("root password: set from the passwd table");
    expect(readFileSync(join(root, "etc/shadow"), "utf8")).toBe("root:$6$saltsalt$hash:13880:0:99999:7:::\nbin:*:19000:0:99999:7:::\n");
    await sb.run("table", "rm", "passwd", "key=system,username=root");
  });

  test("symlinks planted in the image never lead lite outside it", async () => {
    const root = await image("planted");
    const victim = join(sb.dir, "victim");
    const hostdir = join(sb.dir, "hostdir");
    writeFileSync(victim, "do not touch\n");
    mkdirSync(hostdir);
    mkdirSync(join(root, ".default/etc"), { recursive: true });
    symlinkSync(victim, join(root, ".default/etc/motd")); // an absolute link out of the image
    symlinkSync(hostdir, join(root, ".statelite")); // .statelite itself pointing at a host dir
    expect((await sb.run("lite", "planted")).code).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe("do not touch\n");
    expect(readdirSync(hostdir)).toEqual([]);
    expect(readFileSync(join(root, ".default/etc/motd"), "utf8")).toBe("welcome\n");
    // the absolute link was followed inside the image: <rootimg><hostdir>/litefile.save
    expect(readFileSync(join(root, hostdir, "litefile.save"), "utf8")).toContain("planted: link          /etc/hosts");
  });

  test("xCAT's own test litefile (25 tmpfs rows) on a RHEL-like tree with /etc/rc3.d -> rc.d/rc3.d", async () => {
    const other = new Sandbox("lite-edge-xcat");
    try {
      const root = join(other.installdir, "netboot", "rhels7", "x86_64", "compute", "rootimg");
      makeImageRoot(root);
      for (const n of [2, 3, 4, 5]) {
        mkdirSync(join(root, `etc/rc.d/rc${n}.d`), { recursive: true });
        writeFileSync(join(root, `etc/rc.d/rc${n}.d/S10network`), "#!/bin/sh\n");
        symlinkSync(`rc.d/rc${n}.d`, join(root, `etc/rc${n}.d`));
      }
      expect(
        (await other.run("image", "set", "rhels7-x86_64-statelite-compute", "provmethod=statelite", "osvers=rhels7", "osarch=x86_64", "profile=compute")).code,
      ).toBe(0);
      expect((await other.run("table", "restore", join(import.meta.dir, "..", "..", "fixtures", "litefile.csv"))).code).toBe(0);
      const r = await other.run("lite", "rhels7-x86_64-statelite-compute");
      expect(r.code).toBe(0);
      const tree = listTree(root);
      // the symlinked directory's content is what .default keeps; the link itself stays
      expect(tree).toContain('f 0644 /.default/etc/rc3.d/S10network "#!/bin/sh\\n"');
      expect(tree).toContain("l 0777 /etc/rc3.d -> rc.d/rc3.d");
      // absent entries were created (empty file, or directory for a trailing /)
      expect(tree).toContain('f 0644 /etc/yp.conf ""');
      expect(tree).toContain("d 0755 /etc/systemd/system/multi-user.target.wants");
      expect(tree).toContain("d 0755 /.default/var/log");
      expect((await other.run("lite", "--list", "rhels7-x86_64-statelite-compute")).stdout.split("\n")).toContain("        tmpfs         /etc/rc5.d/");
    } finally {
      other.cleanup();
    }
  });

  test("a copy that fails midway exits 74 with cp's reason; after the fix a re-run finishes the same image", async () => {
    const clean = await image("clean");
    const broken = await image("broken");
    expect((await sb.run("lite", "clean")).code).toBe(0);

    // an immutable directory in the way makes cp fail even for root
    mkdirSync(join(broken, ".default/root"), { recursive: true });
    expect(Bun.spawnSync(["chattr", "+i", join(broken, ".default/root")]).exitCode).toBe(0);
    try {
      const r = await sb.run("lite", "broken");
      expect(r.code).toBe(74);
      expect(r.stderr).toContain("Error: cp -a ");
      expect(r.stderr).toContain("Operation not permitted");
    } finally {
      Bun.spawnSync(["chattr", "-i", join(broken, ".default/root")]);
    }
    expect((await sb.run("lite", "broken")).code).toBe(0);
    const norm = (t: string) => t.replaceAll("broken", "clean");
    expect(norm(listTree(broken))).toBe(listTree(clean));
    expect(readFileSync(join(broken, ".default/root/.bashrc"), "utf8")).toBe("alias ll='ls -l'\n");
  });
});
