import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import INIT_COMMON from "../../../src/core/initrd/init-common.sh" with { type: "text" };
import { RC_STATELITE } from "../../../src/provmethods/statelite/rc-statelite";
import { readNewc } from "../../helpers/newc";
import { Sandbox } from "../../helpers/sandbox";

/**
 * `xcimg boot` for statelite images without a VM (test/e2e/statelite-qemu.test.ts boots them):
 * xCAT's kernel command lines for NFS and ramdisk roots, what initrd-statelite.gz holds (the
 * modules chosen from the image with their dependencies, unpacked), the node's staged overlay
 * with its statelite data, the database rows and the errors.
 */
const IMG = "deb12-x86_64-statelite-compute";
const KVER = "6.1.0-test-amd64";
let sb: Sandbox;
let dir: string;
let rootimg: string;

function put(rel: string, data: string | Buffer, mode = 0o644): void {
  const f = join(rootimg, rel);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, data, { mode });
}

/** A small image: a kernel, modules (one xz-compressed) with modules.dep/alias, ifupdown. */
function makeImage(): void {
  put(`boot/vmlinuz-${KVER}`, "kernel\n");
  const m = `lib/modules/${KVER}`;
  for (const k of [
    "drivers/net/virtio_net.ko",
    "net/core/failover.ko",
    "drivers/net/net_failover.ko",
    "drivers/virtio/virtio_pci.ko",
    "fs/nfs/nfs.ko",
    "fs/nfs/nfsv4.ko",
    "net/sunrpc/sunrpc.ko",
    "drivers/gpu/drm/drm.ko",
    "drivers/net/ethernet/intel/e1000e/e1000e.ko",
  ])
    put(`${m}/kernel/${k}`, `module ${k}\n`);
  put(`${m}/kernel/fs/nfs/nfsv3.ko`, "module nfsv3\n");
  execFileSync("xz", [join(rootimg, m, "kernel/fs/nfs/nfsv3.ko")]);
  put(
    `${m}/modules.dep`,
    [
      "kernel/drivers/gpu/drm/drm.ko:",
      "kernel/net/core/failover.ko:",
      "kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko",
      "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko",
      "kernel/drivers/virtio/virtio_pci.ko:",
      "kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko:",
      "kernel/net/sunrpc/sunrpc.ko:",
      "kernel/fs/nfs/nfs.ko: kernel/net/sunrpc/sunrpc.ko",
      "kernel/fs/nfs/nfsv3.ko.xz: kernel/fs/nfs/nfs.ko kernel/net/sunrpc/sunrpc.ko",
      "kernel/fs/nfs/nfsv4.ko: kernel/fs/nfs/nfs.ko kernel/net/sunrpc/sunrpc.ko",
      "",
    ].join("\n"),
  );
  put(
    `${m}/modules.alias`,
    "alias virtio:d00000001v* virtio_net\nalias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci\nalias pci:v00001002d*sv*sd*bc03sc*i* drm\nalias fs-nfs4 nfsv4\n",
  );
  put(`${m}/modules.builtin`, "kernel/net/packet/af_packet.ko\n");
  put("sbin/ifup", "#!/bin/sh\n", 0o755);
  put("etc/hosts", "127.0.0.1 localhost\n");
  put("etc/motd", "motd\n");
  put("bin/busybox", readFileSync("/bin/busybox"), 0o755);
}

async function ok(...a: string[]) {
  const r = await sb.run(...a);
  if (r.code !== 0) throw new Error(`xcimg ${a.join(" ")}: ${r.stderr}`);
  return r;
}

const tftp = (rel: string) => join(sb.tftpdir, rel);
const imgargs = (node: string) => /imgargs kernel (.*) BOOTIF=/.exec(readFileSync(tftp(`xcat/xnba/nodes/${node}`), "utf8"))?.[1];
const entries = (buf: Buffer) => new Map(readNewc(buf).map((e) => [e.name.toString(), e]));

beforeAll(async () => {
  sb = new Sandbox("statelite-boot", '[ssh]\nidentity = "mn_key"');
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "root@mn", "-f", join(sb.dir, "mn_key")]);
  dir = join(sb.installdir, "netboot/deb12/x86_64/compute");
  rootimg = join(dir, "rootimg");
  makeImage();
  await ok("image", "set", IMG, "provmethod=statelite", "osvers=deb12", "osarch=x86_64", "profile=compute");
  await ok("table", "set", "litefile", "image=ALL,file=/etc/motd", "options=tmpfs");
  await ok("table", "set", "litefile", "image=ALL,file=/var/lib/app/", "options=persistent");
  await ok("table", "set", "litetree", "priority=1", "image=ALL", "directory=$noderes.nfsserver:/statelite/$node", "mntopts=vers=4.1");
  await ok("node", "set", "cn[01-05]", "groups=compute,all", "arch=x86_64", "netboot=xnba", "nfsserver=10.0.0.9");
  await ok("node", "set", "cn01", "mac=52:54:00:00:00:01", "serialport=0", "serialspeed=115200");
  await ok("node", "set", "cn02", "mac=52:54:00:00:00:02", "nfsdir=/export", "xcatmaster=10.0.0.1");
  await ok("node", "set", "cn03", "mac=52:54:00:00:00:03", "nfsdir=//srv/images/deb12");
  await ok("node", "set", "cn04", "mac=52:54:00:00:00:04");
  await ok("node", "set", "cn05", "mac=52:54:00:00:00:05");
  await ok("table", "set", "statelite", "node=compute", "statemnt=10.0.0.9:/nodedata", "mntopts=nolock,tcp");
  await ok("table", "set", "statelite", "node=cn04", "statemnt=$noderes.monserver:/nodedata");
});
afterAll(() => sb.cleanup());

describe("xcimg boot for statelite images", () => {
  test("before lite: litefile.save is missing, and boot says to run lite", async () => {
    const r = await sb.run("boot", "cn01", "-o", IMG);
    expect(r.code).toBe(66);
    expect(r.stderr).toContain(`${rootimg}/.statelite/litefile.save does not exist: the image was never prepared for statelite`);
    expect(r.stderr).toContain(`xcimg lite ${IMG}`);
  });

  test("NFS root: xCAT's command line (root=nfs:…:ro, STATEMNT=, MNTOPTS= last), nfsdir rules, per-node statemnt", async () => {
    await ok("lite", IMG);
    const r = await sb.run("boot", "cn[01-04]", "-o", IMG);
    expect(r.code, r.stderr).toBe(1); // cn04's statemnt names an unset attribute
    expect(r.stdout).toBe("cn01: statelite deb12-x86_64-compute\ncn02: statelite deb12-x86_64-compute\ncn03: statelite deb12-x86_64-compute\n");
    expect(r.stderr).toContain("cn04: statelite.statemnt '$noderes.monserver': $noderes.monserver has no value for node cn04");
    expect(imgargs("cn01")).toBe(
      `root=nfs:10.0.0.9:${dir}/rootimg:ro STATEMNT=10.0.0.9:/nodedata XCAT=\${next-server}:3001 NODE=cn01 XCATHTTPPORT=80  console=tty0 console=ttyS0,115200 MNTOPTS=nolock,tcp`,
    );
    expect(imgargs("cn02")).toBe(
      "root=nfs:10.0.0.9:/export/netboot/deb12/x86_64/compute/rootimg:ro STATEMNT=10.0.0.9:/nodedata XCAT=10.0.0.1:3001 NODE=cn02 XCATHTTPPORT=80  MNTOPTS=nolock,tcp",
    );
    expect(imgargs("cn03")).toBe(
      `root=nfs:10.0.0.9:/srv/images/deb12/rootimg:ro STATEMNT=10.0.0.9:/nodedata XCAT=\${next-server}:3001 NODE=cn03 XCATHTTPPORT=80  MNTOPTS=nolock,tcp`,
    );
    const script = readFileSync(tftp("xcat/xnba/nodes/cn01"), "utf8");
    expect(script).toContain(`#statelite deb12-x86_64-compute\n`);
    expect(script).toContain(
      `imgfetch -n initrd-statelite.gz http://\${next-server}/tftpboot/xcat/osimage/${IMG}/initrd-statelite.gz\nimgfetch -n cn01.cpio http://\${next-server}/tftpboot/xcat/overlay/cn01.cpio\nimgexec kernel\n`,
    );
    expect(existsSync(tftp(`xcat/osimage/${IMG}/initrd-statelite.gz`))).toBe(true);
    expect(readFileSync(tftp(`xcat/osimage/${IMG}/initrd-statelite.gz`))).toEqual(readFileSync(join(dir, "initrd-statelite.gz")));
    const a = JSON.parse((await ok("--json", "node", "show", "cn01")).stdout).cn01;
    expect(a).toMatchObject({
      provmethod: IMG,
      currstate: "statelite deb12-x86_64-compute",
      kernel: `xcat/osimage/${IMG}/kernel`,
      initrd: `xcat/osimage/${IMG}/initrd-statelite.gz,xcat/overlay/cn01.cpio`,
    });
    expect(a.kcmdline).toBe(imgargs("cn01")?.replace(`\${next-server}`, "!myipfn!"));
  });

  test("osimage.nfsrootopts follow ro; xCAT's checks on them", async () => {
    await ok("image", "set", IMG, "nfsrootopts=vers=4.1,port=2049,ro");
    await ok("boot", "cn01", "-o", IMG);
    expect(imgargs("cn01")).toStartWith(`root=nfs:10.0.0.9:${dir}/rootimg:ro,vers=4.1,port=2049 STATEMNT=`);
    let r = await sb.run("image", "set", IMG, "nfsrootopts=rw,vers=3");
    expect(r.stderr).toContain("nfsrootopts cannot contain 'rw'; statelite NFS roots are always read-only");
    await ok("image", "set", IMG, "nfsrootopts=vers=3,,tcp");
    r = await sb.run("boot", "cn01", "-o", IMG);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cn01: nfsrootopts must be a comma-separated list without whitespace or empty options");
    await ok("image", "set", IMG, "nfsrootopts=");
  });

  test("initrd-statelite.gz: /init, busybox, rc.statelite, the NIC and NFS modules with their dependencies (unpacked), nothing else", () => {
    const files = entries(gunzipSync(readFileSync(join(dir, "initrd-statelite.gz"))));
    const init = files.get("init")?.data.toString() ?? "";
    expect(init).toStartWith("#!/.xcimg/bin/busybox sh\n");
    // the start it shares with netboot's /init (core/initrd/init-common.sh) is inlined, not sourced
    expect(init).toContain(INIT_COMMON.replace(/^# shellcheck .*\n/, ""));
    expect(init).not.toContain("$XC_SRC");
    expect(files.get(".xcimg/bin/busybox")?.data).toEqual(readFileSync("/bin/busybox"));
    expect(files.get(".xcimg/statelite")?.data.toString()).toBe(RC_STATELITE);
    expect(files.get("dev/console")?.mode).toBe(0o020600);
    const base = `.xcimg/lib/modules/${KVER}/`;
    const mods = [...files.keys()].filter((n) => n.startsWith(`${base}kernel/`) && n.endsWith(".ko")).map((n) => n.slice(base.length));
    expect(mods.sort()).toEqual(
      [
        "drivers/net/ethernet/intel/e1000e/e1000e.ko",
        "drivers/net/net_failover.ko",
        "drivers/net/virtio_net.ko",
        "drivers/virtio/virtio_pci.ko",
        "fs/nfs/nfs.ko",
        "fs/nfs/nfsv3.ko",
        "fs/nfs/nfsv4.ko",
        "net/core/failover.ko",
        "net/sunrpc/sunrpc.ko",
      ].map((m) => `kernel/${m}`),
    );
    expect(files.get(`${base}kernel/fs/nfs/nfsv3.ko`)?.data.toString()).toBe("module nfsv3\n");
    expect(files.get(`${base}modules.dep`)?.data.toString()).toContain("kernel/fs/nfs/nfsv3.ko: kernel/fs/nfs/nfs.ko kernel/net/sunrpc/sunrpc.ko\n");
    expect(files.get(`${base}modules.dep`)?.data.toString()).not.toContain("drm");
    expect(files.get(`${base}modules.alias`)?.data.toString()).toBe(
      "alias virtio:d00000001v* virtio_net\nalias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci\nalias fs-nfs4 nfsv4\n",
    );
  });

  test("the overlay is staged under /.xcimg/overlay with the node's statelite.conf; over NFS the NIC is left as the initrd set it", () => {
    const files = entries(readFileSync(tftp("xcat/overlay/cn01.cpio")));
    expect(files.has("etc/hostname")).toBe(false);
    expect(files.get(".xcimg/overlay/etc/hostname")?.data.toString()).toBe("cn01\n");
    expect(files.get(".xcimg/overlay/etc/xcimg/statelite.conf")?.data.toString()).toBe(
      [
        `# xcimg statelite configuration for node cn01, image ${IMG}`,
        "node cn01",
        "statemnt 10.0.0.9:/nodedata",
        "mntopts nolock,tcp",
        "tree 1 10.0.0.9:/statelite/cn01 vers=4.1",
        "entry tmpfs /etc/motd",
        "entry link /etc/mtab",
        "entry persistent /var/lib/app/",
        "",
      ].join("\n"),
    );
    expect(files.get(".xcimg/overlay/etc/xcimg/ifupdown")?.data.toString()).toEndWith("\nmanual\n");
    const list = files.get(".xcimg/overlay.list")?.data.toString().split("\n") ?? [];
    expect(list).toContain("/etc/xcimg/statelite.conf");
    expect(list).toContain("/root/.ssh/authorized_keys");
    expect(list.every((l) => l === "" || files.has(`.xcimg/overlay${l}`))).toBe(true);
    // lite leaves /etc/xcimg in the image, so a read-only root needs only that directory copied
    expect(existsSync(join(rootimg, "etc/xcimg"))).toBe(true);
  });

  test("ramdisk: imgurl= to rootimg-statelite.gz, loaded before the initrd; xCAT's message when lite has not packed it", async () => {
    await ok("image", "set", IMG, "rootfstype=ramdisk");
    let r = await sb.run("boot", "cn05", "-o", IMG);
    expect(r.code).toBe(66);
    expect(r.stderr).toContain('No packed image for platform deb12, architecture x86_64 and profile compute, please run "liteimg" to create it.');
    await ok("lite", IMG);
    r = await sb.run("boot", "cn05", "-o", IMG);
    expect(r.code, r.stderr).toBe(0);
    expect(imgargs("cn05")).toBe(
      `imgurl=http://10.0.0.9:80/install/netboot/deb12/x86_64/compute/rootimg-statelite.gz STATEMNT=10.0.0.9:/nodedata XCAT=\${next-server}:3001 NODE=cn05 XCATHTTPPORT=80  MNTOPTS=nolock,tcp`,
    );
    const a = JSON.parse((await ok("--json", "node", "show", "cn05")).stdout).cn05;
    expect(a.initrd).toBe(`xcat/osimage/${IMG}/rootimg-statelite.gz,xcat/osimage/${IMG}/initrd-statelite.gz,xcat/overlay/cn05.cpio`);
    // in memory the image keeps its DHCP client: no "manual"
    expect(
      entries(readFileSync(tftp("xcat/overlay/cn05.cpio")))
        .get(".xcimg/overlay/etc/xcimg/ifupdown")
        ?.data.toString(),
    ).not.toContain("manual");
    // back to NFS: the published ramdisk archive goes
    await ok("image", "set", IMG, "rootfstype=nfs");
    await ok("boot", "cn05", "-o", IMG);
    expect(existsSync(tftp(`xcat/osimage/${IMG}/rootimg-statelite.gz`))).toBe(false);
  });

  test("a kernel only at <rootimgdir>/kernel (xCAT genimage's place): its version comes from the bzImage header", async () => {
    rmSync(join(rootimg, "boot"), { recursive: true });
    const k = Buffer.alloc(0x400);
    k.write("HdrS", 0x202, "latin1");
    k.writeUInt16LE(0x100, 0x20e);
    k.write(`${KVER} (debian-kernel@lists.debian.org) #1 SMP`, 0x300, "latin1");
    writeFileSync(join(dir, "kernel"), k);
    const r = await sb.run("boot", "cn01", "-o", IMG);
    expect(r.code, r.stderr).toBe(0);
    rmSync(join(dir, "kernel"));
    const gone = await sb.run("boot", "cn01", "-o", IMG);
    expect(gone.code).toBe(66);
    expect(gone.stderr).toContain(`Did you run "genimage" before running "liteimg"? kernel cannot be found at ${dir}/kernel on `);
  });
});
