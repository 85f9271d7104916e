import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FakeNodes, fakeNodes } from "../helpers/node-sshd";
import { Sandbox } from "../helpers/sandbox";

/**
 * `xcimg updatenode` against real sshd servers, each chrooting its sessions into its own busybox
 * tree (a running node): -P runs the site's postscripts with xCAT's variables and literal
 * arguments, -F applies the image's synclists (noderange entries to their nodes only), -k
 * refreshes root's authorized_keys. One server is down: its node fails, named, the others are
 * done, exit 1.
 */
let sb: Sandbox;
let fake: FakeNodes;
const root = (i: number) => fake.nodes[i]?.root as string;

beforeAll(async () => {
  fake = await fakeNodes(["cn01", "cn02", "cn03"]);
  sb = new Sandbox("updatenode", `[ssh]\nidentity = "${fake.clientKey}"\nport = ${fake.port}`);
  const ps = join(sb.installdir, "postscripts");
  mkdirSync(ps, { recursive: true });
  const script = (name: string, body: string) => {
    writeFileSync(join(ps, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(ps, name), 0o755);
  };
  script("sitepost", 'echo "$NODE $MASTER $UPDATENODE $NODESETSTATE $OSVER args=$#:$1:$2" >>/tmp/sitepost.out');
  script("firstup", 'echo "postboot $NODE" >>/tmp/sitepost.out');
  script("broken", "exit 7");
  const src = join(sb.dir, "sync");
  mkdirSync(src);
  writeFileSync(join(src, "hosts"), "10.0.0.1 mn\n");
  writeFileSync(join(src, "cn02only"), "for cn02\n");
  writeFileSync(join(src, "motd.add"), "site line\n");
  writeFileSync(join(src, "passwd"), "alice:x:1001:1001::/home/alice:/bin/sh\n");
  writeFileSync(join(src, "always"), "#!/bin/sh\necho ran >>/tmp/always.ran\n", { mode: 0o755 });
  const list = join(sb.dir, "compute.synclist");
  writeFileSync(
    list,
    [
      `${src}/hosts -> /etc/hosts`,
      `${src}/cn02only -> (cn02) /etc/cn02only`,
      "APPEND:",
      `${src}/motd.add -> /etc/motd`,
      "MERGE:",
      `${src}/passwd -> /etc/passwd`,
      "EXECUTEALWAYS:",
      `${src}/always`,
      "",
    ].join("\n"),
  );
  let r = await sb.run(
    "image",
    "set",
    "img",
    "provmethod=netboot",
    "osvers=bb1",
    "osarch=x86_64",
    "profile=compute",
    `synclists=${list}`,
    "postscripts=sitepost img-arg",
    "postbootscripts=firstup",
  );
  expect(r.code, r.stderr).toBe(0);
  for (const n of fake.nodes) {
    r = await sb.run(
      "node",
      "set",
      n.name,
      "groups=compute,all",
      `ip=${n.address}`,
      "provmethod=img",
      "currstate=netboot bb1-x86_64-compute",
      "xcatmaster=10.9.9.9",
      "postscripts=sitepost $HOME;x",
    );
    expect(r.code, r.stderr).toBe(0);
    writeFileSync(join(n.root, "etc/motd"), "node motd\n");
  }
  writeFileSync(join(sb.dir, "db", "ssh_known_hosts"), fake.knownHosts);
  await fake.nodes[2]?.sshd.stop(); // cn03 is down
}, 120000);
afterAll(async () => {
  await fake?.stop();
  sb?.cleanup();
});

describe("updatenode", () => {
  test("-P: every node's postscripts and postbootscripts with xCAT's variables; the node that is down fails, named; exit 1", async () => {
    const r = await sb.run("updatenode", "cn0[1-3]", "-P");
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("cn01: ok: ran sitepost sitepost firstup");
    expect(lines[1]).toBe("cn02: ok: ran sitepost sitepost firstup");
    expect(lines[2]).toMatch(/^cn03: failed: cannot connect to cn03 \(127\.0\.0\.4:\d+\): connection refused$/);
    expect(r.stderr).toContain("updatenode failed on 1 of 3 node(s): cn03");
    expect(readFileSync(join(root(0), "tmp/sitepost.out"), "utf8")).toBe(
      "cn01 10.9.9.9 1 netboot bb1 args=1:img-arg:\ncn01 10.9.9.9 1 netboot bb1 args=1:$HOME;x:\npostboot cn01\n",
    );
    expect(readFileSync(join(root(0), "run/xcimg/updatenode.status"), "utf8")).toContain("state=done\n");
    expect(readFileSync(join(root(0), "var/log/xcat/xcat.log"), "utf8")).toContain("updatenode sitepost exited 0");
  }, 60000);

  test("-P with names and arguments; a failing script fails that node", async () => {
    const r = await sb.run("updatenode", "cn01", "-P", "sitepost a$b 'c,broken");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("cn01: failed: postscript broken failed (see /var/log/xcat/xcat.log on the node)\n");
    expect(readFileSync(join(root(0), "tmp/sitepost.out"), "utf8")).toEndWith("cn01 10.9.9.9 1 netboot bb1 args=2:a$b:'c\n");
    const missing = await sb.run("updatenode", "cn01", "-P", "nosuch");
    expect(missing.code).toBe(66);
    expect(missing.stderr).toContain("nosuch is not in");
  }, 60000);

  test("-P setupntp: xcimg's own script, sent with the runner (no file of that name in <installdir>/postscripts)", async () => {
    mkdirSync(join(root(1), "etc/chrony"), { recursive: true });
    const r = await sb.run("updatenode", "cn02", "-P", "setupntp");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("cn02: ok: ran setupntp\n");
    expect(existsSync(join(sb.installdir, "postscripts/setupntp"))).toBe(false);
    expect(readFileSync(join(root(1), "etc/xcimg/builtins/setupntp"), "utf8")).toContain("xcimg's built-in setupntp");
    // no site.ntpservers: the node's management node
    expect(readFileSync(join(root(1), "etc/chrony/chrony.conf"), "utf8")).toContain("\nserver 10.9.9.9 iburst\n");
    expect(readFileSync(join(root(1), "var/log/xcat/xcat.log"), "utf8")).toContain("running updatenode setupntp (xcimg's built-in)");
  }, 60000);

  test("-F: synclists onto running nodes; noderange entries only where named; APPEND once; MERGE; EXECUTEALWAYS runs", async () => {
    let r = await sb.run("updatenode", "cn01,cn02", "-F");
    expect(r.code, r.stderr).toBe(0);
    for (const i of [0, 1]) {
      expect(readFileSync(join(root(i), "etc/hosts"), "utf8")).toBe("10.0.0.1 mn\n");
      expect(readFileSync(join(root(i), "etc/motd"), "utf8")).toBe("node motd\nsite line\n");
      expect(readFileSync(join(root(i), "etc/passwd"), "utf8")).toBe("root:x:0:0:root:/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n");
      expect(readFileSync(join(root(i), "tmp/always.ran"), "utf8")).toBe("ran\n");
    }
    expect(existsSync(join(root(0), "etc/cn02only"))).toBe(false);
    expect(readFileSync(join(root(1), "etc/cn02only"), "utf8")).toBe("for cn02\n");
    expect(r.stdout).toContain("cn02: ok: 2 file(s) synced, appended to /etc/motd, merged into /etc/passwd, ran");
    r = await sb.run("updatenode", "cn01", "-F");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^cn01: ok: 0 file\(s\) synced, ran /);
    expect(readFileSync(join(root(0), "etc/motd"), "utf8")).toBe("node motd\nsite line\n");
  }, 60000);

  test("-k refreshes root's authorized_keys; --json; no action is a usage error", async () => {
    const r = await sb.run("--json", "updatenode", "cn01", "-k", "--fanout", "1");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([{ node: "cn01", ok: true, keys: true }]);
    expect(readFileSync(join(root(0), "root/.ssh/authorized_keys"), "utf8")).toBe(readFileSync(`${fake.clientKey}.pub`, "utf8"));
    // a node xcimg has no host key for is refused before any connection
    expect((await sb.run("node", "set", "cn09", "groups=compute,all", "ip=127.0.0.9")).code).toBe(0);
    const nokey = await sb.run("updatenode", "cn09", "-P");
    expect(nokey.code).toBe(1);
    expect(nokey.stdout).toBe("cn09: failed: xcimg has no host key for this node: it was not booted or cloned by xcimg (run 'xcimg boot' for it first)\n");
    const u = await sb.run("updatenode", "cn01");
    expect(u.code).toBe(64);
    expect(u.stderr).toContain("updatenode needs -P, -F or -k");
  }, 60000);
});
