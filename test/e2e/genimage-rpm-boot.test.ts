import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type StaticServer, serveStatic } from "../helpers/http-serve";
import { bootVm } from "../helpers/qemu";
import { makeRpmRepo, mountsUnder, nodeRpmTree } from "../helpers/rpm-repo";
import { ROOT, Sandbox } from "../helpers/sandbox";

/**
 * An EL image built by `xcimg genimage` with dnf from a signed RPM repository PXE-boots a node
 * to userspace. The repository is made here on Debian (rpmbuild, rpmsign, createrepo_c): one
 * package carries the test kernel (.cache/fixtures) with its virtio modules, another the
 * busybox userland of scripts/mkroot-busybox.sh, whose init prints the `xcimg-node:` line the
 * boot tests wait for, and then the running kernel's release. Signatures are verified (no
 * --insecure): the repository's key is imported into the tree's rpmdb. A third package carries
 * an rpm for the node (Debian's, with EL's %_dbpath /var/lib/rpm), and the node's `rpm -qa` on
 * the console must list what the MN reads in the tree's /var/lib/rpm: genimage wrote the
 * database where the image's own rpm looks, not in Debian's ~/.rpmdb. About 10 s under TCG.
 */
let sb: Sandbox;
let server: StaticServer;
let repo: string;
const IMG = "rocky9.4-x86_64-netboot-compute";
const PKGS = ["xcimg-test-busybox", "xcimg-test-kernel", "xcimg-test-rpm"];
const tree = () => join(sb.installdir, "netboot/rocky9.4/x86_64/compute/rootimg");

beforeAll(() => {
  if (!existsSync(join(ROOT, ".cache/fixtures/vmlinuz"))) throw new Error("no test kernel: run scripts/fixtures.sh (scripts/test.sh does)");
  const missing = ["rpmbuild", "rpmsign", "createrepo_c", "dnf", "gpg"].filter((t) => !Bun.which(t, { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" }));
  // a missing tool is a failure, never a skip (scripts/setup-debian.sh installs them)
  if (missing.length) throw new Error(`missing ${missing.join(", ")}: run scripts/setup-debian.sh`);
  sb = new Sandbox("genimage-rpm-boot");
  server = serveStatic({ "/tftpboot": sb.tftpdir, "/install": sb.installdir });
  appendFileSync(sb.config, `[http]\nport = ${server.port}\n`);
  // the netboot tests' golden tree, split the way distributions ship it: kernel and modules, userland
  const userland = join(sb.dir, "trees/busybox");
  const kernel = join(sb.dir, "trees/kernel");
  execFileSync("bash", [join(ROOT, "scripts/mkroot-busybox.sh"), userland], { stdio: ["ignore", "ignore", "pipe"] });
  // the packaged rpm by its path: busybox's ash runs its own rpm applet (no database) for `rpm`
  appendFileSync(
    join(userland, "etc/init.d/rcS"),
    ["/usr/bin/rpm -qa > /tmp/rpm-qa 2>&1", 'echo "xcimg-rpm-rc: $?"', "sed 's/^/xcimg-rpm: /' /tmp/rpm-qa", 'echo "xcimg-uname: $(uname -r)"', ""].join("\n"),
  );
  mkdirSync(kernel);
  for (const d of ["boot", "lib"]) renameSync(join(userland, d), join(kernel, d));
  repo = makeRpmRepo(join(sb.dir, "rpms"), [
    { name: "xcimg-test-busybox", sign: "good", tree: userland },
    { name: "xcimg-test-kernel", sign: "good", tree: kernel },
    { name: "xcimg-test-rpm", sign: "good", tree: nodeRpmTree(join(sb.dir, "trees/rpm")) },
  ]).repo;
  writeFileSync(join(sb.dir, "compute.pkglist"), `${PKGS.join("\n")}\n`);
}, 180_000);

afterAll(() => {
  server?.stop();
  if (sb) for (const m of mountsUnder(sb.dir).reverse()) spawnSync("umount", ["-l", m]);
  sb?.cleanup();
});

describe("genimage (dnf) → pack → boot in qemu", () => {
  test("the EL image built from signed RPMs boots to busybox's userspace as cn01, on the kernel genimage chose", async () => {
    let r = await sb.bin([
      "image",
      "set",
      IMG,
      "osvers=rocky9.4",
      "osarch=x86_64",
      "profile=compute",
      "provmethod=netboot",
      `pkglist=${join(sb.dir, "compute.pkglist")}`,
      `pkgdir=${repo}`,
    ]);
    expect(r.code).toBe(0);
    r = await sb.bin(["genimage", IMG]);
    expect(r.stderr).not.toContain("Error");
    expect(r.stderr + r.stdout).not.toContain("insecure");
    expect(r.code).toBe(0);
    const ver = readFileSync(join(ROOT, ".cache/fixtures/kernel-version"), "utf8").trim();
    expect(r.stdout).toContain(`kernel ${ver}`);
    const k = await sb.bin(["image", "kernels", IMG]);
    expect(k.code).toBe(0);
    expect(k.stdout).toContain(`* ${ver}`);

    // the tree's own rpmdb lists the packages, each signed by the key genimage imported to verify it
    const qa = execFileSync("rpm", ["--root", tree(), "--dbpath", "/var/lib/rpm", "-qa", "--qf", "%{NAME} %{DSAHEADER:pgpsig}\\n"], {
      encoding: "utf8",
      env: { ...process.env, HOME: sb.dir },
    })
      .split("\n")
      .filter(Boolean)
      .sort();
    const keys = qa.filter((l) => l.startsWith("gpg-pubkey "));
    expect(keys).toHaveLength(1);
    const pkgs = qa.filter((l) => !l.startsWith("gpg-pubkey "));
    expect(pkgs.map((l) => l.split(" ")[0])).toEqual(PKGS);
    const keyid = execFileSync("rpm", ["--root", tree(), "--dbpath", "/var/lib/rpm", "-q", "gpg-pubkey", "--qf", "%{VERSION}"], {
      encoding: "utf8",
      env: { ...process.env, HOME: sb.dir },
    }).trim();
    // an EdDSA header signature (rpm keeps non-RSA ones in DSAHEADER) whose long key ID ends in the key's short one
    for (const l of pkgs) expect(l).toMatch(new RegExp(`, Key ID [0-9a-f]{8}${keyid}$`, "i"));
    // the database is the tree's /var/lib/rpm; Debian's default would have left it in /root/.rpmdb
    expect(existsSync(join(tree(), "var/lib/rpm/rpmdb.sqlite"))).toBe(true);
    expect(existsSync(join(tree(), "root/.rpmdb"))).toBe(false);
    // what the node's own rpm must list: every NEVRA, the signing key's gpg-pubkey too
    const hostQa = execFileSync("rpm", ["--root", tree(), "--dbpath", "/var/lib/rpm", "-qa"], { encoding: "utf8", env: { ...process.env, HOME: sb.dir } })
      .split("\n")
      .filter(Boolean)
      .sort();
    expect(hostQa).toHaveLength(PKGS.length + 1);

    r = await sb.bin(["pack", IMG]);
    expect(r.code, r.stderr).toBe(0);
    r = await sb.bin([
      "node",
      "set",
      "cn01",
      "groups=compute,all",
      "netboot=xnba",
      "arch=x86_64",
      "mac=52:54:00:12:34:01",
      "serialport=0",
      "serialspeed=115200",
    ]);
    expect(r.code).toBe(0);
    r = await sb.bin(["boot", "cn01", "-o", IMG]);
    expect(r.code, r.stderr).toBe(0);
    const vm = await bootVm({
      tftpdir: sb.tftpdir,
      bootfile: "xcat/xnba/nodes/cn01",
      mac: "52:54:00:12:34:01",
      until: /xcimg-uname: [^\r\n]*[\r\n]/,
      timeoutMs: 120_000,
    });
    console.log(`genimage EL (dnf, busybox): userspace after ${vm.seconds.toFixed(1)} s`);
    if (!vm.match) console.log(`${vm.exit}\n${vm.console.slice(-4000)}`);
    expect(vm.console).toMatch(/xcimg-node: hostname=cn01 root=tmpfs ip=10\.0\.2\.15\/24\s/);
    expect(vm.match?.[0]).toMatch(new RegExp(`^xcimg-uname: ${ver.replaceAll(".", "\\.")}\\s$`));
    expect(vm.console).toContain(`xcimg: node cn01, image ${IMG}`);
    // the node's rpm (from xcimg-test-rpm, default %_dbpath) reads the database genimage wrote
    expect(vm.console).toMatch(/xcimg-rpm-rc: 0\s/);
    const nodeQa = [...vm.console.matchAll(/^xcimg-rpm: (.*?)\r?$/gm)].map((m) => m[1]).sort();
    expect(nodeQa).toEqual(hostQa);
  }, 400_000);
});
