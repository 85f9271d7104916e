import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataError, NotFoundError } from "../../../src/core/errors";
import { applySync } from "../../../src/core/synclist/apply";
import { ImageTarget } from "../../../src/core/synclist/image-target";
import { parseSynclist } from "../../../src/core/synclist/parse";
import { mergeEntries, planSync } from "../../../src/core/synclist/plan";
import { defineNetbootImage, fakeKernels } from "../../helpers/images";
import { Sandbox } from "../../helpers/sandbox";

/** Golden tests of xCAT's synclist directives, and of applying them into a (hostile) image tree. */
const dir = mkdtempSync(join(tmpdir(), "xcimg-synclist-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mn = join(dir, "mn");
const put = (rel: string, text: string, mode = 0o644) => {
  mkdirSync(join(mn, rel, ".."), { recursive: true });
  writeFileSync(join(mn, rel), text);
  chmodSync(join(mn, rel), mode);
};
put("etc/common_hosts", "10.0.0.1 mn\n");
put("prog2/conf1", "c1\n");
put("prog2/conf2", "c2\n", 0o600);
put("home/mikev/.profile", "profile\n");
put("home/mikev/bin/tool", "#!/bin/sh\n", 0o755);
put("append/motd", "site motd line\n");
put("merge/passwd", "alice:x:1001:1001::/home/alice:/bin/sh\nroot:x:0:0:root:/root:/bin/bash\n");
put("scripts/file2", "f2\n");
put("scripts/file2.post", "#!/bin/sh\ntouch /tmp/file2.post.ran\n", 0o755);
put("scripts/always", "#!/bin/sh\n", 0o755);
symlinkSync("bin/tool", join(mn, "home/mikev/tool-link"));

const M = (p: string) => join(mn, p);

describe("parse: each directive", () => {
  test("copy forms, noderange qualifier, clauses", () => {
    const text = [
      "# comment",
      `${M("etc/common_hosts")} -> /etc/hosts`,
      `${M("etc/common_hosts")} -> /etc/`,
      `${M("prog2/conf1")} ${M("prog2/conf2")} -> /prog2`,
      `${M("home/mikev")}/* -> /home/mikev/`,
      `${M("etc/common_hosts")} -> (cn[1-4],rack2) /etc/hosts.rack`,
      "",
      "EXECUTE:",
      M("scripts/file2.post"),
      "EXECUTEALWAYS:",
      `(cn1) ${M("scripts/always")}`,
      "APPEND:",
      `${M("append/motd")} -> /etc/motd`,
      "MERGE:",
      `${M("merge/passwd")} -> /etc/passwd`,
    ].join("\n");
    const s = parseSynclist(text, "t.synclist");
    expect(s.entries).toEqual([
      { kind: "copy", sources: [M("etc/common_hosts")], dest: "/etc/hosts", intoDir: false, nodes: undefined, line: 2 },
      { kind: "copy", sources: [M("etc/common_hosts")], dest: "/etc", intoDir: true, nodes: undefined, line: 3 },
      { kind: "copy", sources: [M("prog2/conf1"), M("prog2/conf2")], dest: "/prog2", intoDir: true, nodes: undefined, line: 4 },
      { kind: "copy", sources: [`${M("home/mikev")}/*`], dest: "/home/mikev", intoDir: true, nodes: undefined, line: 5 },
      { kind: "copy", sources: [M("etc/common_hosts")], dest: "/etc/hosts.rack", intoDir: false, nodes: "cn[1-4],rack2", line: 6 },
      { kind: "append", sources: [M("append/motd")], dest: "/etc/motd", intoDir: false, nodes: undefined, line: 13 },
      { kind: "merge", sources: [M("merge/passwd")], dest: "/etc/passwd", intoDir: false, nodes: undefined, line: 15 },
    ]);
    expect(s.execute).toEqual([{ script: M("scripts/file2.post"), nodes: undefined, line: 9 }]);
    expect(s.executeAlways).toEqual([{ script: M("scripts/always"), nodes: "cn1", line: 11 }]);
  });

  test("refused with the file and line: relative paths, '..', MERGE of other files, no arrow, empty noderange", () => {
    const bad: [string, RegExp][] = [
      ["etc/hosts -> /etc/hosts", /t:1: source 'etc\/hosts' is not an absolute path/],
      ["/etc/hosts -> /etc/../../root/x", /t:1: destination '\/etc\/..\/..\/root\/x' contains '..'/],
      ["MERGE:\n/x -> /etc/sudoers", /t:2: MERGE works on \/etc\/passwd, \/etc\/shadow, \/etc\/group only/],
      ["/etc/hosts /etc/hosts2", /t:1: .* is not 'source -> destination'/],
      ["/a -> () /b", /t:1: empty noderange/],
      ["/a -> /b /c", /t:1: .*exactly one destination/],
    ];
    for (const [text, re] of bad) {
      let err: unknown;
      try {
        parseSynclist(text, "t");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DataError);
      expect((err as Error).message).toMatch(re);
    }
  });

  test("MERGE replaces entries by name and appends new ones, once", () => {
    const cur = "root:x:0:0:root:/root:/bin/sh\nbin:x:1:1::/bin:/usr/sbin/nologin\n";
    const add = "alice:x:1001:1001::/home/alice:/bin/sh\nroot:x:0:0:root:/root:/bin/bash\n";
    const once = mergeEntries(cur, add);
    expect(once).toBe("root:x:0:0:root:/root:/bin/bash\nbin:x:1:1::/bin:/usr/sbin/nologin\nalice:x:1001:1001::/home/alice:/bin/sh\n");
    expect(mergeEntries(once, add)).toBe(once);
  });
});

function tree(name: string): string {
  const t = join(dir, name);
  mkdirSync(join(t, "etc"), { recursive: true });
  writeFileSync(join(t, "etc/motd"), "image motd\n");
  writeFileSync(join(t, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nbin:x:1:1::/bin:/usr/sbin/nologin\n");
  return t;
}

const LIST = [
  `${M("etc/common_hosts")} -> /etc/hosts`,
  `${M("prog2/conf1")} ${M("prog2/conf2")} -> /prog2`,
  `${M("home/mikev")} -> /home/mikev/`,
  `${M("etc/common_hosts")} -> (cn01) /etc/hosts.cn01`,
  `${M("scripts/file2")} -> /opt/file2`,
  "EXECUTE:",
  M("scripts/file2.post"),
  "APPEND:",
  `${M("append/motd")} -> /etc/motd`,
  "MERGE:",
  `${M("merge/passwd")} -> /etc/passwd`,
].join("\n");

describe("apply into an image tree", () => {
  test("every directive lands as xCAT documents it; a second run changes nothing and appends nothing twice", async () => {
    const t = tree("img1");
    const plan = planSync(parseSynclist(LIST, "l"), null);
    const r = await applySync(plan, new ImageTarget(t));
    expect(readFileSync(join(t, "etc/hosts"), "utf8")).toBe("10.0.0.1 mn\n");
    expect(readFileSync(join(t, "prog2/conf1"), "utf8")).toBe("c1\n");
    expect(lstatSync(join(t, "prog2/conf2")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(t, "home/mikev/.profile"), "utf8")).toBe("profile\n");
    expect(lstatSync(join(t, "home/mikev/bin/tool")).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(t, "home/mikev/tool-link"))).toBe("bin/tool");
    expect(existsSync(join(t, "etc/hosts.cn01"))).toBe(false); // for cn01 only: updatenode -F
    expect(r.notForTarget).toEqual(["l:4"]);
    expect(readFileSync(join(t, "etc/motd"), "utf8")).toBe("image motd\nsite motd line\n");
    expect(readFileSync(join(t, "var/xcat/node/syncfiles/org/etc/motd"), "utf8")).toBe("image motd\n");
    expect(readFileSync(join(t, "etc/passwd"), "utf8")).toBe(
      "root:x:0:0:root:/root:/bin/bash\nbin:x:1:1::/bin:/usr/sbin/nologin\nalice:x:1001:1001::/home/alice:/bin/sh\n",
    );
    expect(r.notRun).toEqual([M("scripts/file2.post")]); // nothing runs against an image
    const again = await applySync(planSync(parseSynclist(LIST, "l"), null), new ImageTarget(t));
    expect(again.changed).toEqual([]);
    expect(again.appended).toEqual([]);
    expect(again.merged).toEqual([]);
    expect(readFileSync(join(t, "etc/motd"), "utf8")).toBe("image motd\nsite motd line\n");
    expect(again.notRun).toEqual([]); // file2 did not change: its EXECUTE script is not due
  });

  test("a missing source is an error naming the line", () => {
    let err: unknown;
    try {
      planSync(parseSynclist(`${M("nope")} -> /x`, "l"), null);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toContain("l:1: the source");
  });

  test("hostile symlinks in the image: nothing is written outside the tree or through a link", async () => {
    const victim = join(dir, "victim");
    mkdirSync(join(victim, "etc"), { recursive: true });
    writeFileSync(join(victim, "etc/hosts"), "victim\n");
    writeFileSync(join(victim, "passwd"), "victim\n");
    const snapshot = () => Bun.spawnSync(["sh", "-c", `cd '${victim}' && find . -printf '%p %s %m\\n' | sort && cat etc/hosts passwd`]).stdout.toString();
    const before = snapshot();
    const t = tree("img-hostile");
    rmSync(join(t, "etc"), { recursive: true });
    mkdirSync(join(t, "etc"));
    symlinkSync(join(victim, "etc/hosts"), join(t, "etc/hosts")); // absolute, to the MN's file
    symlinkSync(victim, join(t, "prog2")); // a directory link out of the tree
    symlinkSync("../../../../../..", join(t, "home")); // a relative climb
    writeFileSync(join(t, "etc/motd"), "image motd\n");
    const r = await applySync(planSync(parseSynclist(LIST, "l"), null), new ImageTarget(t));
    expect(snapshot()).toBe(before);
    // the links were replaced by files in the tree, or resolved inside it as the node would
    expect(lstatSync(join(t, "etc/hosts")).isFile()).toBe(true);
    expect(readFileSync(join(t, "etc/hosts"), "utf8")).toBe("10.0.0.1 mn\n");
    expect(readFileSync(join(t, victim, "conf1"), "utf8")).toBe("c1\n"); // prog2 -> <victim> is <tree><victim> for the node
    expect(readFileSync(join(t, "mikev/.profile"), "utf8")).toBe("profile\n"); // home -> ../../.. stops at the image's /
    expect(r.changed.length).toBeGreaterThan(0);
    // MERGE/APPEND read the file they change: a link there is refused, the MN's file untouched
    rmSync(join(t, "etc/passwd"));
    symlinkSync(join(victim, "passwd"), join(t, "etc/passwd"));
    let err: unknown;
    try {
      await applySync(planSync(parseSynclist(`MERGE:\n${M("merge/passwd")} -> /etc/passwd`, "m"), null), new ImageTarget(t));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toContain("/etc/passwd in the image");
    expect((err as Error).message).toContain("is a symbolic link");
    expect(readlinkSync(join(t, "etc/passwd"))).toBe(join(victim, "passwd"));
    expect(snapshot()).toBe(before);
  });
});

describe("pack and lite apply the image's synclists; --nosyncfiles skips them", () => {
  test("pack syncs osimage.synclists into the tree before archiving", async () => {
    const sb = new Sandbox("synclist-pack");
    try {
      const list = join(sb.dir, "compute.synclist");
      writeFileSync(list, `${M("etc/common_hosts")} -> /etc/hosts\n`);
      const { rootimg } = await defineNetbootImage(sb, "img", [`synclists=${list}`]);
      fakeKernels(rootimg);
      let r = await sb.run("pack", "img", "--nosyncfiles");
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(join(rootimg, "etc/hosts"))).toBe(false);
      r = await sb.run("pack", "img");
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(join(rootimg, "etc/hosts"), "utf8")).toBe("10.0.0.1 mn\n");
      expect(r.stderr).toContain(`synclist ${list}: 1 file(s) synced`);
      const listing = Bun.spawnSync(["sh", "-c", `zcat '${join(rootimg, "..", "rootimg.cpio.gz")}' | cpio -it --quiet`]).stdout.toString();
      expect(listing.split("\n")).toContain("etc/hosts");
      // a bad synclist fails the pack with its line, before anything is archived
      writeFileSync(list, "relative -> /etc/hosts\n");
      r = await sb.run("pack", "img");
      expect(r.code).toBe(65);
      expect(r.stderr).toContain(`${list}:1: source 'relative' is not an absolute path`);
      // a hostile image: /etc/passwd links to the management node's file; MERGE refuses it,
      // the MN's file and the archive already published stay as they were
      const victim = join(sb.dir, "victim-passwd");
      writeFileSync(victim, "victim\n");
      rmSync(join(rootimg, "etc/passwd"), { force: true });
      symlinkSync(victim, join(rootimg, "etc/passwd"));
      writeFileSync(list, `${M("prog2/conf1")} -> /etc/conf1-first\nMERGE:\n${M("merge/passwd")} -> /etc/passwd\n`);
      const archive = readFileSync(join(rootimg, "..", "rootimg.cpio.gz"));
      const xcatinfo = readFileSync(join(rootimg, "opt/xcat/xcatinfo"), "utf8");
      r = await sb.run("pack", "img");
      expect(r.code).toBe(65);
      expect(r.stderr).toMatch(/Error: \/etc\/passwd in the image .* is a symbolic link/);
      expect(r.stderr).toContain("hint:");
      expect(readFileSync(victim, "utf8")).toBe("victim\n");
      expect(readFileSync(join(rootimg, "..", "rootimg.cpio.gz")).equals(archive)).toBe(true);
      expect(existsSync(join(rootimg, "etc/conf1-first"))).toBe(false); // refused before anything was written
      expect(readFileSync(join(rootimg, "opt/xcat/xcatinfo"), "utf8")).toBe(xcatinfo);
    } finally {
      sb.cleanup();
    }
  }, 60000);
});
