import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FakeNodes, fakeNodes } from "../../helpers/node-sshd";
import { Sandbox } from "../../helpers/sandbox";

/**
 * `xcimg node status`: each node's postscript state read over SSH from the status file its
 * runner keeps, trusting only the host key xcimg has for it; a node that does not answer is a
 * partial failure (exit 1), and nodelist.status follows what the nodes say.
 */
let sb: Sandbox;
let fake: FakeNodes;

beforeAll(async () => {
  fake = await fakeNodes(["cn01", "cn02", "cn03", "cn04"]);
  sb = new Sandbox("node-status", `[ssh]\nidentity = "${fake.clientKey}"\nport = ${fake.port}`);
  for (const n of fake.nodes) {
    const r = await sb.run("node", "set", n.name, "groups=compute,all", `ip=${n.address}`);
    expect(r.code, r.stderr).toBe(0);
  }
  // the host keys boot gave the nodes (here: the servers' own)
  writeFileSync(join(sb.dir, "db", "ssh_known_hosts"), fake.knownHosts);
  const put = (node: number, text: string) => {
    const root = fake.nodes[node]?.root as string;
    mkdirSync(join(root, "run/xcimg"), { recursive: true });
    writeFileSync(join(root, "run/xcimg/postscripts.status"), text);
  };
  put(0, "state=booted\nskipped=syslog\nphase=postbootscript\n");
  put(1, "state=failed\nfailed=broken\nphase=postbootscript\n");
  put(3, "state=running\nphase=postscript\ncurrent=sitepost\n");
  await fake.nodes[2]?.sshd.stop(); // cn03 is down
}, 120000);
afterAll(async () => {
  await fake?.stop();
  sb?.cleanup();
});

describe("node status", () => {
  test("booted, failed: <script>, running, unreachable; exit 1; nodelist.status set", async () => {
    const r = await sb.run("node", "status", "cn0[1-4]");
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("cn01: booted (not run: syslog)");
    expect(lines[1]).toBe("cn02: failed: broken");
    expect(lines[2]).toMatch(/^cn03: unreachable: cannot connect to cn03 \(127\.0\.0\.4:\d+\): connection refused$/);
    expect(lines[3]).toBe("cn04: running: postscript sitepost");
    const db = await sb.run("table", "dump", "nodelist");
    expect(db.stdout).toMatch(/"cn01","compute,all","booted"/);
    expect(db.stdout).toMatch(/"cn02","compute,all","failed"/);
    expect(db.stdout).toMatch(/"cn04","compute,all","booting"/);
    expect(db.stdout).toMatch(/"cn03","compute,all",,/);
  }, 60000);

  test("--json; all booted is exit 0", async () => {
    const r = await sb.run("--json", "node", "status", "cn01");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([{ node: "cn01", state: "booted", failed: [], current: "", skipped: ["syslog"], message: "" }]);
  }, 30000);

  test("a node whose key is not xcimg's is refused, not trusted", async () => {
    writeFileSync(
      join(sb.dir, "db", "ssh_known_hosts"),
      fake.knownHosts.replace(/^cn01 .*$/m, "cn01 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKbnF1Xx1y0l4y5y2wQZ5k3l1m9k2b6o0mYp8r1aF9cP"),
    );
    const r = await sb.run("node", "status", "cn01");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^cn01: unreachable: REMOTE HOST IDENTIFICATION HAS CHANGED/);
    writeFileSync(join(sb.dir, "db", "ssh_known_hosts"), fake.knownHosts);
  }, 30000);

  test("--wait follows a running node until it has booted", async () => {
    const root = fake.nodes[3]?.root as string;
    setTimeout(() => writeFileSync(join(root, "run/xcimg/postscripts.status"), "state=booted\n"), 1500);
    const r = await sb.run("node", "status", "cn04", "--wait", "--timeout", "30");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("cn04: booted\n");
    expect(r.stderr).toContain("cn04: running: postscript sitepost");
  }, 60000);
});
