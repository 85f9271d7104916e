import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineNetbootImage, fakeKernels } from "../helpers/images";
import { Sandbox } from "../helpers/sandbox";
import { freePort } from "../helpers/sshd";
import { openPathTo } from "../helpers/unprivileged";

/**
 * The nginx server block of docs/boot.md, exactly as written there (paths, port and the allowed
 * network substituted), in a real nginx whose workers run as nobody: nodes get the packed image,
 * the kernel and tftpdir's symlinked boot files; nobody gets a file of an image tree, a symlink
 * out of it, or xcimg's work areas. A second server with the configuration the docs gave before
 * shows what the rules stop.
 */
const IMG = "test1-x86_64-netboot-compute";
let sb: Sandbox;
let dir: string;
let rootimg: string;
let nginx: ReturnType<typeof Bun.spawn> | null = null;
let port = 0;
let oldPort = 0;
const hasNginx = Bun.which("nginx") !== null;

/** The ```nginx block of docs/boot.md's "Serving" section. */
function documentedServer(): string {
  const doc = readFileSync(join(import.meta.dir, "../../docs/boot.md"), "utf8");
  const m = /```nginx\n(server \{[\s\S]*?\n\})\n```/.exec(doc);
  if (!m) throw new Error("docs/boot.md has no nginx server block");
  return m[1] as string;
}

function localize(server: string, listen: number): string {
  return (
    server
      .replace(/listen 80;/, `listen 127.0.0.1:${listen};`)
      .replaceAll("allow 10.0.0.0/16;", "allow 127.0.0.1;")
      // file-system paths only (alias, from=); the URLs nodes use stay /install/ and /tftpboot/
      .replaceAll("alias /install/", `alias ${sb.installdir}/`)
      .replaceAll("alias /tftpboot/", `alias ${sb.tftpdir}/`)
      .replaceAll("from=/install;", `from=${sb.installdir};`)
      // the per-node rules `xcimg boot` writes (tested in test/core/boot/nginx-node-files.test.ts)
      .replace("include /var/lib/xcimg/nginx-node-files.conf;", `include ${nodeFilesConf()};`)
  );
}

/** An empty stand-in for the per-node rules: this test boots no node. */
function nodeFilesConf(): string {
  const f = join(sb.dir, "nginx-node-files.conf");
  writeFileSync(f, "");
  return f;
}

async function get(path: string, p = port): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${p}${path}`);
  return { status: r.status, body: await r.text() };
}

const url = (abs: string) => abs.replace(sb.installdir, "/install").replace(sb.tftpdir, "/tftpboot");

beforeAll(async () => {
  if (!hasNginx) throw new Error("nginx is not installed: apt-get install nginx-light");
  sb = new Sandbox("nginx");
  ({ dir, rootimg } = await defineNetbootImage(sb, IMG));
  fakeKernels(rootimg);
  mkdirSync(join(rootimg, "etc"), { recursive: true });
  writeFileSync(join(rootimg, "etc/motd"), "inside the tree\n");
  symlinkSync("/etc/shadow", join(rootimg, "etc/shadow-link"));
  symlinkSync("/etc/passwd", join(rootimg, "etc/passwd-link"));
  const pack = await sb.run("pack", IMG);
  expect(pack.code).toBe(0);
  // a statelite NFS root keeps 0755 (docs/statelite.md): only the rules stand between it and nginx
  const nfs = join(sb.installdir, "netboot/test1/x86_64/nfsroot/rootimg");
  mkdirSync(join(nfs, ".."), { recursive: true });
  cpSync(rootimg, nfs, { recursive: true, verbatimSymlinks: true });
  chmodSync(nfs, 0o755);
  // a symlink beside the archive, outside any tree: disable_symlinks alone refuses it
  symlinkSync("/etc/passwd", join(dir, "passwd-beside"));
  // boot loaders' per-node links in tftpdir must keep working
  mkdirSync(join(sb.tftpdir, "xcat"), { recursive: true });
  writeFileSync(join(sb.tftpdir, "xcat/real.cfg"), "boot config\n");
  symlinkSync("real.cfg", join(sb.tftpdir, "xcat/node.cfg"));
  mkdirSync(join(sb.installdir, "sysclone/images/sc/etc"), { recursive: true, mode: 0o755 });
  writeFileSync(join(sb.installdir, "sysclone/images/sc/etc/motd"), "sysclone tree\n");
  openPathTo(dir);
  openPathTo(join(sb.tftpdir, "xcat"));
  execSync(`chmod -R o+rX '${join(sb.installdir, "sysclone")}' '${join(sb.installdir, ".xcimg")}'`);

  port = await freePort();
  oldPort = await freePort();
  const run = join(sb.dir, "nginx");
  mkdirSync(run);
  const before = [
    "server {",
    "    listen 80;",
    `    location /tftpboot/ { alias /tftpboot/; allow 10.0.0.0/16; deny all; }`,
    `    location /install/  { alias /install/;  allow 10.0.0.0/16; deny all; autoindex on; }`,
    "}",
  ].join("\n");
  const conf = [
    "daemon off;",
    "master_process on;",
    "worker_processes 1;",
    "user nobody nogroup;",
    `pid ${run}/nginx.pid;`,
    `error_log ${run}/error.log;`,
    "events { worker_connections 64; }",
    "http {",
    "  access_log off;",
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${run}/${t};`),
    localize(documentedServer(), port),
    localize(before, oldPort),
    "}",
  ].join("\n");
  writeFileSync(join(run, "nginx.conf"), conf);
  nginx = Bun.spawn(["nginx", "-p", run, "-c", join(run, "nginx.conf")], { stdout: "ignore", stderr: "pipe" });
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      await fetch(`http://127.0.0.1:${oldPort}/`);
      return;
    } catch {
      await Bun.sleep(25);
    }
  }
  throw new Error(`nginx did not start: ${await new Response(nginx.stderr as ReadableStream).text()}`);
});

afterAll(async () => {
  if (nginx) {
    nginx.kill("SIGTERM"); // the master we started; it stops its own workers
    await nginx.exited;
  }
  sb?.cleanup();
});

describe("nginx as docs/boot.md configures it", () => {
  test("its workers run as nobody, not root", () => {
    const workers = execSync(`ps -o user=,args= --ppid ${nginx?.pid}`).toString();
    expect(workers).toContain("nginx: worker process");
    expect(
      workers
        .split("\n")
        .filter(Boolean)
        .every((l) => l.startsWith("nobody")),
    ).toBe(true);
  });

  test("nodes get the packed image, the kernel and symlinked boot files", async () => {
    const archive = await fetch(`http://127.0.0.1:${port}${url(join(dir, "rootimg.cpio.gz"))}`);
    expect(archive.status).toBe(200);
    expect(Buffer.from(await archive.arrayBuffer()).equals(readFileSync(join(dir, "rootimg.cpio.gz")))).toBe(true);
    expect(await get(url(join(dir, "kernel")))).toEqual({ status: 200, body: "kernel 10\n" });
    expect(await get(url(join(sb.tftpdir, "xcat/node.cfg")))).toEqual({ status: 200, body: "boot config\n" });
  });

  test("nothing inside an image tree, no symlink out of one, no work area", async () => {
    const nfs = join(sb.installdir, "netboot/test1/x86_64/nfsroot/rootimg");
    for (const p of [
      join(rootimg, "etc/motd"),
      join(rootimg, "etc/shadow-link"),
      join(rootimg, "etc/passwd-link"),
      `${rootimg}/`,
      join(nfs, "etc/motd"), // an NFS root at 0755: the deny rule, not the mode, refuses it
      join(nfs, "etc/shadow-link"),
      join(nfs, "etc/passwd-link"),
      `${nfs}/`,
      join(dir, "passwd-beside"), // not in a tree: disable_symlinks refuses it
      join(dir, ".rootimg.node-mode"),
      join(sb.installdir, "sysclone/images/sc/etc/motd"),
      `${join(sb.installdir, ".xcimg")}/`,
    ]) {
      const r = await get(url(p));
      expect([url(p), r.status]).toEqual([url(p), 403]);
      expect(r.body).not.toContain("root:");
      expect(r.body).not.toContain("tree");
    }
  });

  test("the configuration the docs gave before serves what the rules now refuse", async () => {
    const nfs = join(sb.installdir, "netboot/test1/x86_64/nfsroot/rootimg");
    const leak = await get(url(join(nfs, "etc/passwd-link")), oldPort);
    expect(leak.status).toBe(200);
    expect(leak.body).toContain("root:x:0:0");
    expect((await get(url(join(nfs, "etc/motd")), oldPort)).status).toBe(200);
    expect((await get(url(join(dir, "passwd-beside")), oldPort)).body).toContain("root:x:0:0");
    // the barrier holds even there: the closed tree is out of a nobody worker's reach
    expect((await get(url(join(rootimg, "etc/motd")), oldPort)).status).toBe(403);
    // and /etc/shadow is out of its reach on its own (0640 root:shadow)
    expect((await get(url(join(nfs, "etc/shadow-link")), oldPort)).status).toBe(403);
  });
});
