import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeContext } from "../../src/cli/context";
import { loadConfig } from "../../src/core/config/load";
import { openDb } from "../../src/core/db/open";
import { getImage } from "../../src/core/defs/image";
import { MemoryLogger } from "../../src/core/log";
import { prepareInstall } from "../../src/provmethods/install/prepare";
import { serveSite, type TestHttpServer } from "../helpers/http-server";
import { createPasswdTable } from "../helpers/install-site";
import { ROOT, Sandbox } from "../helpers/sandbox";

/**
 * The real debian-installer (Debian's debian-installer-12-netboot-amd64, fetched by
 * scripts/fixtures.sh) boots in qemu with the kernel, initrd and command line xcimg prepared,
 * gets its address from qemu's DHCP, fetches the node's preseed from xcimg's installdir over
 * HTTP (10.0.2.2 = a server on 127.0.0.1 here) and runs it: the preseed's early command writes
 * a line rendered for this node to the console. A full install is not needed to prove that.
 */
const DI = join(ROOT, ".cache", "fixtures", "d-i");
const MARK = "XCIMG-PRESEED-LOADED";

let sb: Sandbox | undefined;
let http: TestHttpServer | undefined;
let qemu: ReturnType<typeof Bun.spawn> | undefined;
afterAll(() => {
  qemu?.kill(9);
  http?.stop();
  sb?.cleanup();
});

async function readUntil(stream: ReadableStream<Uint8Array>, want: RegExp, ms: number): Promise<{ found: string | null; log: string }> {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let log = "";
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const timer = new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, deadline - Date.now())));
    const chunk = await Promise.race([reader.read(), timer]);
    if (chunk === null || chunk.done) break;
    log += dec.decode(chunk.value, { stream: true });
    const m = want.exec(log.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ""));
    if (m) return { found: m[0], log };
  }
  return { found: null, log };
}

describe("install provmethod in qemu", () => {
  test("debian-installer loads the node's own preseed from xcimg's files", async () => {
    if (!existsSync(join(DI, "linux"))) throw new Error(`${DI}/linux missing: run 'bash scripts/fixtures.sh' first`);
    sb = new Sandbox("dipxe");
    http = serveSite({ installdir: sb.installdir, tftpdir: sb.tftpdir });
    appendFileSync(sb.config, `[http]\nport = ${http.port}\n`);

    // media: a Debian tree with the netboot installer where copycds-style media keeps it
    const media = join(sb.installdir, "debian12", "x86_64");
    mkdirSync(join(media, "dists", "bookworm"), { recursive: true });
    writeFileSync(join(media, "dists", "bookworm", "Release"), "Origin: Debian\nVersion: 12\nCodename: bookworm\nArchitectures: amd64\n");
    mkdirSync(join(media, "install", "netboot", "debian-installer", "amd64"), { recursive: true });
    for (const f of ["linux", "initrd.gz"]) symlinkSync(join(DI, f), join(media, "install", "netboot", "debian-installer", "amd64", f));

    const must = async (...argv: string[]) => {
      const r = await sb?.run(...argv);
      if (r?.code !== 0) throw new Error(`xcimg ${argv.join(" ")}: ${r?.stderr}`);
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

    const config = loadConfig({ file: sb.config });
    const ctx = makeContext({ config, log: new MemoryLogger(), signal: new AbortController().signal, json: false, verbose: false, quiet: true, env: {} });
    const res = await prepareInstall(ctx, getImage(ctx.db(), "debian12-x86_64-install-compute"), ["cn07"]);
    ctx.closeDb();
    const entry = res.nodes[0];
    if (!entry) throw new Error(JSON.stringify(res.failures));
    expect(entry.kcmdline).toContain(`url=http://10.0.2.2:${http.port}/install/autoinst/cn07`);
    expect(readFileSync(join(sb.installdir, "autoinst", "cn07"), "utf8")).toContain(`${MARK} node=cn07 tz=Europe/Paris`);

    qemu = Bun.spawn(
      [
        "qemu-system-x86_64", "-accel", "tcg", "-m", "1024", "-smp", "1", "-nographic", "-no-reboot",
        "-kernel", join(sb.tftpdir, entry.kernel), "-initrd", join(sb.tftpdir, entry.initrds[0] as string), "-append", entry.kcmdline,
        "-netdev", "user,id=n0", "-device", "e1000,netdev=n0,mac=52:54:00:12:34:07",
      ],
      { stdout: "pipe", stderr: "pipe", stdin: "ignore" },
    );
    const { found, log } = await readUntil(qemu.stdout as ReadableStream<Uint8Array>, new RegExp(`${MARK} node=\\S+ tz=\\S+`), 420_000);
    qemu.kill(9);
    if (!found) console.error(log.slice(-4000));
    expect(found).toBe(`${MARK} node=cn07 tz=Europe/Paris`);
    expect(http.requests).toContain("GET /install/autoinst/cn07");
  }, 450_000);
});
