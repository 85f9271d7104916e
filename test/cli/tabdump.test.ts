import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BIN, Sandbox } from "../helpers/sandbox";

/** table dump -w/-d/-f and the tables xcimg stores, as xCAT-test/autotest/testcase/tabdump/cases0 checks tabdump. */
let sb: Sandbox;
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
  sb = new Sandbox("fidelity-tabdump");
});
afterAll(() => sb.cleanup());

const ok = async (...argv: string[]) => {
  const r = await sb.bin(argv);
  if (r.code !== 0) throw new Error(`xcimg ${argv.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r;
};
const names = (csv: string) =>
  csv
    .split("\n")
    .filter((l) => l.startsWith('"'))
    .map((l) => l.split(",")[0]?.replace(/"/g, ""));

describe("table dump -w", () => {
  beforeAll(async () => {
    await ok("node", "set", "testnode01", "groups=all,aix", "statustime=2011-04-19");
    await ok("node", "set", "testnode02", "groups=aix", "statustime=2011-04-18");
    await ok("node", "set", "testnode03", "groups=linux");
  });
  const dump = async (...w: string[]) => names((await ok("table", "dump", ...w.flatMap((c) => ["-w", c]), "nodelist")).stdout);

  test("tabdump_w_match / _equal / _ne / _notmatch", async () => {
    expect(await dump("groups=~all%")).toEqual(["testnode01"]);
    expect(await dump("groups==aix")).toEqual(["testnode02"]);
    expect(await dump("groups!=linux")).toEqual(["testnode01", "testnode02"]);
    expect(await dump("groups!~all")).toEqual(["testnode01", "testnode02", "testnode03"]); // NOT LIKE 'all': no row is exactly all
    expect(await dump("groups!~all%")).toEqual(["testnode02", "testnode03"]);
    expect(await dump("groups=~/%ai_/")).toEqual(["testnode01", "testnode02"]); // slashes dropped, _ is one character
  });

  test("tabdump_w_gt / _ge / _lt / _le, and several -w ANDed", async () => {
    expect(await dump("statustime>2011-04-18")).toEqual(["testnode01"]);
    expect(await dump("statustime>=2011-04-18")).toEqual(["testnode01", "testnode02"]);
    expect(await dump("statustime<2011-04-19")).toEqual(["testnode02"]);
    expect(await dump("statustime<=2011-04-19")).toEqual(["testnode01", "testnode02"]);
    expect(await dump("groups=~%aix%", "statustime<2011-04-19")).toEqual(["testnode02"]);
  });

  test("nothing matches: the header alone; errors name the column or the operator", async () => {
    expect((await ok("table", "dump", "-w", "groups==none", "nodelist")).stdout).toBe(
      "#node,groups,status,statustime,appstatus,appstatustime,primarysn,hidden,updatestatus,updatestatustime,zonename,comments,disable\n",
    );
    let r = await sb.bin(["table", "dump", "-w", "nosuch==1", "nodelist"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('No column "nosuch" in table "nodelist"');
    r = await sb.bin(["table", "dump", "-w", "groups", "nodelist"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("Unsupported operator:groups on -w flag input");
    r = await sb.bin(["table", "dump", "-w", "groups==x'; DROP TABLE nodelist; --", "nodelist"]);
    expect(r.code).toBe(0);
    expect(await dump("groups==aix")).toEqual(["testnode02"]);
  });
});

describe("table dump -d, -f and the stored tables", () => {
  test("tabdump_d: every table with its description; tabdump_d_nodehm: a table's columns", async () => {
    const all = (await ok("table", "dump", "-d")).stdout;
    expect(all).toMatch(/^bootparams:\tCurrent boot settings/);
    expect(all).toContain("\n\nsite:\t\tGlobal settings for the whole cluster.");
    const site = (await ok("table", "dump", "-d", "site")).stdout;
    expect(site.startsWith("key:\t\tAttribute Name:  Description")).toBe(true);
    expect(site).toContain("xcatiport");
    const li = (await ok("table", "dump", "-d", "linuximage")).stdout;
    expect((li.match(/^[a-z_]+(?=:\t)/gm) ?? []).filter((c, i, a) => a.indexOf(c) === i)).toEqual([
      "imagename",
      "template",
      "boottarget",
      "addkcmdline",
      "pkglist",
      "pkgdir",
      "otherpkglist",
      "otherpkgdir",
      "exlist",
      "postinstall",
      "rootimgdir",
      "kerneldir",
      "nodebootif",
      "otherifce",
      "netdrivers",
      "kernelver",
      "krpmver",
      "permission",
      "dump",
      "crashkernelsize",
      "partitionfile",
      "driverupdatesrc",
      "comments",
      "disable",
    ]);
    expect(li).toContain("imagename:\tThe name of this xCAT OS image definition.");
  });

  test("tabdump_f: -f writes the dump to a file (relative to the working directory)", async () => {
    const r = await ok("table", "dump", "-f", "table.csv", "-w", "groups==aix", "nodelist");
    expect(r.stdout).toBe("");
    expect(readFileSync(join(sb.dir, "table.csv"), "utf8")).toBe((await ok("table", "dump", "-w", "groups==aix", "nodelist")).stdout);
    await ok("table", "dump", "-f", join(sb.dir, "passwd.csv"), "passwd");
    expect(statSync(join(sb.dir, "passwd.csv")).mode & 0o777).toBe(0o600);
    const bad = await sb.bin(["table", "dump", "-f", join(sb.dir, "no/such/dir/x.csv"), "site"]);
    expect(bad.code).toBe(66);
  });

  test("tabdump (no table) lists tables; tabdump_servicenode and the other stored tables dump and restore", async () => {
    const list = (await ok("table", "dump")).stdout.split("\n");
    for (const t of ["servicenode", "networks", "nics", "prescripts", "kit", "kitrepo", "kitcomponent", "site"]) expect(list).toContain(t);
    expect((await ok("table", "dump", "servicenode")).stdout).toBe(
      "#node,nameserver,dhcpserver,tftpserver,nfsserver,conserver,monserver,ldapserver,ntpserver,ftpserver,nimserver,ipforward,dhcpinterfaces,proxydhcp,comments,disable\n",
    );
    expect((await ok("table", "dump", "networks")).stdout).toBe(
      "#netname,net,mask,mgtifname,gateway,dhcpserver,tftpserver,nameservers,ntpservers,logservers,dynamicrange,staticrange,staticrangeincrement,nodehostname,ddnsdomain,vlanid,domain,mtu,comments,disable\n",
    );
    const csv =
      '#netname,net,mask,mgtifname,gateway,dhcpserver,tftpserver,nameservers,ntpservers,logservers,dynamicrange,staticrange,staticrangeincrement,nodehostname,ddnsdomain,vlanid,domain,mtu,comments,disable\n"10_0_0_0-255_255_255_0","10.0.0.0","255.255.255.0","eth0","10.0.0.254",,,"10.0.0.1",,,"10.0.0.200-10.0.0.250",,,,,,"cluster",,,\n';
    await Bun.write(join(sb.dir, "networks.csv"), csv);
    await ok("table", "restore", join(sb.dir, "networks.csv"));
    expect((await ok("table", "dump", "networks")).stdout).toBe(csv);
    await ok("table", "set", "prescripts", "node=compute", "begin=myscript");
    expect((await ok("table", "dump", "prescripts")).stdout).toBe('#node,begin,end,comments,disable\n"compute","myscript",,,\n');
  });
});
