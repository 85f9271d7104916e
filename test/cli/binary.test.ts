import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, Sandbox } from "../helpers/sandbox";

/**
 * The compiled binary, driven as an admin or a bootstrap script would: definitions, output
 * formats, exit codes per error kind, and two processes writing at once.
 */
let sb: Sandbox;
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
  sb = new Sandbox("binary");
});
afterAll(() => sb.cleanup());

describe("xcimg binary", () => {
  test("--version prints the version from package.json", async () => {
    const r = await sb.bin(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe((await Bun.file(join(import.meta.dir, "../../package.json")).json()).version);
  });

  test("--help on every command, with examples; root help lists exit codes", async () => {
    const root = await sb.bin(["--help"]);
    expect(root.code).toBe(0);
    expect(root.stdout).toContain("EXIT CODES");
    for (const cmd of [
      "capture",
      "pack",
      "boot",
      "lite",
      "clone",
      "export",
      "import",
      "image set",
      "image list",
      "node set",
      "node show",
      "table dump",
      "table restore",
    ]) {
      const r = await sb.bin([...cmd.split(" "), "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`xcimg ${cmd}`);
      expect(r.stdout).toContain("EXAMPLES");
    }
  });

  test("image CRUD with stanza and JSON output", async () => {
    let r = await sb.bin(["image", "set", "rocky9-x86_64-netboot-compute", "provmethod=netboot", "osvers=rhels9.4", "osarch=x86_64", "profile=compute"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("Created image rocky9-x86_64-netboot-compute.");
    r = await sb.bin(["image", "show", "rocky9-x86_64-netboot-compute"]);
    expect(r.stdout).toBe(
      [
        "Object name: rocky9-x86_64-netboot-compute",
        "    imagetype=linux",
        "    osarch=x86_64",
        "    osname=Linux",
        "    osvers=rhels9.4",
        "    profile=compute",
        "    provmethod=netboot",
        "",
      ].join("\n"),
    );
    r = await sb.bin(["image", "set", "rocky9-x86_64-netboot-compute", "exlist=/install/custom/x.exlist", "profile="]);
    expect(r.code).toBe(0);
    r = await sb.bin(["--json", "image", "show", "rocky9-x86_64-netboot-compute"]);
    const shown = JSON.parse(r.stdout);
    expect(shown["rocky9-x86_64-netboot-compute"].exlist).toBe("/install/custom/x.exlist");
    expect(shown["rocky9-x86_64-netboot-compute"].profile).toBeUndefined();
    r = await sb.bin(["image", "copy", "rocky9-x86_64-netboot-compute", "canary"]);
    expect(r.code).toBe(0);
    r = await sb.bin(["image", "list", "--json"]);
    expect(JSON.parse(r.stdout)).toEqual(["canary", "rocky9-x86_64-netboot-compute"]);
    r = await sb.bin(["image", "rm", "canary"]);
    expect(r.code).toBe(0);
    r = await sb.bin(["image", "list"]);
    expect(r.stdout).toBe("rocky9-x86_64-netboot-compute\n");
    r = await sb.bin(["table", "dump", "linuximage"]);
    expect(r.stdout).toContain('"rocky9-x86_64-netboot-compute",,,,,,,,"/install/custom/x.exlist",');
  });

  test("node CRUD over a noderange, sorted as xCAT sorts", async () => {
    let r = await sb.bin(["node", "set", "cn[1-3],cn10", "groups=compute,all", "netboot=xnba", "arch=x86_64"]);
    expect(r.code).toBe(0);
    r = await sb.bin(["node", "set", "cn1", "mac=52:54:00:AA:00:01", "ip=10.0.0.1"]);
    expect(r.code).toBe(0);
    r = await sb.bin(["node", "list"]);
    expect(r.stdout).toBe("cn1\ncn10\ncn2\ncn3\n");
    r = await sb.bin(["node", "list", "compute,-cn2"]);
    expect(r.stdout).toBe("cn1\ncn10\ncn3\n");
    r = await sb.bin(["node", "show", "cn1"]);
    expect(r.stdout).toBe(
      ["Object name: cn1", "    arch=x86_64", "    groups=compute,all", "    ip=10.0.0.1", "    mac=52:54:00:aa:00:01", "    netboot=xnba", ""].join("\n"),
    );
    r = await sb.bin(["node", "rm", "cn10"]);
    expect(r.code).toBe(0);
    r = await sb.bin(["--json", "node", "list", "compute"]);
    expect(JSON.parse(r.stdout)).toEqual(["cn1", "cn2", "cn3"]);
  });

  test("group rows are inherited, as xCAT resolves node attributes", async () => {
    await sb.bin(["table", "set", "noderes", "node=compute", "netboot=grub2", "xcatmaster=10.0.0.254"]);
    await sb.bin(["table", "set", "hosts", "node=compute", "ip=|\\D+(\\d+).*$|10.0.1.($1+100)|"]);
    const r = await sb.bin(["--json", "node", "show", "cn2,cn3"]);
    const shown = JSON.parse(r.stdout);
    expect(shown.cn2.netboot).toBe("xnba"); // the node's own row wins
    expect(shown.cn2.xcatmaster).toBe("10.0.0.254"); // from the group row
    expect(shown.cn3.ip).toBe("10.0.1.103"); // computed from the group's regex value
  });

  test("unknown attributes are refused with the list of valid ones; nothing written", async () => {
    const r = await sb.bin(["node", "set", "cn1", "macc=00:11:22:33:44:55"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("'macc' is not a valid node attribute");
    expect(r.stderr).toContain("valid attributes:");
    expect(r.stderr).toContain(" mac ");
  });

  test("names that could reach a shell or escape a directory are refused", async () => {
    for (const bad of ["../etc", "a/b", "x;rm -rf /", "-rf", ".hidden", "a b", "x\ny"]) {
      const r = await sb.bin(["image", "set", "--", bad, "provmethod=netboot"]);
      expect(r.code).toBe(64);
      expect(r.stderr).toContain("invalid image name");
    }
    const r = await sb.bin(["node", "set", "good,bad$(id)", "groups=all"]);
    expect(r.code).not.toBe(0);
    expect((await sb.bin(["node", "list", "good"])).code).not.toBe(0); // nothing was created
  });

  test("exit codes per error kind", async () => {
    const cases: [string[], number, RegExp][] = [
      [["image", "list", "--bogus"], 64, /unknown option '--bogus'/],
      [["frobnicate"], 64, /unknown command 'frobnicate'/],
      [["image", "show", "nope"], 66, /Cannot find image 'nope' from the osimage table\./],
      [["table", "dump", "nope"], 66, /no table named 'nope'/],
      [["node", "show", "ghost"], 66, /ghost/],
      [["image", "set", "x", "provmethod=raw"], 64, /provmethod must be one of install, netboot, statelite, sysclone/],
      [["import", "x.tgz"], 66, /Cannot find x.tgz/],
    ];
    for (const [argv, code, msg] of cases) {
      const r = await sb.bin(argv);
      expect(r.code, argv.join(" ")).toBe(code);
      expect(r.stderr).toMatch(/^Error: /);
      expect(r.stderr).toMatch(msg);
    }
    const bad = join(sb.dir, "bad.csv");
    writeFileSync(bad, '#key,value\n"a","1\n');
    const r = await sb.bin(["table", "restore", "site", bad]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(`${bad}:2: unmatched "`);
  });

  test("restoring an xCAT site table warns where it disagrees with the config", async () => {
    const f = join(sb.dir, "site.csv");
    writeFileSync(f, `#key,value,comments,disable\n"installdir","/install",,\n"tftpdir","${sb.tftpdir}",,\n"domain","cluster",,\n`);
    const r = await sb.bin(["table", "restore", f]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Warning: site.installdir is '/install' but xcimg uses installdir = '${sb.installdir}'`);
    expect(r.stderr).not.toContain("site.tftpdir");
    expect((await sb.bin(["table", "dump", "site"])).stdout).toBe(await Bun.file(f).text());
  });

  test("an operation the image's provmethod lacks is a usage error naming the methods that have it", async () => {
    await sb.bin(["image", "set", "inst-img", "provmethod=install", "osvers=rhels9.4", "osarch=x86_64", "profile=compute"]);
    const r = await sb.bin(["pack", "inst-img"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("image 'inst-img' has provmethod 'install', which does not support 'pack'");
    expect(r.stderr).toContain("'pack' works on images with provmethod netboot");
    // lite keeps liteimg's own words for this case
    const lite = await sb.bin(["lite", "rocky9-x86_64-netboot-compute"]);
    expect(lite.code).toBe(65);
    expect(lite.stderr).toContain("Please make sure that osimage.provmethod is set to statelite before calling this command.");
  });

  test("--json errors are JSON on stdout too", async () => {
    const r = await sb.bin(["--json", "image", "show", "nope"]);
    expect(r.code).toBe(66);
    expect(JSON.parse(r.stdout).error).toMatchObject({ kind: "NotFoundError", exitCode: 66 });
  });

  test("config errors name file:line:col and exit 78", async () => {
    const cfg = join(sb.dir, "broken.toml");
    writeFileSync(cfg, `installdir = "/install"\n[http]\nport = "80"\n`);
    const r = await sb.bin(["--config", cfg, "image", "list"]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${cfg}:3:1: http.port must be an integer`);
    const env = await sb.bin(["image", "list"], { env: { XCIMG_CONFIG: cfg } });
    expect(env.code).toBe(78);
  });

  test("two processes writing at once never see 'database is locked'", async () => {
    const fresh = new Sandbox("concurrent");
    try {
      const writers = Array.from({ length: 6 }, (_, i) => fresh.bin(["node", "set", `w${i}n[1-50]`, "groups=compute,all", "netboot=xnba", `arch=x86_64`]));
      const results = await Promise.all(writers);
      for (const r of results) {
        expect(r.stderr).not.toContain("locked");
        expect(r.code).toBe(0);
      }
      const list = await fresh.bin(["--json", "node", "list"]);
      expect(JSON.parse(list.stdout)).toHaveLength(300);
    } finally {
      fresh.cleanup();
    }
  });

  test("a .env in the working directory is not read by the binary", async () => {
    // with dotenv autoload the binary would pick up XCIMG_CONFIG and fail on the missing file
    writeFileSync(join(sb.dir, ".env"), "XCIMG_CONFIG=/nonexistent.toml\n");
    const r = await sb.bin(["table", "list"], { cwd: sb.dir, env: { XCIMG_CONFIG: undefined } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});
