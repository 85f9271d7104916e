import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeContext } from "../../../src/cli/context";
import { loadConfig } from "../../../src/core/config/load";
import type { Context } from "../../../src/core/context";
import { getImage } from "../../../src/core/defs/image";
import { MemoryLogger } from "../../../src/core/log";
import { type InstallPrepResult, prepareInstall } from "../../../src/provmethods/install/prepare";
import { fakeDebianMedia, fakeRhelMedia, fakeSlesMedia } from "../../helpers/fake-media";
import { installSite } from "../../helpers/install-site";
import { checkKickstart } from "../../helpers/kickstart-check";
import type { Sandbox } from "../../helpers/sandbox";

let sb: Sandbox;
let site: Awaited<ReturnType<typeof installSite>>;
let closeSite: () => void;
beforeAll(async () => {
  site = await installSite("prep");
  sb = site.sb;
  closeSite = () => site.db.close();
  fakeRhelMedia(join(sb.installdir, "rhels9.4", "x86_64"));
  fakeSlesMedia(join(sb.installdir, "sle15.5", "x86_64"));
  fakeDebianMedia(join(sb.installdir, "debian12.5.0", "x86_64"), { kernel: "d-i kernel\n", initrd: "d-i initrd\n" });
  for (const os of ["rhels9.4", "sle15.5", "debian12.5.0"]) {
    const r = await sb.run("image", "media", join(sb.installdir, os, "x86_64"));
    if (r.code !== 0) throw new Error(r.stderr);
  }
});
afterAll(() => {
  closeSite?.();
  sb?.cleanup();
});

function context(): Context & { closeDb(): void } {
  const config = loadConfig({ file: sb.config });
  return makeContext({ config, log: new MemoryLogger(), signal: new AbortController().signal, json: false, verbose: false, quiet: true, env: {} });
}

async function prepare(image: string, nodes: string[]): Promise<InstallPrepResult> {
  const ctx = context();
  try {
    return await prepareInstall(ctx, getImage(ctx.db(), image), nodes);
  } finally {
    ctx.closeDb();
  }
}

/** The root hash checked with the system's crypt(3) (glibc via Python), independently of our code. */
function cryptMatches(password: string, hash: string): boolean {
  const py = Bun.spawnSync(["python3", "-W", "ignore", "-c", "import crypt,sys; print(crypt.crypt(sys.argv[1], sys.argv[2]) == sys.argv[2])", password, hash]);
  return py.stdout.toString().trim() === "True";
}

describe("install boot preparation: RHEL-like (kickstart)", () => {
  const img = "rhels9.4-x86_64-install-compute";

  test("xcimg boot renders each node's kickstart and copies vmlinuz/initrd.img from the media", async () => {
    const r = await sb.run("boot", "cn01,cn02.cluster", "-o", img);
    // install nodes get root's authorized_keys now (xCAT's remoteshell); this site has no key
    expect(r.stderr.replace(/^Warning: no public key at .*\n/m, "")).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("cn01: install rhels9.4-x86_64-compute\ncn02.cluster: install rhels9.4-x86_64-compute\n");
    const boot = join(sb.tftpdir, "xcat", "osimage", img);
    expect(readFileSync(join(boot, "vmlinuz"), "utf8")).toBe("EL kernel\n");
    expect(readFileSync(join(boot, "initrd.img"), "utf8")).toBe("EL initrd\n");
    for (const n of ["cn01", "cn02.cluster"]) expect(existsSync(join(sb.installdir, "autoinst", n))).toBe(true);
    // the boot loader file (xnba, the default loader) starts the installer with the node's command line
    expect(readFileSync(join(sb.tftpdir, "xcat", "xnba", "nodes", "cn02.cluster"), "utf8")).toBe(
      [
        "#!gpxe",
        "#install rhels9.4-x86_64-compute",
        `imgfetch -n kernel http://\${next-server}/tftpboot/xcat/osimage/${img}/vmlinuz`,
        "imgload kernel",
        `imgargs kernel inst.repo=http://10.0.2.2:80/install/rhels9.4/x86_64 inst.ks=http://10.0.2.2:80/install/autoinst/cn02.cluster ip=dhcp  BOOTIF=01-\${netX/mac:hexhyp}`,
        `imgfetch -n initrd.img http://\${next-server}/tftpboot/xcat/osimage/${img}/initrd.img`,
        "imgexec kernel",
        "",
      ].join("\n"),
    );
    // and nodeset's bookkeeping
    const show = (await sb.run("node", "show", "cn01")).stdout;
    for (const kv of [
      `provmethod=${img}`,
      "currstate=install rhels9.4-x86_64-compute",
      `kernel=xcat/osimage/${img}/vmlinuz`,
      `initrd=xcat/osimage/${img}/initrd.img`,
      "os=rhels9.4",
    ]) {
      expect(show).toContain(`    ${kv}\n`);
    }
  });

  test("grub2 and pxelinux nodes get their files under the MAC (and IP) names", async () => {
    expect((await sb.run("node", "set", "cn01", "netboot=grub2", "ip=10.0.0.101")).code).toBe(0);
    expect((await sb.run("node", "set", "cn02.cluster", "netboot=pxe")).code).toBe(0);
    const r = await sb.run("boot", "cn01,cn02.cluster", "-o", img);
    expect(r.code).toBe(0);
    const grub = readFileSync(join(sb.tftpdir, "boot", "grub2", "grub.cfg-01-52-54-00-aa-00-01"), "utf8");
    expect(grub).toContain(
      `    linuxefi /xcat/osimage/${img}/vmlinuz inst.repo=http://10.0.0.5:80/install/rhels9.4/x86_64 inst.ks=http://10.0.0.5:80/install/autoinst/cn01 ip=dhcp  inst.cmdline  console=tty0 console=ttyS0,115200 BOOTIF=$net_default_mac\n`,
    );
    expect(readFileSync(join(sb.tftpdir, "boot", "grub2", "grub.cfg-0A000065"), "utf8")).toBe(grub);
    expect(readFileSync(join(sb.tftpdir, "pxelinux.cfg", "01-52-54-00-aa-00-02"), "utf8")).toContain(`APPEND initrd=xcat/osimage/${img}/initrd.img inst.repo=`);
    expect(existsSync(join(sb.tftpdir, "xcat", "xnba", "nodes", "cn01"))).toBe(false); // switching loader removes the old file
    expect((await sb.run("node", "set", "cn01,cn02.cluster", "netboot=", "ip=")).code).toBe(0);
  });

  test("kernel command lines are xCAT's (EL >= 7), per node", async () => {
    const res = await prepare(img, ["cn01", "cn02.cluster"]);
    expect(res.failures).toEqual({});
    expect(res.nodes).toEqual([
      {
        node: "cn01",
        kernel: `xcat/osimage/${img}/vmlinuz`,
        initrds: [`xcat/osimage/${img}/initrd.img`],
        // nfsserver, ip=dhcp (a MAC, no installnic), serial console from nodehm
        kcmdline:
          "inst.repo=http://10.0.0.5:80/install/rhels9.4/x86_64 inst.ks=http://10.0.0.5:80/install/autoinst/cn01 ip=dhcp  inst.cmdline  console=tty0 console=ttyS0,115200",
        baseKcmdline:
          "inst.repo=http://10.0.0.5:80/install/rhels9.4/x86_64 inst.ks=http://10.0.0.5:80/install/autoinst/cn01 ip=dhcp  inst.cmdline  console=tty0 console=ttyS0,115200",
        autoinst: join(sb.installdir, "autoinst", "cn01"),
        post: join(sb.installdir, "autoinst", "cn01+post"),
        marker: undefined, // no hosts.ip: nginx could not tell its PUT from another node's
        currstate: "install rhels9.4-x86_64-compute",
      },
      {
        node: "cn02.cluster",
        kernel: `xcat/osimage/${img}/vmlinuz`,
        initrds: [`xcat/osimage/${img}/initrd.img`],
        // no nfsserver: the xcatmaster its group sets
        kcmdline: "inst.repo=http://10.0.2.2:80/install/rhels9.4/x86_64 inst.ks=http://10.0.2.2:80/install/autoinst/cn02.cluster ip=dhcp ",
        baseKcmdline: "inst.repo=http://10.0.2.2:80/install/rhels9.4/x86_64 inst.ks=http://10.0.2.2:80/install/autoinst/cn02.cluster ip=dhcp ",
        autoinst: join(sb.installdir, "autoinst", "cn02.cluster"),
        post: join(sb.installdir, "autoinst", "cn02.cluster+post"),
        marker: undefined,
        currstate: "install rhels9.4-x86_64-compute",
      },
    ]);
  });

  test("the rendered kickstart passes the kickstart check and carries a root hash crypt(3) accepts", async () => {
    await prepare(img, ["cn01", "cn02.cluster"]);
    for (const [node, mac] of [
      ["cn01", "52:54:00:aa:00:01"],
      ["cn02.cluster", "52:54:00:aa:00:02"],
    ] as const) {
      const ks = readFileSync(join(sb.installdir, "autoinst", node), "utf8");
      expect(checkKickstart(ks)).toEqual([]);
      expect(ks).toContain(`network --onboot=yes --bootproto=dhcp --device=${mac}`);
      expect(ks).toContain(`network --hostname=${node}`);
      expect(ks).toContain("timezone Europe/Berlin --utc");
      const hash = /^rootpw --iscrypted (\S+)$/m.exec(ks)?.[1] as string;
      expect(hash).toStartWith("$6$");
      expect(cryptMatches("cluster", hash)).toBe(true);
      expect(cryptMatches("wrong", hash)).toBe(false);
      // the end of install: in %post (already chrooted), the node's +post, 0640 like the kickstart
      const server = node === "cn01" ? "10.0.0.5" : "10.0.2.2";
      const post = ks.slice(ks.indexOf("%post --log=/root/xcimg-install.log\n"));
      expect(post.split("\n").slice(-3)).toEqual([
        `{ curl -fsS -o /tmp/xcimg-post.sh http://${server}/install/autoinst/${node}+post || wget -q -O /tmp/xcimg-post.sh http://${server}/install/autoinst/${node}+post; } && sh /tmp/xcimg-post.sh /`,
        "%end",
        "",
      ]);
      const postFile = join(sb.installdir, "autoinst", `${node}+post`);
      expect(Bun.spawnSync(["sh", "-n", postFile]).exitCode).toBe(0);
      expect(statSync(postFile).mode & 0o777).toBe(statSync(join(sb.installdir, "autoinst", node)).mode & 0o777);
      expect(readFileSync(postFile, "utf8")).toContain(`XCIMG_NODE='${node}'`);
    }
  });

  test("the kickstart check itself rejects what ksvalidator would", () => {
    expect(checkKickstart("text\n%packages\nvim\n")).toEqual(["end of file: %packages not closed by %end"]);
    expect(checkKickstart("netwrk --bootproto=dhcp\n")).toEqual(["1: unknown kickstart command 'netwrk'"]);
    expect(checkKickstart("network --bootproto=magic\n")).toEqual(["1: bad --bootproto magic"]);
    expect(checkKickstart("timezone Mars/Olympus\n")).toEqual(["1: unknown time zone 'Mars/Olympus'"]);
    expect(checkKickstart("rootpw cluster\n")).toEqual(["1: rootpw must be --iscrypted <$6$ hash>"]);
    expect(checkKickstart("clearpart --everything\n")).toEqual(["1: clearpart has no option --everything"]);
    expect(checkKickstart("timezone #TABLE:site:key=timezone:value#\n")[0]).toStartWith("1: unexpanded directive");
  });

  test("a node whose template fails is reported with file and line; the others still get their files (exit 1)", async () => {
    // boots from a MAC given as installnic, but has no mac table entry for #KICKSTARTNET#
    expect((await sb.run("node", "set", "cn03", "groups=compute,all", "installnic=52:54:00:aa:00:03")).code).toBe(0);
    expect((await sb.run("node", "set", "cn04", "groups=compute,all")).code).toBe(0);
    writeFileSync(join(sb.installdir, "autoinst", "cn01"), "stale\n");
    const r = await sb.run("boot", "cn01,cn03,cn04", "-o", img);
    expect(r.code).toBe(1);
    const tmpl = join(sb.installdir, "custom", "install", "rh", "compute.tmpl");
    const line = readFileSync(tmpl, "utf8").split("\n").indexOf("#KICKSTARTNET#") + 1;
    expect(r.stderr).toContain(`cn03: ${tmpl}:${line}: missing mac data for cn03 (set it with 'xcimg node set cn03 mac=...')`);
    expect(r.stderr).toContain("cn04: No MAC address available for this node");
    expect(r.stdout).toBe("cn01: install rhels9.4-x86_64-compute\n");
    expect(readFileSync(join(sb.installdir, "autoinst", "cn01"), "utf8")).toContain("rootpw --iscrypted");
    expect(existsSync(join(sb.installdir, "autoinst", "cn03"))).toBe(false);
    expect(existsSync(join(sb.tftpdir, "xcat", "xnba", "nodes", "cn03"))).toBe(false);
  });

  test("a node whose MAC or IP no loader file may be named after is reported before its answer file is rendered (exit 1)", async () => {
    // values no `node set` accepts, as a restored or hand-edited table may hold them
    site.db.sqlite.exec("INSERT INTO nodelist (node, groups) VALUES ('cn05', 'compute,all')");
    site.db.sqlite.exec("INSERT INTO mac (node, mac) VALUES ('cn05', '52:54:00:aa:00:05')");
    site.db.sqlite.exec("INSERT INTO hosts (node, ip) VALUES ('cn05', '10.0.0.15/../../x')");
    const r = await sb.run("boot", "cn01,cn05", "-o", img);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("cn01: install rhels9.4-x86_64-compute\n");
    expect(r.stderr).toContain("cn05: ip '10.0.0.15/../../x' is not an IPv4 address");
    expect(existsSync(join(sb.installdir, "autoinst", "cn05"))).toBe(false);
    expect(existsSync(join(sb.tftpdir, "xcat", "xnba", "nodes", "cn05"))).toBe(false);
    expect((await sb.run("node", "show", "cn05")).stdout).not.toContain("currstate=");
    site.db.sqlite.exec("DELETE FROM hosts WHERE node = 'cn05'; DELETE FROM mac WHERE node = 'cn05'; DELETE FROM nodelist WHERE node = 'cn05'");
  });

  test("addkcmdline: volatile words go on this boot's command line, R:: words into the installed system", async () => {
    expect((await sb.run("table", "set", "bootparams", "node=cn02.cluster", "addkcmdline=rd.debug R::console=ttyS1,115200")).code).toBe(0);
    const res = await prepare(img, ["cn02.cluster"]);
    const e = res.nodes[0];
    expect(e?.kcmdline).toBe(`${e?.baseKcmdline} rd.debug`);
    expect(readFileSync(join(sb.installdir, "autoinst", "cn02.cluster"), "utf8")).toContain('bootloader --append="console=ttyS1,115200"');
    expect((await sb.run("table", "set", "bootparams", "node=cn02.cluster", "addkcmdline=")).code).toBe(0);
  });

  test("xcimg image render prints one node's kickstart without writing it", async () => {
    const before = readFileSync(join(sb.installdir, "autoinst", "cn02.cluster"), "utf8");
    const r = await sb.run("image", "render", img, "cn02.cluster");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("network --hostname=cn02.cluster");
    expect(checkKickstart(r.stdout)).toEqual([]);
    expect(readFileSync(join(sb.installdir, "autoinst", "cn02.cluster"), "utf8")).toBe(before);
    expect((await sb.run("image", "render", img, "nosuchnode")).stderr).toContain("nosuchnode is not a defined node");
    const r3 = await sb.run("image", "render", img, "cn03"); // a node with no mac table entry
    expect(r3.code).toBe(65);
    expect(r3.stderr).toContain("missing mac data for cn03");
  });

  test("missing media: xCAT's message for every node", async () => {
    expect(
      (await sb.run("image", "set", "rhels8.10-x86_64-install-compute", "provmethod=install", "osvers=rhels8.10", "osarch=x86_64", "profile=compute")).code,
    ).toBe(0);
    const r = await sb.run("boot", "cn01,cn02.cluster", "-o", "rhels8.10-x86_64-install-compute");
    expect(r.code).toBe(1);
    for (const n of ["cn01", "cn02.cluster"]) expect(r.stderr).toContain(`${n}: This image requires that you first copy media for rhels8.10-x86_64`);
  });
});

describe("install boot preparation: SLES (AutoYaST) and Debian (preseed)", () => {
  test("SLES: linux/initrd from disc 1, autoyast= and install=, the profile is well-formed XML", async () => {
    const img = "sle15.5-x86_64-install-compute";
    const res = await prepare(img, ["cn01"]);
    expect(res.failures).toEqual({});
    expect(res.nodes[0]).toMatchObject({
      kernel: `xcat/osimage/${img}/linux`,
      initrds: [`xcat/osimage/${img}/initrd`],
      kcmdline:
        "autoyast=http://10.0.0.5:80/install/autoinst/cn01 install=http://10.0.0.5:80/install/sle15.5/x86_64/1 netdevice=52:54:00:aa:00:01  console=tty0 console=ttyS0,115200",
    });
    const file = join(sb.installdir, "autoinst", "cn01");
    const lint = Bun.spawnSync(["xmllint", "--noout", file], { stderr: "pipe" });
    expect(lint.stderr.toString()).toBe("");
    expect(lint.exitCode).toBe(0);
    const xml = readFileSync(file, "utf8");
    expect(xml).toContain("<timezone>Europe/Berlin</timezone>");
    expect(xml).toContain("<package>openssh</package>");
    expect(xml).toContain("<pattern>base</pattern>");
    // SLE 15 Full media: one add-on per module and product directory (no SAP, no SLES_SAP)
    const media = "<media_url>http://10.0.0.5:80/install/sle15.5/x86_64/1</media_url>";
    expect(xml).toContain(`<listentry>${media}<product>sle-module-basesystem</product><product_dir>/Module-Basesystem</product_dir></listentry>`);
    expect(xml).toContain(
      `<listentry>${media}<product>sle-module-server-applications</product><product_dir>/Module-Server-Applications</product_dir></listentry>`,
    );
    expect(xml).toContain(`<listentry>${media}<product>SLES</product><product_dir>/Product-SLES</product_dir></listentry>`);
    expect(xml).not.toContain("SAP");
    // the end of install: a chroot script inside the installed system runs the node's +post
    const script = /<chroot-scripts config:type="list">\s*<script>([\s\S]*?)<\/script>/.exec(xml)?.[1] ?? "";
    expect(script).toContain('<chrooted config:type="boolean">true</chrooted>');
    expect(script).toContain("<interpreter>shell</interpreter>");
    expect(script).toContain(
      "<source><![CDATA[\n{ curl -fsS -o /tmp/xcimg-post.sh http://10.0.0.5/install/autoinst/cn01+post || wget -q -O /tmp/xcimg-post.sh http://10.0.0.5/install/autoinst/cn01+post; } && sh /tmp/xcimg-post.sh /\n]]></source>",
    );
  });

  test("Debian: netboot linux/initrd.gz, url= preseed, and the preseed passes debconf-set-selections --checkonly", async () => {
    const img = "debian12.5.0-x86_64-install-compute";
    const res = await prepare(img, ["cn01", "cn02.cluster"]);
    expect(res.failures).toEqual({});
    expect(res.nodes.map((n) => n.kcmdline)).toEqual([
      "auto=true priority=critical url=http://10.0.0.5:80/install/autoinst/cn01 mirror/http/hostname=10.0.0.5 mirror/http/directory=/install/debian12.5.0/x86_64 netcfg/choose_interface=auto locale=en_US.UTF-8 keymap=us hostname=cn01 domain=cluster.example console=tty0 console=ttyS0,115200",
      "auto=true priority=critical url=http://10.0.2.2:80/install/autoinst/cn02.cluster mirror/http/hostname=10.0.2.2 mirror/http/directory=/install/debian12.5.0/x86_64 netcfg/choose_interface=auto locale=en_US.UTF-8 keymap=us hostname=cn02 domain=cluster.example",
    ]);
    const boot = join(sb.tftpdir, "xcat", "osimage", img);
    expect(readFileSync(join(boot, "vmlinuz"), "utf8")).toBe("d-i kernel\n");
    expect(readFileSync(join(boot, "initrd.img"), "utf8")).toBe("d-i initrd\n");
    for (const n of ["cn01", "cn02.cluster"]) {
      const file = join(sb.installdir, "autoinst", n);
      const check = Bun.spawnSync(["debconf-set-selections", "--checkonly", file], { stderr: "pipe" });
      expect(check.stderr.toString()).toBe("");
      expect(check.exitCode).toBe(0);
      const preseed = readFileSync(file, "utf8");
      expect(preseed).toContain(`d-i netcfg/get_hostname string ${n.replace(/\..*/, "")}`);
      expect(preseed).toContain("d-i pkgsel/include string openssh-server chrony nfs-common rsync wget gawk");
      const hash = /root-password-crypted password (\S+)/.exec(preseed)?.[1] as string;
      expect(cryptMatches("cluster", hash)).toBe(true);
      // the end of install, from debian-installer's own environment into /target
      const server = n === "cn01" ? "10.0.0.5" : "10.0.2.2";
      expect(preseed).toContain(
        `\nd-i preseed/late_command string wget -q -O /tmp/xcimg-post.sh http://${server}/install/autoinst/${n}+post && sh /tmp/xcimg-post.sh /target\n`,
      );
    }
    // the check is a real one: it complains about a malformed line
    writeFileSync(join(sb.dir, "bad.preseed"), "d-i netcfg/get_hostname\n");
    expect(Bun.spawnSync(["debconf-set-selections", "--checkonly", join(sb.dir, "bad.preseed")], { stderr: "pipe" }).stderr.toString()).not.toBe("");
  });
});
