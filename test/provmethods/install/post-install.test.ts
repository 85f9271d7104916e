import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDb } from "../../../src/core/db/open";
import { fakeDebianMedia } from "../../helpers/fake-media";
import { createPasswdTable } from "../../helpers/install-site";
import { type Nginx, startNginx } from "../../helpers/nginx";
import { ROOT, Sandbox } from "../../helpers/sandbox";
import { freePort, Sshd } from "../../helpers/sshd";

/**
 * An install node's end of install without xcatd, every part real: `xcimg boot` writes the
 * node's <node>+post and its nginx locations; a real nginx (workers as www-data, its dav
 * module) serves them; the script runs as debian-installer's late_command runs it
 * (`sh <node>+post /target`, from outside the target) against a busybox root standing in for
 * the installed system: the postscripts run inside it by chroot, the node PUTs its installed
 * marker, and `boot --stat` then says the node boots its disk. Its "first boot" runs the
 * first-boot unit's script in the same root; a real sshd chrooted into it, presenting the host
 * key the +post script installed, then answers `xcimg node status` with `booted`.
 */
const IMG = "debian12.5.0-x86_64-install-compute";
let sb: Sandbox;
let base = "";
let target = "";
let nginx: Nginx | undefined;
let sshd: Sshd | undefined;
let port = 0;
let sshPort = 0;

const must = async (...argv: string[]) => {
  const r = await sb.run(...argv);
  if (r.code !== 0) throw new Error(`xcimg ${argv.join(" ")}: ${r.stderr}`);
  return r;
};

beforeAll(async () => {
  // sshd requires every directory above a chroot to be root-owned and closed: not under /tmp
  base = mkdtempSync("/var/lib/xcimg-test-install-");
  target = join(base, "target");
  execFileSync("bash", [join(ROOT, "scripts/mkroot-busybox.sh"), target], { stdio: ["ignore", "ignore", "pipe"] });
  rmSync(join(target, "lib/modules"), { recursive: true, force: true });
  writeFileSync(join(target, "bin/bash"), '#!/bin/sh\nexec /bin/sh "$@"\n', { mode: 0o755 });
  execFileSync("mknod", ["-m", "666", join(target, "dev/null"), "c", "1", "3"]);
  mkdirSync(join(target, "etc/chrony"), { recursive: true }); // chrony's config directory: setupntp writes chrony.conf
  sshPort = await freePort();
  // the MN's key pair, as ssh.identity: +post puts the public half into root's authorized_keys
  mkdirSync(join(base, "mn"));
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(base, "mn", "id_ed25519")]);
  port = await freePort();
  sb = new Sandbox("install-post", `[ssh]\nidentity = "${join(base, "mn", "id_ed25519")}"\nport = ${sshPort}`);
  chmodSync(sb.dir, 0o755); // nginx's workers (www-data) traverse the sandbox, as they traverse /install
  writeFileSync(sb.config, `${readFileSync(sb.config, "utf8")}\n[http]\nport = ${port}\n`);
  fakeDebianMedia(join(sb.installdir, "debian12.5.0", "x86_64"), { kernel: "d-i kernel\n", initrd: "d-i initrd\n" });
  await must("image", "media", join(sb.installdir, "debian12.5.0", "x86_64"));
  const ps = join(sb.installdir, "postscripts");
  mkdirSync(ps, { recursive: true });
  const script = (name: string, body: string) => writeFileSync(join(ps, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  script("sitepost", 'echo "node=$NODE state=$NODESETSTATE args=$#:$1:$2" >>/root/sitepost.out');
  script("firstup", 'echo "postboot $NODE" >>/root/firstup.out');
  await must("table", "set", "site", "key=timezone", "value=Europe/Paris");
  const db = openDb(sb.dbPath);
  createPasswdTable(db, [{ key: "system", username: "root", password: "cluster" }]);
  db.close();
  await must(
    "node",
    "set",
    "cn07",
    "groups=compute,all",
    "mac=52:54:00:12:34:07",
    "ip=127.0.0.1",
    "xcatmaster=127.0.0.1",
    "postscripts=sitepost hello world,syncfiles,setupntp",
    "postbootscripts=firstup",
  );
  await must("node", "set", "cn08", "groups=compute,all", "mac=52:54:00:12:34:08", "ip=10.9.9.8", "xcatmaster=127.0.0.1");
  await must("boot", "cn07,cn08", "-o", IMG);
  nginx = await startNginx(sb, port);
}, 120000);
afterAll(async () => {
  await nginx?.stop();
  await sshd?.stop();
  sb?.cleanup();
  if (base) rmSync(base, { recursive: true, force: true });
});

const url = (path: string) => `http://127.0.0.1:${port}${path}`;

describe("install: postscripts, first boot and the installed mark, without a daemon", () => {
  test("boot writes <node>+post (0640, only for the node's address), the preseed runs it, the iPXE script asks for the mark first", async () => {
    const post = join(sb.installdir, "autoinst", "cn07+post");
    expect(statSync(post).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(sb.installdir, "autoinst", "cn07"), "utf8")).toContain(
      `d-i preseed/late_command string wget -q -O /tmp/xcimg-post.sh http://127.0.0.1:${port}/install/autoinst/cn07+post && sh /tmp/xcimg-post.sh /target`,
    );
    expect(Bun.spawnSync(["sh", "-n", post]).exitCode).toBe(0);
    const ipxe = readFileSync(join(sb.tftpdir, "xcat", "xnba", "nodes", "cn07"), "utf8");
    expect(ipxe.split("\n").slice(0, 7)).toEqual([
      "#!gpxe",
      "#install debian12.5.0-x86_64-compute",
      `#local-once-exists ${join(sb.installdir, "xcimg-installed", "cn07")}`,
      `imgfetch -n done http://127.0.0.1:${port}/install/xcimg-installed/cn07 && goto done || goto install`,
      ":done",
      "imgfree done",
      "exit",
    ]);
    expect((await fetch(url("/install/autoinst/cn08+post"))).status).toBe(403); // another node's host key
    expect((await must("boot", "cn07", "--stat")).stdout).toMatch(
      /^cn07: install debian12.5.0-x86_64-compute \(image debian12.5.0-x86_64-install-compute, xnba\)/,
    );
  });

  test("the installer's end: postscripts in the target with their arguments, then the node's own mark (PUT); --stat says boot", async () => {
    const got = await fetch(url("/install/autoinst/cn07+post"));
    expect(got.status).toBe(200);
    const script = join(base, "cn07+post");
    writeFileSync(script, await got.text());
    const run = Bun.spawnSync(["sh", script, target], { stdout: "pipe", stderr: "pipe" });
    const out = run.stdout.toString() + run.stderr.toString();
    expect(run.exitCode, out).toBe(0);
    expect(out).toContain(`installed: marked at http://127.0.0.1:${port}/install/xcimg-installed/cn07`);
    expect(readFileSync(join(target, "root/sitepost.out"), "utf8")).toBe("node=cn07 state=install args=2:hello:world\n");
    expect(existsSync(join(target, "root/firstup.out"))).toBe(false); // not before the first boot
    expect(readFileSync(join(target, "var/lib/xcimg/postscripts.rc"), "utf8")).toBe("postscript sitepost 0\npostscript setupntp 0\n");
    // xcimg's own setupntp came with +post (the site has no file of that name) and ran in the target
    expect(readFileSync(join(target, "etc/chrony/chrony.conf"), "utf8")).toContain("server 127.0.0.1 iburst");
    expect(readFileSync(script, "utf8")).not.toMatch(/^XCIMG_FETCH=.*setupntp/m);
    expect(readFileSync(join(target, "etc/ssh/ssh_host_ed25519_key.pub"), "utf8")).toMatch(/^ssh-ed25519 \S+ root@cn07\n$/);
    expect(readFileSync(join(target, "root/.ssh/authorized_keys"), "utf8")).toContain(readFileSync(join(base, "mn", "id_ed25519.pub"), "utf8").trim());
    expect(readlinkSync(join(target, "etc/systemd/system/multi-user.target.wants/xcimg-install-firstboot.service"))).toBe(
      "/etc/systemd/system/xcimg-install-firstboot.service",
    );
    expect(readFileSync(join(target, "etc/systemd/system/xcimg-install-firstboot.service"), "utf8")).toContain(
      "ExecStart=/bin/sh /etc/xcimg/install-firstboot.sh",
    );
    expect(readFileSync(join(sb.installdir, "xcimg-installed", "cn07"), "utf8")).toMatch(/^# GRUB Environment Block\nxcimg_done=cn07\n# installed \d{4}-/);
    const stat = await must("boot", "cn07", "--stat");
    expect(stat.stdout).toBe(`cn07: boot (local disk, xnba, installed: ${join(sb.installdir, "xcimg-installed", "cn07")} exists)\n`);
  }, 60000);

  test("inside the target (kickstart %post, AutoYaST chrooted) without curl: busybox wget fetches, nc PUTs the mark", async () => {
    rmSync(join(sb.installdir, "xcimg-installed", "cn07"));
    expect(existsSync(join(target, "usr/bin/curl")) || existsSync(join(target, "bin/curl"))).toBe(false);
    writeFileSync(join(target, "tmp/xcimg-post.sh"), readFileSync(join(base, "cn07+post")));
    const run = Bun.spawnSync(["chroot", target, "/bin/sh", "/tmp/xcimg-post.sh", "/"], { stdout: "pipe", stderr: "pipe" });
    expect(run.exitCode, run.stdout.toString() + run.stderr.toString()).toBe(0);
    expect(readFileSync(join(target, "root/sitepost.out"), "utf8")).toBe("node=cn07 state=install args=2:hello:world\n".repeat(2));
    expect(readFileSync(join(sb.installdir, "xcimg-installed", "cn07"), "utf8")).toMatch(/^# GRUB Environment Block\nxcimg_done=cn07\n# installed \d{4}-/);
  }, 60000);

  test("a node cannot mark another node, nor put more than a few bytes", async () => {
    expect((await fetch(url("/install/xcimg-installed/cn08"), { method: "PUT", body: "x" })).status).toBe(403);
    expect(existsSync(join(sb.installdir, "xcimg-installed", "cn08"))).toBe(false);
    expect((await fetch(url("/install/xcimg-installed/cn07"), { method: "PUT", body: "x".repeat(4096) })).status).toBe(413);
    expect((await fetch(url("/install/xcimg-installed/other"), { method: "PUT", body: "x" })).status).toBe(405); // no location: plain static files
  });

  test("first boot: the postbootscripts run once; node status over SSH (the installed host key) says booted, also after a reboot", async () => {
    const boot = () => {
      rmSync(join(target, "run"), { recursive: true, force: true }); // a new boot: an empty /run
      mkdirSync(join(target, "run"));
      return Bun.spawnSync(["chroot", target, "/bin/sh", "/etc/xcimg/install-firstboot.sh"], { stdout: "pipe", stderr: "pipe" });
    };
    expect(boot().exitCode).toBe(0);
    expect(readFileSync(join(target, "root/firstup.out"), "utf8")).toBe("postboot cn07\n");
    sshd = await Sshd.start({
      address: "127.0.0.1",
      port: sshPort,
      hostKeyType: "ecdsa",
      config: [`ChrootDirectory ${target}`, `HostKey ${join(target, "etc/ssh/ssh_host_ed25519_key")}`],
    });
    // the server's own AuthorizedKeysFile (sshd takes the first): it gets the key +post installed
    writeFileSync(join(sshd.dir, "authorized_keys"), readFileSync(join(target, "root/.ssh/authorized_keys")));
    const st = await sb.run("node", "status", "cn07");
    // syncfiles is listed, but an install applies no synclists: named, not claimed as done
    expect(st.stdout, st.stderr).toBe("cn07: booted (not run: syncfiles)\n");
    expect(st.code).toBe(0);
    expect(boot().exitCode).toBe(0);
    expect(readFileSync(join(target, "root/firstup.out"), "utf8")).toBe("postboot cn07\n"); // once only
    expect((await sb.run("node", "status", "cn07")).stdout).toBe("cn07: booted (not run: syncfiles)\n");
  }, 60000);

  test("booting the node to install again removes its mark: the next network boot installs", async () => {
    await must("boot", "cn07", "-o", IMG);
    expect(existsSync(join(sb.installdir, "xcimg-installed", "cn07"))).toBe(false);
    expect((await must("boot", "cn07", "--stat")).stdout).toStartWith("cn07: install debian12.5.0-x86_64-compute");
  });
});
