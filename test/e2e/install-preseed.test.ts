import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDb } from "../../src/core/db/open";
import { type StaticServer, serveStatic } from "../helpers/http-serve";
import { createPasswdTable } from "../helpers/install-site";
import { bootVm } from "../helpers/qemu";
import { ROOT, Sandbox } from "../helpers/sandbox";

/**
 * The real debian-installer (Debian's debian-installer-12-netboot-amd64, fetched by
 * scripts/fixtures.sh) network-boots in qemu from what `xcimg boot -o <install image>` wrote:
 * qemu's iPXE ROM gets DHCP and the node's xnba script over TFTP from tftpdir, fetches the
 * installer kernel and initrd over HTTP from a static server on 127.0.0.1 (10.0.2.2 to the
 * guest), the installer gets its address, fetches the node's preseed from installdir and runs
 * it: the preseed's early command writes a line rendered for this node to the console. A full
 * install is not needed to prove that.
 */
const DI = join(ROOT, ".cache", "fixtures", "d-i");
const MARK = "XCIMG-PRESEED-LOADED";

let sb: Sandbox | undefined;
let http: StaticServer | undefined;
afterAll(() => {
  http?.stop();
  sb?.cleanup();
});

describe("install provmethod in qemu", () => {
  test("debian-installer PXE-boots from xcimg's files and loads the node's own preseed", async () => {
    if (!existsSync(join(DI, "linux"))) throw new Error(`${DI}/linux missing: run 'bash scripts/fixtures.sh' first`);
    sb = new Sandbox("dipxe");
    http = serveStatic({ "/install": sb.installdir, "/tftpboot": sb.tftpdir });
    appendFileSync(sb.config, `[http]\nport = ${http.port}\n`);

    // media: a Debian tree with the netboot installer where copied media keeps it
    const media = join(sb.installdir, "debian12", "x86_64");
    mkdirSync(join(media, "dists", "bookworm"), { recursive: true });
    writeFileSync(join(media, "dists", "bookworm", "Release"), "Origin: Debian\nVersion: 12\nCodename: bookworm\nArchitectures: amd64\n");
    mkdirSync(join(media, "install", "netboot", "debian-installer", "amd64"), { recursive: true });
    for (const f of ["linux", "initrd.gz"]) symlinkSync(join(DI, f), join(media, "install", "netboot", "debian-installer", "amd64", f));

    const must = async (...argv: string[]) => {
      const r = await sb?.run(...argv);
      if (r?.code !== 0) throw new Error(`xcimg ${argv.join(" ")}: ${r?.stderr}`);
      return r;
    };
    await must("image", "media", media);
    await must("node", "set", "cn07", "groups=compute,all", "mac=52:54:00:12:34:07", "serialport=0", "serialspeed=115200");
    await must("table", "set", "site", "key=timezone", "value=Europe/Paris");
    const db = openDb(sb.dbPath);
    createPasswdTable(db, [{ key: "system", username: "root", password: "cluster" }]);
    db.close();
    // the site's copy of the default preseed, plus a line that shows on the console when it runs
    const tmpl = join(sb.installdir, "custom", "install", "debian", "compute.tmpl");
    appendFileSync(tmpl, `d-i preseed/early_command string echo "${MARK} node=#HOSTNAME# tz=#TABLE:site:key=timezone:value#" > /dev/console\n`);

    const boot = await must("boot", "cn07", "-o", "debian12-x86_64-install-compute");
    expect(boot.stdout).toBe("cn07: install debian12-x86_64-compute\n");
    const script = readFileSync(join(sb.tftpdir, "xcat", "xnba", "nodes", "cn07"), "utf8");
    expect(script).toContain(`url=http://10.0.2.2:${http.port}/install/autoinst/cn07`);
    expect(readFileSync(join(sb.installdir, "autoinst", "cn07"), "utf8")).toContain(`${MARK} node=cn07 tz=Europe/Paris`);

    const vm = await bootVm({
      tftpdir: sb.tftpdir,
      bootfile: "xcat/xnba/nodes/cn07",
      mac: "52:54:00:12:34:07",
      // up to the end of the line: serial output comes in chunks, and a regex that stops at
      // \S+ can match a half-arrived line ("tz=Europe/Pa")
      until: new RegExp(`${MARK} node=(\\S+) tz=(\\S+)\\r?\\n`),
      timeoutMs: 420_000,
    });
    if (vm.match?.[1] !== "cn07") console.error(`${vm.exit}\n${vm.console.slice(-4000)}`);
    expect(vm.match?.slice(1)).toEqual(["cn07", "Europe/Paris"]);
    expect(http.log).toContain("/tftpboot/xcat/osimage/debian12-x86_64-install-compute/vmlinuz");
    expect(http.log).toContain("/tftpboot/xcat/osimage/debian12-x86_64-install-compute/initrd.img");
    expect(http.log).toContain("/install/autoinst/cn07");
    console.error(`debian-installer ran cn07's preseed ${vm.seconds.toFixed(0)} s after power-on`);
  }, 450_000);
});
