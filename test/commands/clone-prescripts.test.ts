import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Sandbox } from "../helpers/sandbox";
import { defineFakeSyscloneImage } from "../helpers/sysclone-image";

/**
 * Preparing clones is xCAT's `nodeset <nr> osimage=<sysclone image>`, so the prescripts table's
 * begin and end scripts run around `xcimg clone -o` (docs/boot.md, Prescripts), not around its
 * --dry-run or --update.
 */
let sb: Sandbox;
const IMG = "prsc";
let log: string;

beforeAll(async () => {
  sb = new Sandbox("clone-prescripts");
  await defineFakeSyscloneImage(sb, IMG);
  for (const n of ["cn01", "cn02"]) expect((await sb.run("node", "set", n, "groups=compute,all", `mac=52:54:00:00:00:0${n.slice(-1)}`)).code).toBe(0);
  const pre = join(sb.installdir, "prescripts");
  mkdirSync(pre, { recursive: true });
  log = join(sb.dir, "prescripts.log");
  writeFileSync(join(pre, "switchport"), `#!/bin/sh\necho "$0 NODES=$NODES ACTION=$ACTION" >>${log}\n`, { mode: 0o755 });
  writeFileSync(join(pre, "refuse"), "#!/bin/sh\necho 'rack PDU unreachable'\nexit 3\n", { mode: 0o755 });
});
afterAll(() => sb?.cleanup());

const seen = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);

describe("prescripts around xcimg clone", () => {
  test("begin and end run with ACTION=osimage=<img>; --dry-run runs none", async () => {
    expect((await sb.run("table", "set", "prescripts", "node=compute", "begin=switchport", "end=osimage:switchport")).code).toBe(0);
    let r = await sb.run("clone", "cn01,cn02", "-o", IMG, "--dry-run");
    expect(r.code, r.stderr).toBe(0);
    expect(seen()).toEqual([]);
    r = await sb.run("clone", "cn01,cn02", "-o", IMG);
    expect(r.code, r.stderr).toBe(0);
    const script = join(sb.installdir, "prescripts", "switchport");
    expect(seen()).toEqual([`${script} NODES=cn01,cn02 ACTION=osimage=${IMG}`, `${script} NODES=cn01,cn02 ACTION=osimage=${IMG}`]);
  });

  test("a begin script returning more than 1 stops before any node is prepared", async () => {
    rmSync(join(sb.tftpdir, "xcat/xnba/nodes/cn02"), { force: true });
    expect((await sb.run("table", "set", "prescripts", "node=cn02", "begin=refuse")).code).toBe(0);
    const r = await sb.run("clone", "cn02", "-o", IMG);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("begin prescript refuse returned 3 for cn02: nothing was changed");
    expect(r.stderr).toContain("rack PDU unreachable");
    expect(existsSync(join(sb.tftpdir, "xcat/xnba/nodes/cn02"))).toBe(false);
  });
});
