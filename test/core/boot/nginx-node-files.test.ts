import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { defineNetbootImage, fakeKernels } from "../../helpers/images";
import { Sandbox } from "../../helpers/sandbox";

/**
 * The per-node files that hold secrets, served by a real nginx whose workers run as www-data:
 * the 0640 root:www-data overlays are readable by it (and by nobody else), and with the snippet
 * `xcimg boot` writes, each node's overlay and answer file go only to that node's hosts.ip
 * (127.0.0.1 here; the other node's address is one this client does not have).
 */
const IMG = "acl-x86_64-netboot-compute";
let sb: Sandbox;
let nginx: ReturnType<typeof Bun.spawn> | undefined;
let port = 0;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function startNginx(): Promise<void> {
  const dir = join(sb.dir, "nginx");
  mkdirSync(dir, { recursive: true });
  port = await freePort();
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `user www-data; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location /tftpboot/ { alias ${sb.tftpdir}/; }
    location /install/  { alias ${sb.installdir}/; }
    include ${join(sb.dir, "db", "nginx-node-files.conf")};
  }
}
`,
  );
  const check = Bun.spawnSync(["nginx", "-t", "-c", conf, "-p", dir], { stderr: "pipe" });
  expect(check.exitCode, check.stderr.toString()).toBe(0);
  nginx = Bun.spawn(["nginx", "-c", conf, "-p", dir], { stdout: "ignore", stderr: "ignore" });
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return;
    } catch {
      await Bun.sleep(20);
    }
  }
  throw new Error("nginx did not start");
}

beforeAll(async () => {
  sb = new Sandbox("nginx-acl");
  chmodSync(sb.dir, 0o755); // the worker (www-data) must traverse the sandbox, as it traverses /tftpboot
  const { rootimg } = await defineNetbootImage(sb, IMG, [], "acl");
  fakeKernels(rootimg);
  const p = await sb.run("pack", IMG);
  if (p.code !== 0) throw new Error(p.stderr);
  for (const [n, extra] of [
    ["here", ["ip=127.0.0.1", "mac=52:54:00:0a:00:01"]],
    ["elsewhere", ["ip=10.9.9.9", "mac=52:54:00:0a:00:02"]],
    ["noip", ["mac=52:54:00:0a:00:03"]],
  ] as const) {
    const r = await sb.run("node", "set", n, "groups=all", "netboot=xnba", "arch=x86_64", ...extra);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  const b = await sb.run("boot", "here,elsewhere,noip", "-o", IMG);
  if (b.code !== 0) throw new Error(b.stderr);
  await startNginx();
});
afterAll(async () => {
  nginx?.kill("SIGQUIT");
  await nginx?.exited;
  sb?.cleanup();
});

const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);

describe("per-node files behind a real nginx (workers as www-data)", () => {
  test("the snippet names each node with an address, and only those", () => {
    const text = readFileSync(join(sb.dir, "db", "nginx-node-files.conf"), "utf8");
    expect(text).toContain(`location = /tftpboot/xcat/overlay/here.cpio { alias ${sb.tftpdir}/xcat/overlay/here.cpio; allow 127.0.0.1; deny all; }`);
    expect(text).toContain(`location = /install/autoinst/elsewhere { alias ${sb.installdir}/autoinst/elsewhere; allow 10.9.9.9; deny all; }`);
    expect(text).not.toContain("noip");
  });

  test("a node fetches its own overlay; another node's is refused; a node without hosts.ip keeps the network-wide rule", async () => {
    const own = await get("/tftpboot/xcat/overlay/here.cpio");
    expect(own.status).toBe(200);
    expect(Buffer.from(await own.arrayBuffer()).equals(readFileSync(join(sb.tftpdir, "xcat/overlay/here.cpio")))).toBe(true);
    expect((await get("/tftpboot/xcat/overlay/elsewhere.cpio")).status).toBe(403);
    expect((await get("/install/autoinst/elsewhere")).status).toBe(403);
    expect((await get("/tftpboot/xcat/overlay/noip.cpio")).status).toBe(200);
  });

  test("a boot updates only its own nodes' lines; a node that lost its address loses its lines", async () => {
    const file = join(sb.dir, "db", "nginx-node-files.conf");
    expect((await sb.run("boot", "here", "-o", IMG)).code).toBe(0);
    expect(readFileSync(file, "utf8")).toContain("allow 10.9.9.9;");
    expect((await sb.run("node", "set", "elsewhere", "ip=")).code).toBe(0);
    expect((await sb.run("boot", "elsewhere", "-o", IMG)).code).toBe(0);
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain("elsewhere");
    expect(text.split("\n").filter((l) => l.startsWith("location = ")).length).toBe(4); // overlay, answer file, +post, marker
    expect((await sb.run("node", "set", "elsewhere", "ip=10.9.9.9")).code).toBe(0);
    expect((await sb.run("boot", "elsewhere", "-o", IMG)).code).toBe(0);
    expect(readFileSync(file, "utf8")).toContain("allow 10.9.9.9;");
  });

  test("with a group the web server is not in, it cannot read the overlay either (the mode is what protects it on the MN)", async () => {
    expect((await sb.run("table", "set", "site", "key=webgroup", "value=nogroup")).code).toBe(0);
    expect((await sb.run("boot", "here", "-o", IMG)).code).toBe(0);
    expect((await get("/tftpboot/xcat/overlay/here.cpio")).status).toBe(403);
    expect((await sb.run("table", "rm", "site", "key=webgroup")).code).toBe(0);
    expect((await sb.run("boot", "here", "-o", IMG)).code).toBe(0);
    expect((await get("/tftpboot/xcat/overlay/here.cpio")).status).toBe(200);
  });
});
