import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDb } from "../../../src/core/db/open";
import { type StaticServer, serveStatic } from "../../helpers/http-serve";
import { defineNetbootImage } from "../../helpers/images";
import { readNewc } from "../../helpers/newc";
import { ROOT, Sandbox } from "../../helpers/sandbox";

/**
 * P1 of postscripts: `xcimg boot` puts a node's mypostscript, its ordered lists and the runner
 * in its overlay, and the runner — run for real, in a busybox root (the image tests boot), with
 * the scripts fetched over HTTP from <installdir>/postscripts by the image's own wget — runs
 * the site's scripts unchanged with xCAT's variables and literal arguments, logs, and reports
 * `booted` or `failed: <script>`.
 */
let sb: Sandbox;
let server: StaticServer;
let image: string;
const HASH = "$6$saltsalt$SECRETHASHSECRETHASH";

beforeAll(async () => {
  sb = new Sandbox("postscripts-node");
  server = serveStatic({ "/install": sb.installdir, "/tftpboot": sb.tftpdir });
  appendFileSync(sb.config, `[http]\nport = ${server.port}\n`);
  image = "bb-x86_64-netboot-compute";
  const { rootimg } = await defineNetbootImage(sb, image, ["postscripts=imgscript"], "bb1");
  execFileSync("bash", [join(ROOT, "scripts/mkroot-busybox.sh"), rootimg], { stdio: ["ignore", "ignore", "pipe"] });
  const ps = join(sb.installdir, "postscripts");
  mkdirSync(ps, { recursive: true });
  // a site's own scripts, as they are in xCAT's /install/postscripts
  const script = (name: string, body: string) => {
    writeFileSync(join(ps, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(ps, name), 0o755);
  };
  script("sitepost", 'echo "node=$NODE master=$MASTER osver=$OSVER state=$NODESETSTATE args=$#:$1:$2" >>/tmp/sitepost.out');
  script("imgscript", 'echo "image script ran as $(basename "$0") in $(pwd)" >>/tmp/order.out');
  script("firstup", 'echo "postboot $NODE $PROVMETHOD" >>/tmp/order.out');
  script("broken", 'echo "broken runs"; exit 3');
  let r = await sb.run("pack", image);
  expect(r.code, r.stderr).toBe(0);
  r = await sb.run("table", "set", "postscripts", "node=xcatdefaults", "postscripts=syslog,remoteshell,sitepost default");
  expect(r.code, r.stderr).toBe(0);
  r = await sb.run("table", "set", "site", "key=domain", "value=cluster.example");
  expect(r.code, r.stderr).toBe(0);
  const db = openDb(sb.dbPath);
  db.sqlite.exec(`INSERT OR REPLACE INTO passwd ("key","username","password") VALUES ('system','root','${HASH}')`);
  db.sqlite.exec(`INSERT OR REPLACE INTO site ("key","value") VALUES ('ldappassword','topsecret')`);
  db.close();
  r = await sb.run(
    "node",
    "set",
    "cn01",
    "groups=compute,all",
    "arch=x86_64",
    "mac=52:54:00:12:34:01",
    "ip=10.0.2.15",
    "xcatmaster=127.0.0.1",
    "postscripts=sitepost $HOME;rm a'b,confignetwork,configib",
    "postbootscripts=firstup",
  );
  expect(r.code, r.stderr).toBe(0);
  r = await sb.run(
    "node",
    "set",
    "cn02",
    "groups=compute,all",
    "arch=x86_64",
    "mac=52:54:00:12:34:02",
    "xcatmaster=127.0.0.1",
    "postscripts=broken",
    "postbootscripts=firstup",
  );
  expect(r.code, r.stderr).toBe(0);
  r = await sb.run("boot", "cn01,cn02", "-o", image);
  expect(r.code, r.stderr).toBe(0);
  // the boot names the scripts nobody provides, once, on the management node too
  expect(r.stderr).toContain("configib");
  expect(r.stderr).not.toContain("syslog");
}, 120000);
afterAll(() => {
  server?.stop();
  sb?.cleanup();
});

const overlay = (node: string) => readNewc(readFileSync(join(sb.tftpdir, "xcat/overlay", `${node}.cpio`)));
const entry = (node: string, name: string) => overlay(node).find((e) => e.name.toString() === name);

/** A node's root as it is after the initrd: the image's tree with the node's overlay on top. */
function nodeRoot(node: string): string {
  const root = join(sb.dir, `root-${node}`);
  execFileSync("cp", ["-a", join(sb.installdir, "netboot/bb1/x86_64/compute/rootimg"), root]);
  execFileSync("sh", ["-c", `cd '${root}' && cpio -idmu --quiet < '${join(sb.tftpdir, "xcat/overlay", `${node}.cpio`)}'`]);
  return root;
}

async function runOnNode(root: string, ...args: string[]): Promise<number> {
  // its own PID namespace: a daemon a script starts (busybox syslogd) ends with the run
  const p = Bun.spawn(["unshare", "-p", "-f", "chroot", root, "/bin/sh", "/etc/xcimg/postscripts.sh", ...args], { stdout: "pipe", stderr: "pipe" });
  return await p.exited;
}

describe("boot writes each node's postscripts into its overlay", () => {
  test("mypostscript carries xCAT's variables, single-quoted; the lists keep xCAT's order and literal arguments", () => {
    const mp = entry("cn01", "xcatpost/mypostscript")?.data.toString() ?? "";
    for (const line of [
      "NODE='cn01'",
      "MASTER='127.0.0.1'",
      "XCATMASTER='127.0.0.1'",
      "SITEMASTER='10.0.2.2'",
      "OSVER='bb1'",
      "ARCH='x86_64'",
      "PROFILE='compute'",
      `PROVMETHOD='${image}'`,
      "NODESETSTATE='netboot'",
      `INSTALLDIR='${sb.installdir}'`,
      `TFTPDIR='${sb.tftpdir}'`,
      "MACADDRESS='52:54:00:12:34:01'",
      "IPADDR='10.0.2.15'",
      "DOMAIN='cluster.example'",
      "GROUP='compute,all'",
      "UPDATENODE='0'",
    ]) {
      expect(mp).toContain(`${line}\nexport ${line.split("=")[0]}\n`);
    }
    expect(mp).toContain(
      "# postscripts-start-here\n# syslog\n# sitepost default\n# imgscript\n# sitepost $HOME;rm a'b\n# confignetwork\n# postscripts-end-here\n",
    );
    // secrets never reach the overlay: the root hash and site keys naming a password
    const all = overlay("cn01")
      .map((e) => e.data.toString())
      .join("\n");
    expect(all).not.toContain("SECRETHASH");
    expect(all).not.toContain("topsecret");
    expect(entry("cn01", "xcatpost/xcimg-postscripts.list")?.data.toString()).toBe(
      "'syslog'\n'sitepost' 'default'\n'imgscript'\n'sitepost' '$HOME;rm' 'a'\\''b'\n'confignetwork'\n",
    );
    expect(entry("cn01", "xcatpost/xcimg-postbootscripts.list")?.data.toString()).toBe("'firstup'\n");
    const env = entry("cn01", "etc/xcimg/postscripts.env")?.data.toString() ?? "";
    expect(env).toContain(`XCIMG_POSTSCRIPTS_URL='http://127.0.0.1:${server.port}/install/postscripts'`);
    expect(env).toContain("XCIMG_SKIPPED='configib'");
    expect(env).toContain("XCIMG_BUILTIN='remoteshell'");
    expect((entry("cn01", "xcatpost/mypostscript")?.mode ?? 0) & 0o777).toBe(0o600);
    expect((entry("cn01", "etc/xcimg/postscripts.sh")?.mode ?? 0) & 0o777).toBe(0o755);
    // xcimg's own scripts for the xCAT defaults the node lists, and only those
    const builtins = overlay("cn01")
      .map((e) => e.name.toString())
      .filter((n) => n.startsWith("etc/xcimg/builtins/"))
      .sort();
    expect(builtins).toEqual(["etc/xcimg/builtins/confignetwork", "etc/xcimg/builtins/lib", "etc/xcimg/builtins/lib/netconf.sh", "etc/xcimg/builtins/syslog"]);
    expect(overlay("cn02").some((e) => e.name.toString() === "etc/xcimg/builtins/confignetwork")).toBe(false);
  });

  test("the overlay stays 0640 to the web server's group, like the rest of it", () => {
    const st = Bun.spawnSync(["stat", "-c", "%a", join(sb.tftpdir, "xcat/overlay/cn01.cpio")])
      .stdout.toString()
      .trim();
    expect(["640", "644"]).toContain(st);
  });
});

describe("the runner on the node", () => {
  test("fetches and runs each script with the environment and its arguments as written, then the postbootscripts: booted", async () => {
    const root = nodeRoot("cn01");
    expect(await runOnNode(root, "all")).toBe(0);
    expect(readFileSync(join(root, "tmp/sitepost.out"), "utf8")).toBe(
      "node=cn01 master=127.0.0.1 osver=bb1 state=netboot args=1:default:\nnode=cn01 master=127.0.0.1 osver=bb1 state=netboot args=2:$HOME;rm:a'b\n",
    );
    expect(readFileSync(join(root, "tmp/order.out"), "utf8")).toBe(`image script ran as imgscript in /xcatpost\npostboot cn01 ${image}\n`);
    const status = readFileSync(join(root, "run/xcimg/postscripts.status"), "utf8");
    expect(status).toContain("state=booted\n");
    expect(status).toContain("skipped=configib\n");
    expect(readFileSync(join(root, "run/xcimg/postscripts.rc"), "utf8")).toBe(
      "postscript syslog 0\npostscript sitepost 0\npostscript imgscript 0\npostscript sitepost 0\npostscript confignetwork 0\npostbootscript firstup 0\n",
    );
    const log = readFileSync(join(root, "var/log/xcat/xcat.log"), "utf8");
    expect(log).toContain("not run: configib");
    // the built-ins ran from the overlay, not fetched: syslog forwards, confignetwork has no nics row
    expect(log).toContain("running postscript syslog (xcimg's built-in)");
    expect(log).toContain("syslog: forwarding to 127.0.0.1 (busybox syslogd -R)");
    expect(log).toContain("confignetwork: the nics table has no row for cn01: nothing to configure");
    expect(server.log).not.toContain("/install/postscripts/syslog");
    expect(log).toContain("done by xcimg itself, not run: remoteshell");
    expect(server.log).toContain("/install/postscripts/sitepost");
  }, 60000);

  test("a failing postscript: the others still run, the node reports failed: <script>", async () => {
    const root = nodeRoot("cn02");
    expect(await runOnNode(root, "all")).toBe(1);
    const status = readFileSync(join(root, "run/xcimg/postscripts.status"), "utf8");
    expect(status).toContain("state=failed\n");
    expect(status).toContain("failed=broken\n");
    expect(readFileSync(join(root, "run/xcimg/postscripts.rc"), "utf8")).toContain("postscript broken 3\n");
    expect(readFileSync(join(root, "tmp/order.out"), "utf8")).toContain("postboot cn02");
    expect(readFileSync(join(root, "var/log/xcat/xcat.log"), "utf8")).toContain("broken runs");
  }, 60000);

  test("a non-systemd image: /init's hook has busybox init start the runner once", async () => {
    const root = nodeRoot("cn01");
    const before = readFileSync(join(root, "etc/inittab"), "utf8");
    const p = Bun.spawnSync(["sh", join(root, "etc/xcimg/postscripts.sh"), "hook", root, "/sbin/init"]);
    expect(p.exitCode).toBe(0);
    expect(readFileSync(join(root, "etc/inittab"), "utf8")).toBe(`${before}::once:/bin/sh /etc/xcimg/postscripts.sh all\n`);
    // a systemd image is left to its units
    const sd = join(sb.dir, "sd-root");
    mkdirSync(join(sd, "sbin"), { recursive: true });
    mkdirSync(join(sd, "etc"), { recursive: true });
    execFileSync("ln", ["-s", "/lib/systemd/systemd", join(sd, "sbin/init")]);
    writeFileSync(join(sd, "etc/inittab"), "x\n");
    expect(Bun.spawnSync(["sh", join(root, "etc/xcimg/postscripts.sh"), "hook", sd, "/sbin/init"]).exitCode).toBe(0);
    expect(readFileSync(join(sd, "etc/inittab"), "utf8")).toBe("x\n");
    expect(existsSync(join(root, "etc/systemd/system/xcimg-postscripts.service"))).toBe(false); // busybox: no units
  });
});
