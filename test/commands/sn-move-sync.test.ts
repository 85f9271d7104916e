import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineNetbootImage, fakeKernels } from "../helpers/images";
import { Sandbox } from "../helpers/sandbox";
import { freePort, Sshd } from "../helpers/sshd";

/**
 * `xcimg sn move --sync` against two real OpenSSH servers standing in for service nodes sn1
 * (127.0.0.1) and sn2 (127.0.0.2), sharing one port; sn3 (127.0.0.3) has no server. The SNs'
 * `xcimg` is a stub on the sshd's PATH (the SN's sync is not what this test is about:
 * sn-sync.test.ts covers it) that records its argv, prints to stdout and stderr, and exits
 * with whatever the test wrote for that SN.
 */
const A = "snmovesync-x86_64-netboot-compute";
let sb: Sandbox;
let sn1: Sshd;
let sn2: Sshd;
let stub: string;
let knownHosts: string;

const sshEnv = () => ({ XCIMG_SSH_PORT: String(sn1.port), XCIMG_SSH_IDENTITY: sn1.clientKey, XCIMG_SSH_KNOWN_HOSTS: knownHosts, SSH_AUTH_SOCK: "" });
const move = (...argv: string[]) => sb.bin(["sn", "move", ...argv], { env: sshEnv() });
const ran = () => readFileSync(join(stub, "ran.log"), "utf8");
const exitWith = (sn: string, code: number) => writeFileSync(join(stub, `exit-${sn}`), `${code}\n`);
async function attrs(n: string) {
  const r = await sb.run("--json", "node", "show", n);
  return (JSON.parse(r.stdout) as Record<string, Record<string, string>>)[n] ?? {};
}

beforeAll(async () => {
  sb = new Sandbox("sn-move-sync");
  stub = join(sb.dir, "sn-bin");
  mkdirSync(stub, { recursive: true });
  writeFileSync(
    join(stub, "xcimg"),
    [
      "#!/bin/sh",
      `echo "$XCIMG_TEST_SN $*" >>${stub}/ran.log`,
      'echo "synced on $XCIMG_TEST_SN"',
      // an SN's output is shown on the admin's terminal: escape sequences must not get through
      "printf 'warned on stderr \\033[2J\\n' >&2",
      `exit "$(cat ${stub}/exit-$XCIMG_TEST_SN 2>/dev/null || echo 0)"`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  const port = await freePort();
  const env = (sn: string) => [`SetEnv PATH=${stub}:/usr/bin:/bin XCIMG_TEST_SN=${sn}`];
  sn1 = await Sshd.start({ port, address: "127.0.0.1", config: env("sn1") });
  sn2 = await Sshd.start({ port, address: "127.0.0.2", config: env("sn2") });
  // one MN key reaches both SNs, and one known_hosts pins both
  appendFileSync(join(sn2.dir, "authorized_keys"), readFileSync(`${sn1.clientKey}.pub`));
  knownHosts = join(sb.dir, "known_hosts");
  writeFileSync(knownHosts, readFileSync(sn1.knownHosts, "utf8") + readFileSync(sn2.knownHosts, "utf8"));

  const a = await defineNetbootImage(sb, A, [], "snmovesync");
  fakeKernels(a.rootimg);
  const ok = async (...argv: string[]) => {
    const r = await sb.run(...argv);
    if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  };
  for (const [sn, ip] of [
    ["sn1", "127.0.0.1"],
    ["sn2", "127.0.0.2"],
    ["sn3", "127.0.0.3"],
  ] as const) {
    await ok("node", "set", sn, "groups=service,all", `ip=${ip}`);
    await ok("table", "set", "servicenode", `node=${sn}`, "dhcpserver=1");
  }
  await ok("node", "set", "cn01", "groups=compute,all", "servicenode=sn1", "xcatmaster=sn1", `provmethod=${A}`);
  await ok("node", "set", "cn02", "groups=compute,all", "servicenode=sn1", `provmethod=${A}`);
}, 60000);

afterAll(async () => {
  await sn1?.stop();
  await sn2?.stop();
  sb?.cleanup();
});

describe("sn move --sync", () => {
  test("runs 'xcimg sn sync' on the SN the node left and the one it joined, their lines relayed under their names", async () => {
    const r = await move("cn01", "sn2", "--sync");
    expect(r.code, r.stderr).toBe(0);
    expect(ran().split("\n").filter(Boolean).sort()).toEqual(["sn1 sn sync", "sn2 sn sync"]);
    expect(r.stderr).toContain("sn1: synced on sn1");
    expect(r.stderr).toContain("sn2: synced on sn2");
    expect(r.stderr).toContain("sn2: warned on stderr ?[2J");
    expect(r.stderr).not.toContain("\x1b");
    expect(r.stdout).toContain("cn01: sn1 -> sn2");
    expect(r.stdout).toContain("sn1: synced");
    expect(r.stdout).toContain("sn2: synced");
    expect(await attrs("cn01")).toMatchObject({ servicenode: "sn2", xcatmaster: "sn2" });
  });

  test("an SN the move leaves with no node: its sync's 'serves no node' is expected, not a failure", async () => {
    rmSync(join(stub, "ran.log"));
    exitWith("sn1", 66);
    const r = await sb.bin(["--json", "sn", "move", "cn02", "sn2", "--sync"], { env: sshEnv() });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { synced: { sn: string; ok: boolean; exit: number | null; message?: string }[] };
    expect(out.synced).toEqual([
      { sn: "sn1", ok: true, exit: 66, message: "serves no node now; its old boot files and DHCP entries stay until 'xcimg dhcp -d' there" },
      { sn: "sn2", ok: true, exit: 0 },
    ]);
  });

  test("an SN whose sync fails and one that does not answer are named; the move stays committed, exit 1", async () => {
    rmSync(join(stub, "ran.log"));
    exitWith("sn2", 75);
    const r = await move("cn01,cn02", "sn3", "--sync");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("sn2: sync failed: another sn sync is running there");
    expect(r.stdout).toMatch(/sn3: sync failed: .*127\.0\.0\.3/);
    expect(r.stderr).toContain("the move is committed; sn2, sn3 did not sync");
    expect(ran()).toBe("sn2 sn sync\n");
    expect((await attrs("cn01")).servicenode).toBe("sn3");
    expect((await attrs("cn02")).servicenode).toBe("sn3");
  });

  test("an SN whose host key is not pinned is refused, and its key is not learnt", async () => {
    rmSync(join(stub, "ran.log"), { force: true });
    exitWith("sn1", 0);
    exitWith("sn2", 0);
    await sb.run("sn", "move", "cn01,cn02", "sn2");
    const pinned = readFileSync(sn2.knownHosts, "utf8");
    writeFileSync(knownHosts, pinned);
    const r = await move("cn01", "sn1", "--sync");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/sn1: sync failed: .*host key/i);
    expect(r.stdout).toContain("sn2: synced");
    expect(ran()).toBe("sn2 sn sync\n");
    expect(readFileSync(knownHosts, "utf8")).toBe(pinned);
    expect((await attrs("cn01")).servicenode).toBe("sn1");
  });
});
