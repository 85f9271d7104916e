import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GRUB2_BOOT, PXELINUX_BOOT } from "../../../src/core/boot/local-boot";
import { openDb } from "../../../src/core/db/open";
import { fakeDebianMedia } from "../../helpers/fake-media";
import { createPasswdTable } from "../../helpers/install-site";
import { type Nginx, startNginx } from "../../helpers/nginx";
import { Sandbox } from "../../helpers/sandbox";
import { freePort } from "../../helpers/sshd";

/**
 * The installed marker for GRUB2 and pxelinux install nodes (iPXE's is post-install.test.ts):
 * a GRUB2 file reads the marker over HTTP (load_env) before its menu and real grub-script-check
 * (GRUB 2.06, grub-common) accepts it; a pxelinux file only names it, and `xcimg boot <nr> boot
 * --if-marked` switches exactly the nodes whose marker a real nginx received by WebDAV PUT.
 */
const IMG = "debian12.5.0-x86_64-install-compute";
let sb: Sandbox;
let nginx: Nginx | undefined;
let port = 0;

const must = async (...argv: string[]) => {
  const r = await sb.run(...argv);
  if (r.code !== 0) throw new Error(`xcimg ${argv.join(" ")}: ${r.stderr}`);
  return r;
};

/** grub-script-check's verdict on a GRUB script. */
function grubCheck(text: string): { code: number; out: string } {
  const f = join(sb.dir, "check.cfg");
  writeFileSync(f, text);
  const r = Bun.spawnSync(["grub-script-check", f], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString() + r.stderr.toString() };
}

beforeAll(async () => {
  port = await freePort();
  sb = new Sandbox("install-marker-loaders");
  chmodSync(sb.dir, 0o755); // nginx's workers (www-data) traverse the sandbox
  writeFileSync(sb.config, `${readFileSync(sb.config, "utf8")}\n[http]\nport = ${port}\n`);
  fakeDebianMedia(join(sb.installdir, "debian12.5.0", "x86_64"), { kernel: "d-i kernel\n", initrd: "d-i initrd\n" });
  await must("image", "media", join(sb.installdir, "debian12.5.0", "x86_64"));
  const db = openDb(sb.dbPath);
  createPasswdTable(db, [{ key: "system", username: "root", password: "cluster" }]);
  db.close();
  await must("table", "set", "site", "key=timezone", "value=Europe/Paris");
  await must("node", "set", "cn07", "groups=compute,all", "mac=52:54:00:12:34:07", "ip=127.0.0.1", "xcatmaster=127.0.0.1", "netboot=grub2");
  await must("node", "set", "cn08", "groups=compute,all", "mac=52:54:00:12:34:08", "ip=10.9.9.8", "xcatmaster=127.0.0.1", "netboot=pxe");
  await must("boot", "cn07,cn08", "-o", IMG);
  nginx = await startNginx(sb, port);
}, 120000);
afterAll(async () => {
  await nginx?.stop();
  sb?.cleanup();
});

const marker = () => join(sb.installdir, "xcimg-installed", "cn07");

describe("install: GRUB2 and pxelinux nodes boot their disk once installed", () => {
  test("GRUB2: the marker is read over HTTP (load_env, it must name the node) before the menu; grub-script-check accepts the file", () => {
    const grub = readFileSync(join(sb.tftpdir, "boot", "grub2", "grub.cfg-01-52-54-00-12-34-07"), "utf8");
    expect(grub.split("\n").slice(0, 9)).toEqual([
      "#install debian12.5.0-x86_64-compute",
      `#local-once-exists ${marker()}`,
      "set timeout=5",
      "insmod http",
      "insmod loadenv",
      "set xcimg_done=",
      `load_env -f (http,127.0.0.1:${port})/install/xcimg-installed/cn07 xcimg_done`,
      'if [ "$xcimg_done" = "cn07" ]; then',
      '    if [ "$grub_platform" = "efi" ]; then',
    ]);
    expect(grub).toContain("            boot\n        fi\n    fi\n    exit\nfi\nset default=");
    expect(grubCheck(grub)).toEqual({ code: 0, out: "" });
    expect(grubCheck(GRUB2_BOOT)).toEqual({ code: 0, out: "" });
    // the check can fail: the same file with its marker test left open
    expect(grubCheck(grub.replace("\nfi\nset default=", "\nset default=")).code).not.toBe(0);
  });

  test("pxelinux: the file names the marker; boot --if-marked switches only a node whose marker nginx received", async () => {
    await must("node", "set", "cn07", "netboot=pxe");
    await must("boot", "cn07", "-o", IMG);
    const pxe = join(sb.tftpdir, "pxelinux.cfg", "cn07");
    const other = join(sb.tftpdir, "pxelinux.cfg", "cn08");
    expect(readFileSync(pxe, "utf8").split("\n").slice(0, 3)).toEqual([
      "#install debian12.5.0-x86_64-compute",
      `#local-once-exists ${marker()}`,
      "DEFAULT xCAT",
    ]);
    const cn08 = readFileSync(other, "utf8");
    expect(cn08).toContain(`#local-once-exists ${join(sb.installdir, "xcimg-installed", "cn08")}\n`);
    // no marker yet: nothing to switch, nothing written
    const none = await must("boot", "compute", "boot", "--if-marked");
    expect(none.stdout).toBe("");
    expect(readFileSync(pxe, "utf8")).toStartWith("#install ");

    const put = await fetch(`http://127.0.0.1:${port}/install/xcimg-installed/cn07`, { method: "PUT", body: "# GRUB Environment Block\nxcimg_done=cn07\n" });
    expect(put.status).toBe(201);
    expect((await must("boot", "cn07", "--stat")).stdout).toBe(
      `cn07: install debian12.5.0-x86_64-compute (image ${IMG}, pxe; ${marker()} exists, which pxe cannot test: 'xcimg boot cn07 boot --if-marked' switches it)\n`,
    );
    const r = await must("boot", "compute", "boot", "--if-marked");
    expect(r.stdout).toBe("cn07: boot\n");
    expect(readFileSync(pxe, "utf8")).toBe(PXELINUX_BOOT);
    expect(readFileSync(join(sb.tftpdir, "pxelinux.cfg", "01-52-54-00-12-34-07"), "utf8")).toBe(PXELINUX_BOOT);
    expect(readFileSync(other, "utf8")).toBe(cn08); // its marker is absent: it installs at its next boot
    expect((await must("boot", "cn07", "--stat")).stdout).toBe("cn07: boot (local disk, pxe)\n");
  });

  test("--if-marked without the boot action is a usage error", async () => {
    for (const extra of [["-o", IMG], ["--offline"], ["--stat"]]) {
      const r = await sb.run("boot", "cn07", "--if-marked", ...extra);
      expect(r.code).toBe(64);
      expect(r.stderr).toContain("--if-marked goes with the boot action");
    }
  });
});
