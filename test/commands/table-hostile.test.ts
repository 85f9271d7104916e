import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { treeListing } from "../helpers/bundle-sites";
import { defineNetbootImage } from "../helpers/images";
import { Sandbox } from "../helpers/sandbox";

/**
 * Hostile table values through the compiled binary: `table restore` refuses what `node set`
 * refuses (file:line, exit 65, database unchanged), and values that reach the database some
 * other way (here: written straight into its SQLite file, as a hand-edited or foreign database
 * would hold them) are refused by the boot writers for that node only — nothing outside
 * tftpdir is written or removed, the other nodes still boot (exit 1).
 * Needs dist/xcimg: node_modules/.bin/bun scripts/build.ts --host.
 */
const IMG = "hx-x86_64-netboot-compute";
const TABLES = ["nodelist", "nodegroup", "nodetype", "noderes", "nodehm", "mac", "hosts", "bootparams", "osimage", "linuximage", "site"];
let sb: Sandbox;
let victim: string;

/** A directory next to installdir and tftpdir, which `../../../../victim/pwned` names from tftpdir/xcat/xnba/nodes. */
const victimListing = () => treeListing(victim);
const dumpAll = async () => {
  const out: string[] = [];
  for (const t of TABLES) out.push((await sb.bin(["table", "dump", t])).stdout);
  return out.join("");
};

beforeAll(async () => {
  sb = new Sandbox("table-hostile", '[ssh]\nidentity = "mn_key"');
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "root@mn", "-f", join(sb.dir, "mn_key")]);
  victim = join(sb.dir, "victim");
  mkdirSync(victim);
  writeFileSync(join(victim, "pwned"), "precious\n");
  writeFileSync(join(victim, "pwned.cpio"), "precious\n");
  const img = await defineNetbootImage(sb, IMG);
  mkdirSync(join(img.rootimg, "boot"), { recursive: true });
  writeFileSync(join(img.rootimg, "boot/vmlinuz-6.1.0-10-amd64"), "kernel\n");
  const p = await sb.run("pack", IMG);
  if (p.code !== 0) throw new Error(p.stderr);
  for (const a of [
    ["good01", "groups=compute,all", "netboot=xnba", "mac=52:54:00:00:00:01"],
    ["good02", "groups=compute,all", "netboot=grub2", "mac=52:54:00:00:00:02", "ip=10.0.2.16"],
  ]) {
    const r = await sb.run("node", "set", ...a);
    if (r.code !== 0) throw new Error(r.stderr);
  }
});
afterAll(() => sb.cleanup());

describe("table restore refuses what node set refuses", () => {
  const cases: [string, string, string, RegExp][] = [
    ["nodelist", '#node,groups\n"good03","all"\n"../../../../victim/pwned","all"\n', "3", /invalid node name '\.\.\/\.\.\/\.\.\/\.\.\/victim\/pwned'/],
    ["nodelist", '#node,groups\n"cn1","all,../../x"\n', "2", /invalid group name '\.\.\/\.\.\/x'/],
    ["nodegroup", '#groupname,grouptype\n"../g","static"\n', "2", /invalid group name/],
    ["mac", '#node,interface,mac\n"good01",,"52:54:00:00:00:01"\n"good02",,"/../../../../victim/pwned"\n', "3", /is not a MAC address/],
    [
      "bootparams",
      '#node,addkcmdline\n"good01","quiet\nchain http://evil/x"\n',
      "2",
      /bootparams\.addkcmdline 'quiet\\nchain http:\/\/evil\/x' contains a control character/,
    ],
    ["bootparams", '#node,addkcmdline\n"good02","quiet; linux /evil"\n', "2", /contains ';', which GRUB, iPXE or pxelinux would interpret/],
    ["linuximage", `#imagename,addkcmdline\n"${IMG}","console=tty0 }"\n`, "2", /contains '\}'/],
    ["linuximage", `#imagename,rootimgdir\n"${IMG}","relative/dir"\n`, "2", /rootimgdir must be an absolute path/],
    ["osimage", `#imagename,osvers,osarch,profile\n"${IMG}","../../etc","x86_64","compute"\n`, "2", /osvers is used in paths/],
    ["osimage", '#imagename,osvers\n"../img","x"\n', "2", /invalid image name '\.\.\/img'/],
    ["hosts", '#node,ip\n"good01","10.0.2.15/../../x"\n', "2", /ip must be an IPv4 address/],
    ["noderes", '#node,xcatmaster\n"good01","10.0.2.2 init=/bin/sh"\n', "2", /xcatmaster is a host name/],
    ["nodehm", '#node,serialport,serialspeed\n"good01","0","115200\nimgexec evil"\n', "2", /contains a control character/],
    ["site", '#key,value\n"domain","cluster\nimgfetch evil"\n', "2", /site\.value .* contains a control character/],
  ];
  for (const [table, csv, line, message] of cases) {
    test(`${table}: ${JSON.stringify(csv.split("\n").at(-2))}`, async () => {
      const file = join(sb.dir, `${table}.csv`);
      writeFileSync(file, csv);
      const before = await dumpAll();
      const r = await sb.bin(["table", "restore", table, file]);
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr).toStartWith(`Error: ${file}:${line}: `);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain("hint: fix that value");
      expect(await dumpAll()).toBe(before);
    });
  }

  test("a valid file with xCAT's regular-expression values still restores", async () => {
    const file = join(sb.dir, "hosts-ok.csv");
    writeFileSync(file, '#node,ip,hostnames\n"compute","|\\D+(\\d+)$|10.0.3.($1+10)|",\n"good01","10.0.2.15","good01.cluster"\n');
    const r = await sb.bin(["table", "restore", "-a", "hosts", file]);
    expect(r.code, r.stderr).toBe(0);
    expect((await sb.bin(["--json", "node", "show", "good02"])).stdout).toContain('"ip": "10.0.2.16"');
  });

  test("table set refuses the same values (exit 64)", async () => {
    const r = await sb.bin(["table", "set", "mac", "node=good01", "mac=/../../x"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("is not a MAC address");
    const k = await sb.bin(["node", "set", "good01", "addkcmdline=quiet\nimgexec evil"]);
    expect(k.code).toBe(64);
    expect(k.stderr).toContain("control character");
  });
});

describe("boot writers refuse hostile values that reached the database directly", () => {
  const EVIL = "../../../../victim/pwned";
  beforeAll(() => {
    const db = new Database(sb.dbPath);
    const ins = (table: string, row: Record<string, string>) => {
      const cols = Object.keys(row);
      db.query(`INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(",")}) VALUES (${cols.map(() => "?").join(",")})`).run(...Object.values(row));
    };
    ins("nodelist", { node: EVIL, groups: "all" });
    ins("noderes", { node: EVIL, netboot: "xnba" });
    ins("mac", { node: EVIL, mac: "52:54:00:00:00:09" });
    for (const [node, netboot, mac] of [
      ["evilmac", "grub2", "/../../../../victim/pwned"],
      ["evilpxe", "pxe", "52:54:00:00:00:0a"],
      ["evilk", "xnba", "52:54:00:00:00:0b"],
      ["evilgrub", "grub2", "52:54:00:00:00:0c"],
      ["evilmaster", "grub2", "52:54:00:00:00:0d"],
    ] as const) {
      ins("nodelist", { node, groups: "all" });
      ins("noderes", { node, netboot, ...(node === "evilmaster" ? { xcatmaster: "10.0.2.2\n}\nmenuentry x {" } : {}) });
      ins("mac", { node, mac });
    }
    ins("hosts", { node: "evilpxe", ip: "10.0.2.1/../../../../../victim/pwned" });
    ins("bootparams", { node: "evilk", addkcmdline: "quiet\nchain http://evil/x" });
    ins("bootparams", { node: "evilgrub", addkcmdline: 'quiet" ; linux /evil ; "' });
    db.close();
  });

  test("boot: the hostile nodes fail one by one, the good ones boot, nothing outside tftpdir changes", async () => {
    // publish the image first: its hard links into tftpdir change the link counts in installdir
    expect((await sb.bin(["boot", "good01", "-o", IMG])).code).toBe(0);
    const before = victimListing();
    const installBefore = treeListing(sb.installdir);
    const r = await sb.bin(["boot", "all", "-o", IMG]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe(`good01: netboot test1-x86_64-compute\ngood02: netboot test1-x86_64-compute\n`);
    expect(r.stderr).toContain(`Error: ${EVIL}: invalid node name '${EVIL}'`);
    expect(r.stderr).toContain("evilmac: mac '/../../../../victim/pwned' is not a MAC address");
    expect(r.stderr).toContain("evilpxe: ip '10.0.2.1/../../../../../victim/pwned' is not an IPv4 address");
    expect(r.stderr).toContain("evilk: bootparams.addkcmdline 'quiet\\nchain http://evil/x': it contains a control character");
    expect(r.stderr).toContain(`evilgrub: bootparams.addkcmdline 'quiet\\" ; linux /evil ; \\"': it contains '"'`);
    expect(r.stderr).toContain("evilmaster: the image server (noderes.nfsserver/tftpserver/xcatmaster) '10.0.2.2\\n}\\nmenuentry x {' is not a host name");
    expect(Object.keys(JSON.parse(readFileSync(join(sb.dir, "db", "ssh-host-keys.json"), "utf8"))).sort()).toEqual(["good01", "good02"]);
    expect(victimListing()).toBe(before);
    expect(readFileSync(join(victim, "pwned"), "utf8")).toBe("precious\n");
    expect(treeListing(sb.installdir)).toBe(installBefore);
    // only the good nodes got boot files; no boot file anywhere mentions the injected commands
    expect(readdirSync(join(sb.tftpdir, "xcat/xnba/nodes"))).toEqual(["good01"]);
    expect(readdirSync(join(sb.tftpdir, "boot/grub2")).sort()).toEqual(["good02", "grub.cfg-01-52-54-00-00-00-02", "grub.cfg-0A000210"]);
    expect(readdirSync(join(sb.tftpdir, "pxelinux.cfg"))).toEqual([]);
    expect(readdirSync(join(sb.tftpdir, "xcat/overlay")).sort()).toEqual(["good01.cpio", "good02.cpio"]);
    const grep = Bun.spawnSync(["grep", "-rl", "evil", sb.tftpdir]);
    expect(grep.stdout.toString()).toBe("");
    expect(grep.exitCode).toBe(1);
  });

  test("boot --offline: the hostile nodes fail one by one and unlink nothing outside tftpdir", async () => {
    const before = victimListing();
    const r = await sb.bin(["boot", "all", "--offline"]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`Error: ${EVIL}: invalid node name '${EVIL}'`);
    expect(r.stderr).toContain("evilmac: mac '/../../../../victim/pwned' is not a MAC address");
    expect(r.stderr).toContain("evilpxe: ip '10.0.2.1/../../../../../victim/pwned' is not an IPv4 address");
    expect(r.stdout).toContain("good01: offline\ngood02: offline\n");
    expect(victimListing()).toBe(before);
    expect(readdirSync(join(sb.tftpdir, "xcat/xnba/nodes"))).toEqual([]);
    expect(readdirSync(join(sb.tftpdir, "boot/grub2"))).toEqual([]);
  });
});
