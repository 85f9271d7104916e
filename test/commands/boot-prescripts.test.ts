import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineNetbootImage } from "../helpers/images";
import { Sandbox } from "../helpers/sandbox";

/**
 * xCAT's prescripts around nodeset (man5 prescripts; xCAT-server/lib/xcat/plugins/prescripts.pm):
 * site scripts in <installdir>/prescripts run on the host that runs `xcimg boot`, before
 * (`begin`) and after (`end`) it writes boot files, with NODES and ACTION in their environment.
 * The scripts here append what they saw to a log file the test reads.
 */
const IMG = "pre1-x86_64-netboot-compute";
let sb: Sandbox;
let log: string;
const pre = () => join(sb.installdir, "prescripts");

function script(name: string, body: string) {
  const p = join(pre(), name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
}
const seen = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
async function setRow(node: string, ...cols: string[]) {
  const r = await sb.run("table", "set", "prescripts", `node=${node}`, ...cols);
  expect(r.code, r.stderr).toBe(0);
}

beforeAll(async () => {
  sb = new Sandbox("boot-prescripts");
  const img = await defineNetbootImage(sb, IMG, []);
  mkdirSync(join(img.rootimg, "boot"), { recursive: true });
  writeFileSync(join(img.rootimg, "boot/vmlinuz-6.1.0-10-amd64"), Buffer.alloc(1024, 1));
  expect((await sb.run("pack", IMG)).code).toBe(0);
  for (const [n, i] of [
    ["cn01", 1],
    ["cn02", 2],
    ["cn03", 3],
  ] as const) {
    const r = await sb.run(
      "node",
      "set",
      n,
      "groups=compute,all",
      "arch=x86_64",
      "netboot=xnba",
      `mac=52:54:00:12:34:0${i}`,
      `ip=10.0.2.1${i}`,
      `provmethod=${IMG}`,
    );
    expect(r.code, r.stderr).toBe(0);
  }
  mkdirSync(pre(), { recursive: true });
  log = join(sb.dir, "prescripts.log");
  for (const s of ["s1", "s2", "s3", "def"]) script(s, `echo "${s} NODES=$NODES ACTION=$ACTION" >>${log}`);
  script("perNode", `#xCAT setting:MAX_INSTANCE=2\necho "perNode NODES=$NODES" >>${log}`);
  script("warns", `echo "warns ran" >>${log}; echo 'disk quota low'; exit 1`);
  script("stops", `echo "stops ran" >>${log}; echo 'switch port down' >&2; exit 2`);
  writeFileSync(join(pre(), "notexec"), "#!/bin/sh\ntouch /tmp/should-not\n");
});
afterAll(() => sb.cleanup());

describe("prescripts around xcimg boot (xCAT nodeset's runbeginpre / runendpre)", () => {
  test("begin and end run with NODES and ACTION; xcatdefaults first, then the node's row, else its group's; one run per list", async () => {
    await setRow("xcatdefaults", "begin=def");
    await setRow("compute", "begin=s1", "end=s3");
    await setRow("cn02", "begin=s2");
    rmSync(log, { force: true });
    const r = await sb.run("boot", "cn[01-03]", `osimage=${IMG}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("Running begin script s1 for nodes cn01,cn03.");
    // cn02's own row wins over its group's, and its list differs: a batch of its own
    expect(seen()).toEqual([
      `def NODES=cn01,cn03 ACTION=osimage=${IMG}`,
      `s1 NODES=cn01,cn03 ACTION=osimage=${IMG}`,
      `def NODES=cn02 ACTION=osimage=${IMG}`,
      `s2 NODES=cn02 ACTION=osimage=${IMG}`,
      `s3 NODES=cn01,cn02,cn03 ACTION=osimage=${IMG}`,
    ]);
    expect(existsSync(join(sb.tftpdir, "xcat/xnba/nodes/cn01"))).toBe(true);
  });

  test("action parts: `boot:` runs for local boot only, `offline:` for offline, a part without action always", async () => {
    await sb.run("table", "rm", "prescripts", "node=xcatdefaults");
    await sb.run("table", "rm", "prescripts", "node=cn02");
    await setRow("compute", "begin=boot:s1|offline:s2|osimage:s3", "end=");
    rmSync(log, { force: true });
    expect((await sb.run("boot", "cn01", "boot")).code).toBe(0);
    expect(seen()).toEqual(["s1 NODES=cn01 ACTION=boot"]);
    rmSync(log, { force: true });
    expect((await sb.run("boot", "cn01", "--offline")).code).toBe(0);
    expect(seen()).toEqual(["s2 NODES=cn01 ACTION=offline"]);
    rmSync(log, { force: true });
    expect((await sb.run("nodeset", "cn01", "osimage")).code).toBe(0);
    expect(seen()).toEqual(["s3 NODES=cn01 ACTION=osimage"]);
  });

  test("MAX_INSTANCE: the script runs once per node", async () => {
    await setRow("compute", "begin=perNode", "end=");
    rmSync(log, { force: true });
    expect((await sb.run("boot", "cn[01-03]", "-o", IMG)).code).toBe(0);
    expect(seen().sort()).toEqual(["perNode NODES=cn01", "perNode NODES=cn02", "perNode NODES=cn03"]);
  });

  test("a begin script returning 1 is reported, the boot goes on, exit 1", async () => {
    await setRow("compute", "begin=warns,s1", "end=");
    rmSync(log, { force: true });
    const r = await sb.run("boot", "cn01", "-o", IMG);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("warns: return code=1. Error message=disk quota low");
    expect(seen()).toEqual(["warns ran", `s1 NODES=cn01 ACTION=osimage=${IMG}`]);
    expect(r.stdout).toContain("cn01: netboot");
  });

  test("a begin script returning more than 1 stops before anything changed; end scripts do not run", async () => {
    await setRow("compute", "begin=s1", "end=");
    expect((await sb.run("boot", "cn02", "-o", IMG)).code).toBe(0);
    const before = readFileSync(join(sb.tftpdir, "xcat/xnba/nodes/cn02"), "utf8");
    await setRow("compute", "begin=stops,s1", "end=s3");
    rmSync(log, { force: true });
    const r = await sb.run("boot", "cn02", "--offline");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("begin prescript stops returned 2 for cn02: nothing was changed");
    expect(r.stderr).toContain("switch port down");
    expect(seen()).toEqual(["stops ran"]);
    expect(readFileSync(join(sb.tftpdir, "xcat/xnba/nodes/cn02"), "utf8")).toBe(before);
  });

  test("a missing, non-executable or path-like script stops the action with its reason", async () => {
    for (const [name, why] of [
      ["absent", "does not exist"],
      ["notexec", "is not executable"],
      ["../../etc/passwd", "is not a file name under"],
      ["$(touch /tmp/pwned)", "is not a file name under"],
    ] as const) {
      await setRow("compute", `begin=${name}`, "end=");
      const r = await sb.run("boot", "cn03", "--offline");
      expect(r.code, name).toBe(1);
      expect(r.stderr, name).toContain(why);
      expect(existsSync(join(sb.tftpdir, "xcat/xnba/nodes/cn03")), name).toBe(true);
    }
    expect(existsSync("/tmp/should-not")).toBe(false);
    expect(existsSync("/tmp/pwned")).toBe(false);
  });
});
