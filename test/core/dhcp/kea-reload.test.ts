import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { BACKEND_INFO, findBinary } from "../../../src/core/dhcp/backend";
import { keaSocketReload, runReload } from "../../../src/core/dhcp/reload";
import { Sandbox } from "../../helpers/sandbox";

/**
 * Kea's control socket (site.dhcpcontrolsocket): the file `xcimg dhcp` writes declares it, and
 * `--reload` sends `config-reload` over it to a real kea-dhcp4. Kea runs in a network and mount
 * namespace of its own (unshare): `*` there is a loopback that serves nobody, its lease file
 * is on a tmpfs only it sees; the unix socket is a file in the sandbox, reachable from outside.
 */
const kea = findBinary(BACKEND_INFO.kea.binary);
if (!kea && process.env.CI === "true") throw new Error(`kea-dhcp4 missing: apt-get install ${BACKEND_INFO.kea.package}`);

let sb: Sandbox;
let socket: string;
let conf: string;
let proc: ReturnType<typeof Bun.spawn> | undefined;
const log = () => (existsSync(join(sb.dir, "kea.log")) ? readFileSync(join(sb.dir, "kea.log"), "utf8") : "");

async function ok(...argv: string[]) {
  const r = await sb.run(...argv);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

/** What Kea itself holds now, asked over the socket with a client of the test's own. */
function configGet(): Promise<{ arguments: { Dhcp4: { subnet4: { reservations: { "hw-address": string; hostname: string }[] }[] } } }> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const c = createConnection({ path: socket });
    c.on("connect", () => c.write('{"command":"config-get"}'));
    c.on("data", (d) => {
      buf += d.toString();
    });
    c.on("close", () => resolve(JSON.parse(buf)));
    c.on("error", reject);
  });
}
const reservedMacs = async () => (await configGet()).arguments.Dhcp4.subnet4.flatMap((s) => s.reservations.map((r) => r["hw-address"]));

beforeAll(async () => {
  if (!kea) return;
  sb = new Sandbox("kea-reload", '[dhcp]\ndir = "dhcp"');
  socket = join(sb.dir, "kea4.sock");
  conf = join(sb.dir, "dhcp", "kea-dhcp4.conf");
  await ok("table", "set", "networks", "net=10.0.2.0,mask=255.255.255.0", "netname=mgmt", "gateway=10.0.2.254");
  await ok("table", "set", "site", "key=dhcpbackend", "value=kea");
  await ok("table", "set", "site", "key=dhcpcontrolsocket", `value=${socket}`);
  await ok("node", "set", "cn01", "groups=compute,all", "mac=52:54:00:12:34:01", "ip=10.0.2.11");
  await ok("node", "set", "cn02", "groups=compute,all", "mac=52:54:00:12:34:02", "ip=10.0.2.12");
  await ok("dhcp", "-n");
  const script = `ip link set lo up && mount -t tmpfs xcimg-kea /var/lib && mkdir /var/lib/kea && exec "$1" -c "$2"`;
  proc = Bun.spawn(["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", script, "kea", kea, conf], {
    stdout: Bun.file(join(sb.dir, "kea.log")),
    stderr: "ignore",
    env: { ...process.env, KEA_PIDFILE_DIR: sb.dir, KEA_LOCKFILE_DIR: sb.dir },
  });
  // Kea's own log is block-buffered into the file: its socket appearing is the sign it listens
  for (let i = 0; i < 100 && !existsSync(socket); i++) await Bun.sleep(100);
  if (!existsSync(socket)) throw new Error(`kea-dhcp4 did not open its control socket: ${log().slice(-2000)}`);
});
afterAll(() => {
  proc?.kill();
  sb?.cleanup();
});

describe.if(kea !== null)("Kea: config-reload over the control socket", () => {
  test("the rendered file declares the socket; adding and removing nodes reaches the running Kea through config-reload", async () => {
    expect(JSON.parse(readFileSync(conf, "utf8")).Dhcp4["control-socket"]).toEqual({ "socket-type": "unix", "socket-name": socket });
    expect(await reservedMacs()).toEqual([]);

    const add = await ok("dhcp", "cn01,cn02");
    expect(add.stderr).toContain(`the server needs: kea config-reload over ${socket}`);
    expect(await reservedMacs()).toEqual([]); // printed, not run

    await ok("dhcp", "cn01,cn02", "--reload"); // nothing changed: nothing to reload
    await ok("dhcp", "-d", "cn02");
    await ok("dhcp", "cn02", "--reload");
    expect((await reservedMacs()).sort()).toEqual(["52:54:00:12:34:01", "52:54:00:12:34:02"]);

    await ok("dhcp", "-d", "cn01", "--reload");
    expect(await reservedMacs()).toEqual(["52:54:00:12:34:02"]);
  });

  test("a file Kea refuses at config-reload is reported with Kea's reason; Kea keeps its configuration", async () => {
    const good = readFileSync(conf, "utf8");
    // not a file xcimg would activate (kea-dhcp4 -t refuses it): someone edited it by hand
    writeFileSync(conf, good.replace('"valid-lifetime": 43200', '"valid-lifetime": "forever"'));
    try {
      const e = await runReload(keaSocketReload(socket)).then(
        () => null,
        (x: Error) => x,
      );
      expect(e?.message).toMatch(new RegExp(`Kea's config-reload over ${socket} failed: Kea answered 1: Config reload failed: .*expecting integer`));
      expect(e?.message).toContain("it keeps running on its previous configuration");
      expect(await reservedMacs()).toEqual(["52:54:00:12:34:02"]);
    } finally {
      writeFileSync(conf, good);
    }
  });

  test("no Kea on the socket: a clear failure after the file is in place, exit 74", async () => {
    await ok("table", "set", "site", "key=dhcpcontrolsocket", `value=${sb.dir}/nosuch.sock`);
    await ok("dhcp", "-n"); // the file now names the other socket
    await ok("dhcp", "-d", "cn01");
    const r = await sb.run("dhcp", "cn01", "--reload");
    expect(r.code).toBe(74);
    expect(r.stderr).toContain(`the configuration is in place, but Kea's config-reload over ${sb.dir}/nosuch.sock failed`);
    expect(r.stderr).toContain("is kea-dhcp4 running with this control socket?");
    expect(readFileSync(conf, "utf8")).toContain('"hw-address": "52:54:00:12:34:01"');
  });

  test("a socket path that is not one is refused before anything is written", async () => {
    const before = readFileSync(conf, "utf8");
    for (const bad of ["kea.sock", "/run/kea/../../etc/x", '/run/"x"']) {
      await ok("table", "set", "site", "key=dhcpcontrolsocket", `value=${bad}`);
      const r = await sb.run("dhcp", "-n");
      expect(r.code, bad).toBe(65);
      expect(r.stderr).toContain("is not an absolute socket path");
    }
    expect(readFileSync(conf, "utf8")).toBe(before);
  });
});
