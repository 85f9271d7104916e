import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadConfig } from "../../../src/core/config/load";
import { openDb } from "../../../src/core/db/open";
import { upsert } from "../../../src/core/db/rows";
import { normalizeLayout } from "../../../src/provmethods/sysclone/layout";
import { renderPlanEnv } from "../../../src/provmethods/sysclone/node-plan";
import { CLONE_SCRIPT } from "../../../src/provmethods/sysclone/node-script";
import { clonePostscripts, cloneScriptFiles, nodePostscripts, parsePostscripts } from "../../../src/provmethods/sysclone/postscripts";
import { goldenGpt, planInput } from "../../helpers/clone-layouts";
import { type StaticServer, serveStatic } from "../../helpers/http-serve";

/**
 * Postscripts and postbootscripts of a clone: which ones, from the tables in xCAT's order, and
 * with their arguments; then clone.sh runs the postscripts in a real chroot (a minimal root
 * made of this machine's dash and coreutils) with arguments intact and nothing expanded, and
 * sets the postbootscripts up as a one-shot unit whose runner, run in that chroot, runs them once.
 */
let dir: string;
let http: StaticServer;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "xcimg-postscripts-"));
  const ps = join(dir, "install", "postscripts");
  mkdirSync(ps, { recursive: true });
  // each script records its name, arguments and xCAT variables in /xcatpost/ran
  const recorder = (name: string, rc = 0) =>
    `#!/bin/sh\n{ printf '%s' "${name}"; for a in "$@"; do printf ' [%s]' "$a"; done; echo " NODE=$NODE IMAGENAME=$IMAGENAME NODESETSTATE=$NODESETSTATE pwd=$(pwd)"; } >>/xcatpost/ran\nexit ${rc}\n`;
  writeFileSync(join(ps, "syslog"), recorder("syslog"));
  writeFileSync(join(ps, "confignetwork"), recorder("confignetwork"));
  writeFileSync(join(ps, "setupib"), recorder("setupib"));
  writeFileSync(join(ps, "broken"), recorder("broken", 3));
  writeFileSync(join(ps, "firstboot"), recorder("firstboot"));
  http = serveStatic({ "/install": join(dir, "install") });
});
afterAll(() => {
  http?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("which scripts a clone runs", () => {
  test("xCAT's `name args` entries, split at white space; an entry listed twice runs once", () => {
    expect(parsePostscripts("syslog, confignetwork -s  --x=1 ,syslog", undefined, "setupib 'a b'", "confignetwork -s --x=1")).toEqual([
      { name: "syslog", args: [] },
      { name: "confignetwork", args: ["-s", "--x=1"] },
      { name: "setupib", args: ["'a", "b'"] },
    ]);
    expect(parsePostscripts("", null, " , ")).toEqual([]);
  });

  test("xcatdefaults, then the image, then the node; built-ins skipped, unknown and unsafe names reported", () => {
    const config = { ...loadConfig({ env: {} }), installdir: join(dir, "install") };
    const db = openDb(join(dir, "xcat.sqlite"));
    upsert(db, "postscripts", { node: "xcatdefaults" }, { postscripts: "syslog,remoteshell", postbootscripts: "otherpkgs" });
    const r = nodePostscripts(
      config,
      db,
      { postscripts: "efibootloader,confignetwork -s", postbootscripts: "firstboot 1" },
      { postscripts: "setupib mlx5_0,../etc/passwd,nosuch", postbootscripts: "firstboot 2" },
    );
    expect(r.run).toEqual([
      { name: "syslog", args: [] },
      { name: "confignetwork", args: ["-s"] },
      { name: "setupib", args: ["mlx5_0"] },
    ]);
    expect(r.boot).toEqual([
      { name: "firstboot", args: ["1"] },
      { name: "firstboot", args: ["2"] },
    ]);
    expect(r.builtIn).toEqual(["remoteshell", "efibootloader"]);
    expect(r.missing).toEqual(["../etc/passwd", "nosuch", "otherpkgs"]);
    // a disabled xcatdefaults row is no row (xCAT's Table.pm)
    upsert(db, "postscripts", { node: "xcatdefaults" }, { disable: "yes" });
    const off = nodePostscripts(config, db, {}, { postscripts: "setupib" });
    db.close();
    expect(off.run.map((p) => p.name)).toEqual(["setupib"]);
    expect(off.missing).toEqual([]);
  });
});

/** A root tree that chroot can run dash and a few coreutils in: the binaries and their libraries. */
function minimalRoot(T: string): void {
  const bins: Record<string, string> = {
    "/bin/sh": "/usr/bin/dash",
    "/usr/bin/env": "/usr/bin/env",
    "/bin/mkdir": "/usr/bin/mkdir",
    "/bin/date": "/usr/bin/date",
    "/bin/rm": "/usr/bin/rm",
  };
  const libs = new Set<string>();
  for (const [to, from] of Object.entries(bins)) {
    mkdirSync(dirname(join(T, to)), { recursive: true });
    copyFileSync(from, join(T, to));
    const ldd = Bun.spawnSync(["ldd", from]).stdout.toString();
    for (const m of ldd.matchAll(/(\/\S+\.so[^\s]*)/g)) libs.add(m[1] as string);
  }
  for (const lib of libs) {
    mkdirSync(dirname(join(T, lib)), { recursive: true });
    copyFileSync(lib, join(T, lib));
  }
  Bun.spawnSync(["chmod", "755", ...Object.keys(bins).map((b) => join(T, b))]);
  mkdirSync(join(T, "etc/systemd/system"), { recursive: true });
  mkdirSync(join(T, "dev"), { recursive: true });
  // clone.sh bind-mounts the clone environment's /dev before postscripts; a null device will do here
  if (Bun.spawnSync(["mknod", "-m", "666", join(T, "dev/null"), "c", "1", "3"]).exitCode !== 0)
    throw new Error("mknod /dev/null failed (the test runs as root)");
}

describe("clone.sh runs them", () => {
  test("postscripts in the new system with their arguments, nothing expanded; a failing or missing one is a warning", async () => {
    const T = join(dir, "target");
    minimalRoot(T);
    const env = renderPlanEnv(
      planInput(normalizeLayout(goldenGpt().layout, "golden-vm"), {
        httpPort: http.port,
        postscripts: [
          { name: "syslog", args: [] },
          { name: "confignetwork", args: ["-s", "$(touch /pwned)", "it's", "`id`;x"] },
          { name: "broken", args: [] },
          { name: "gone", args: ["1"] },
          { name: "setupib", args: ["mlx5_0"] },
        ],
        postbootscripts: [
          { name: "firstboot", args: ["one", "$HOME"] },
          { name: "broken", args: [] },
          { name: "syslog", args: ["again"] },
        ],
      }),
    );
    const run = join(dir, "run");
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, "plan.env"), env);
    writeFileSync(join(dir, "clone.sh"), CLONE_SCRIPT);
    const body = `T=${T}; FETCHER=curl; sleep() { :; }; postscripts; postbootscripts; echo "warnings:$WARNINGS"`;
    const p = Bun.spawn(["dash", "-c", `XC_LIB=1 XC_DIR=${run} XC_RUN=${run}; . ${join(dir, "clone.sh")}; . ${run}/plan.env; ${body}`], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(code, err).toBe(0);
    expect(readFileSync(join(T, "xcatpost/ran"), "utf8")).toBe(
      [
        "syslog NODE=cn01 IMAGENAME=golden-vm NODESETSTATE=install pwd=/xcatpost",
        "confignetwork [-s] [$(touch /pwned)] [it's] [`id`;x] NODE=cn01 IMAGENAME=golden-vm NODESETSTATE=install pwd=/xcatpost",
        "broken NODE=cn01 IMAGENAME=golden-vm NODESETSTATE=install pwd=/xcatpost",
        "setupib [mlx5_0] NODE=cn01 IMAGENAME=golden-vm NODESETSTATE=install pwd=/xcatpost",
        "",
      ].join("\n"),
    );
    expect(existsSync(join(T, "pwned"))).toBe(false);
    expect(out).toContain("postscript broken failed");
    expect(out).toContain("postscript gone could not be fetched");
    expect(out).not.toContain("postscript syslog");
    expect(err).toContain("xcimg-clone: postscripts: confignetwork -s $(touch /pwned) it's `id`;x");

    // the first boot: the unit is enabled; its runner (here run in the chroot as systemd would)
    // runs the postbootscripts once, in order (a failing one does not stop the rest), then
    // disables the unit and leaves its mark naming the failures
    const wants = join(T, "etc/systemd/system/multi-user.target.wants/xcimg-postbootscripts.service");
    expect(readlinkSync(wants)).toBe("/etc/systemd/system/xcimg-postbootscripts.service");
    const unit = readFileSync(join(T, "etc/systemd/system/xcimg-postbootscripts.service"), "utf8");
    expect(unit).toContain("ExecStart=/xcatpost/xcimg-postbootscripts\n");
    expect(unit).toContain("ConditionPathExists=!/var/lib/xcimg/postbootscripts.done\n");
    rmSync(join(T, "xcatpost/ran"));
    const boot = Bun.spawnSync(["/usr/sbin/chroot", T, "/xcatpost/xcimg-postbootscripts"], { env: { PATH: "/usr/bin:/bin", HOME: "/root" } });
    expect(boot.exitCode, boot.stderr.toString()).toBe(1);
    expect(readFileSync(join(T, "xcatpost/ran"), "utf8")).toBe(
      [
        "firstboot [one] [$HOME] NODE=cn01 IMAGENAME=golden-vm NODESETSTATE=boot pwd=/xcatpost",
        "broken NODE=cn01 IMAGENAME=golden-vm NODESETSTATE=boot pwd=/xcatpost",
        "syslog [again] NODE=cn01 IMAGENAME=golden-vm NODESETSTATE=boot pwd=/xcatpost",
        "",
      ].join("\n"),
    );
    expect(readFileSync(join(T, "var/lib/xcimg/postbootscripts.done"), "utf8")).toMatch(/^finished=\d{4}-\d\d-\d\dT[\d:]+Z\nfailed=broken\n$/);
    expect(readFileSync(join(T, "var/log/xcimg/postbootscripts.log"), "utf8")).toMatch(/\+ firstboot one \$HOME\n/);
    expect(() => lstatSync(wants)).toThrow();
  });
});

/** A busybox root (the static busybox and its applets), as the shared runner and the built-ins need sed, awk, ip... */
function busyboxRoot(T: string): void {
  mkdirSync(join(T, "bin"), { recursive: true });
  const bb = Bun.which("busybox");
  if (!bb) throw new Error("no busybox on this machine (install busybox-static)");
  copyFileSync(bb, join(T, "bin/busybox"));
  Bun.spawnSync(["chmod", "755", join(T, "bin/busybox")]);
  for (const d of ["sbin", "usr/bin", "usr/sbin", "dev", "run", "tmp", "etc/network", "etc/chrony", "etc/systemd/system"])
    mkdirSync(join(T, d), { recursive: true });
  const applets = Bun.spawnSync([join(T, "bin/busybox"), "--list-full"])
    .stdout.toString()
    .split("\n")
    .filter(Boolean);
  for (const a of applets) if (!existsSync(join(T, a))) Bun.spawnSync(["ln", "-s", "/bin/busybox", join(T, a)]);
  if (Bun.spawnSync(["mknod", "-m", "666", join(T, "dev/null"), "c", "1", "3"]).exitCode !== 0)
    throw new Error("mknod /dev/null failed (the test runs as root)");
  // the image's configuration the built-ins find: rsyslog (syslog), chrony (setupntp), ifupdown (hardeths)
  writeFileSync(join(T, "etc/rsyslog.conf"), 'module(load="imuxsock")\n');
  writeFileSync(join(T, "etc/network/interfaces"), "auto lo\niface lo inet loopback\n");
}

describe("xcimg's built-ins on a clone", () => {
  test("syslog, setupntp, hardeths run from the plan through the shared runner in the new system; only a name nobody provides is skipped", async () => {
    const config = { ...loadConfig({ env: {} }), installdir: join(dir, "install") };
    const db = openDb(join(dir, "builtins.sqlite"));
    upsert(db, "site", { key: "ntpservers" }, { value: "ntp1.example,<xcatmaster>" });
    // the site's directory has a file named syslog (beforeAll): the built-in runs, not that file
    const ps = clonePostscripts(config, db, {}, { postscripts: "syslog,setupntp,hardeths,mysite", postbootscripts: "otherpkgs" });
    expect(ps.run.map((p) => p.name)).toEqual(["syslog", "setupntp", "hardeths"]);
    expect(ps.xcimg).toEqual(["syslog", "setupntp", "hardeths", "otherpkgs"]);
    expect(ps.missing).toEqual(["mysite"]);
    const files = cloneScriptFiles(config, db, { node: "cn01", attrs: {}, image: { name: "golden-vm", attrs: {} }, master: "10.0.9.1" }, ps);
    db.close();
    expect(files.map((f) => f.name).sort()).toEqual(
      ["postscripts.sh", "mypostscript", "builtins/syslog", "builtins/setupntp", "builtins/hardeths", "builtins/otherpkgs", "builtins/lib/netconf.sh"]
        .map((n) => `etc/xcimg/clone/${n}`)
        .sort(),
    );
    // the plan's directory in the clone environment, as the overlay carries it
    const run = join(dir, "run-builtins");
    for (const f of files) {
      const to = join(run, f.name.slice("etc/xcimg/clone/".length));
      mkdirSync(dirname(to), { recursive: true });
      writeFileSync(to, f.data as string, { mode: f.mode & 0o777 });
    }
    writeFileSync(
      join(run, "plan.env"),
      renderPlanEnv(planInput(normalizeLayout(goldenGpt().layout, "golden-vm"), { httpPort: http.port, postscripts: ps.run, postbootscripts: ps.boot })),
    );
    writeFileSync(join(dir, "clone.sh"), CLONE_SCRIPT);
    const T = join(dir, "target-builtins");
    busyboxRoot(T);
    // a network namespace with one NIC whose address hardeths makes static
    const body = `T=${T}; FETCHER=curl; sleep() { :; }; postscripts; postbootscripts; echo "warnings:$WARNINGS"`;
    const net =
      "ip link add xc0 type veth peer name xc1 && ip addr add 10.1.0.5/24 dev xc0 && ip link set xc1 up && ip link set xc0 up && ip route add default via 10.1.0.1";
    const p = Bun.spawn(
      ["unshare", "-n", "dash", "-c", `${net} && XC_LIB=1 XC_DIR=${run} XC_RUN=${run}; . ${join(dir, "clone.sh")}; . ${run}/plan.env; ${body}`],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(code, err).toBe(0);
    const log = readFileSync(join(T, "var/log/xcat/xcat.log"), "utf8");
    expect(out.trim(), log).toBe("warnings:");
    // not the site's recorder of that name: nothing was fetched for the built-ins
    expect(existsSync(join(T, "xcatpost/ran"))).toBe(false);
    expect(existsSync(join(T, "xcatpost/syslog"))).toBe(false);
    expect(readFileSync(join(T, "etc/rsyslog.d/xcimg-remote.conf"), "utf8")).toBe(
      "# written by xcimg's syslog postscript: every message to the management node too\n*.* @10.0.9.1\n",
    );
    expect(readFileSync(join(T, "etc/chrony/chrony.conf"), "utf8")).toContain("server ntp1.example iburst\nserver 10.0.9.1 iburst\n");
    expect(readFileSync(join(T, "etc/network/interfaces"), "utf8")).toContain("10.1.0.5");
    expect(log).toMatch(/running postscript syslog \(xcimg's built-in\)/);
    expect(log).toMatch(/postscript hardeths exited 0/);
    expect(err).toContain("xcimg-clone: postscripts: setupntp");
    // otherpkgs, a postbootscript: listed for the first boot, its built-in in the new system
    expect(readFileSync(join(T, "xcatpost/xcimg-postbootscripts.list"), "utf8")).toBe("'otherpkgs'\n");
    expect(existsSync(join(T, "etc/xcimg/builtins/otherpkgs"))).toBe(true);
    expect(readFileSync(join(T, "xcatpost/mypostscript"), "utf8")).toContain("NODE='cn01'");
    // at the first boot the unit's runner hands it to the shared runner too (no otherpkgs list: nothing to install)
    const boot = Bun.spawnSync(["/usr/sbin/chroot", T, "/xcatpost/xcimg-postbootscripts"], { env: { PATH: "/usr/bin:/bin" } });
    expect(boot.exitCode, boot.stderr.toString()).toBe(0);
    expect(readFileSync(join(T, "var/log/xcat/xcat.log"), "utf8")).toMatch(/running postbootscript otherpkgs \(xcimg's built-in\)/);
    expect(readFileSync(join(T, "var/lib/xcimg/postbootscripts.done"), "utf8")).toMatch(/\nfailed=\n$/);
  });
});
