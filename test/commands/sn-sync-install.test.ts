import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDb } from "../../src/core/db/open";
import { fakeRhelMedia } from "../helpers/fake-media";
import { createPasswdTable } from "../helpers/install-site";
import { BIN, Sandbox } from "../helpers/sandbox";
import { Sshd } from "../helpers/sshd";

/**
 * Install nodes behind a service node: `sn sync` mirrors what an installing node fetches from
 * its server — the OS media (linuximage.pkgdir) and the site's templates under
 * custom/install — and the SN renders the answer files itself, pointing the installer at the
 * SN. The MN's record of which templates came from bundles travels too: a bundle's template
 * that reads the passwd table is refused on the SN as on the MN, instead of handing the root
 * password to whoever fetches the node's kickstart from the SN.
 */
const IMG = "rhels9.4-x86_64-install-compute";
const EVIL = "rhels9.4-x86_64-install-evil";
let mn: Sandbox;
let sn: Sandbox;
let src: Sandbox;
let sshd: Sshd;

async function ok(sb: Sandbox, ...argv: string[]) {
  const r = await sb.run(...argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r;
}

async function sync() {
  const r = await sn.bin(["--json", "sn", "sync"], { env: { SSH_AUTH_SOCK: "" } });
  let data: { images?: { image: string; files: number; switched: boolean }[]; booted?: { node: string }[]; failed?: Record<string, string> } = {};
  try {
    data = JSON.parse(r.stdout);
  } catch {
    // no JSON: the assertions show stderr
  }
  return { ...r, data };
}

beforeAll(async () => {
  expect(existsSync(BIN)).toBe(true);
  mn = new Sandbox("sni-mn");
  const media = join(mn.installdir, "rhels9.4", "x86_64");
  fakeRhelMedia(media);
  writeFileSync(join(media, "Packages.list"), "bash\nkernel\n"); // something an installer would fetch
  await ok(mn, "image", "media", media);
  const custom = join(mn.installdir, "custom", "install", "rh");
  mkdirSync(custom, { recursive: true });
  writeFileSync(
    join(custom, "site.tmpl"),
    "# the site's kickstart\nnode #TABLE:nodelist:$NODE:node#\nrootpw #TABLE:passwd:key=system,username=root:password#\n",
  );
  await ok(mn, "image", "set", IMG, `template=${join(custom, "site.tmpl")}`);
  const db = openDb(mn.dbPath);
  createPasswdTable(db, [{ key: "system", username: "root", password: "cluster" }]);
  db.close();

  // a bundle from another site whose template reads the passwd table
  src = new Sandbox("sni-src");
  fakeRhelMedia(join(src.installdir, "rhels9.4", "x86_64"));
  await ok(src, "image", "media", join(src.installdir, "rhels9.4", "x86_64"));
  writeFileSync(join(src.installdir, "custom", "install", "rh", "compute.tmpl"), "rootpw #TABLE:passwd:key=system,username=root:password#\n");
  const bundle = join(src.dir, "evil.tgz");
  await ok(src, "export", IMG, bundle);
  await ok(mn, "import", bundle, "-f", "evil");

  const node = (n: string, img: string) =>
    ok(
      mn,
      "node",
      "set",
      n,
      "groups=compute,all",
      `mac=52:54:00:ad:00:${n.slice(-2)}`,
      `ip=10.9.0.${Number(n.slice(-2)) + 10}`,
      "netboot=xnba",
      "servicenode=sn1",
      `provmethod=${img}`,
    );
  await node("cn01", IMG);
  await node("cn02", EVIL);
  await ok(mn, "boot", "cn01", "-o", IMG);
  // on the MN the bundle's template is refused
  const refused = await mn.run("image", "render", EVIL, "cn02");
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain(`came from the bundle of image '${EVIL}'`);

  sshd = await Sshd.start({ config: [`SetEnv XCIMG_CONFIG=${mn.config}`] });
  sn = new Sandbox("sni-sn");
  writeFileSync(
    sn.config,
    `${readFileSync(sn.config, "utf8").replace('master = "10.0.2.2"', 'master = "10.9.0.1"')}
[ssh]
identity = "${sshd.clientKey}"
[sn]
mn = "127.0.0.1"
mn_port = ${sshd.port}
known_hosts = "${sshd.knownHosts}"
name = "sn1"
remote_xcimg = "${BIN}"
`,
  );
}, 120_000);

afterAll(async () => {
  await sshd?.stop();
  for (const sb of [mn, sn, src]) sb?.cleanup();
});

describe("sn sync: install nodes", () => {
  test("the media and the site's templates are mirrored; the SN renders the kickstart pointing at itself", async () => {
    const r = await sync();
    expect(r.code, r.stderr).toBe(1); // cn02's template is refused: partial
    expect(r.data.booted?.map((b) => b.node)).toEqual(["cn01"]);
    const media = join(sn.installdir, "rhels9.4", "x86_64");
    expect(readFileSync(join(media, ".treeinfo"), "utf8")).toBe(readFileSync(join(mn.installdir, "rhels9.4", "x86_64", ".treeinfo"), "utf8"));
    expect(readFileSync(join(media, "Packages.list"), "utf8")).toBe("bash\nkernel\n");
    expect(readFileSync(join(sn.tftpdir, "xcat", "osimage", IMG, "vmlinuz"), "utf8")).toBe("EL kernel\n");
    // the site's own template, read from the SN's copy (the image's template path now names it)
    expect(readFileSync(join(sn.installdir, "autoinst", "cn01"), "utf8")).toBe("# the site's kickstart\nnode cn01\nrootpw cluster\n");
    expect((await sn.run("image", "show", IMG)).stdout).toContain(`template=${join(sn.installdir, "custom", "install", "rh", "site.tmpl")}`);
    const xnba = readFileSync(join(sn.tftpdir, "xcat", "xnba", "nodes", "cn01"), "utf8");
    expect(xnba).toContain("inst.repo=http://10.9.0.1:80/install/rhels9.4/x86_64");
    expect(xnba).toContain("inst.ks=http://10.9.0.1:80/install/autoinst/cn01");
  }, 60_000);

  test("a bundle's template stays the bundle's on the SN: refused, no kickstart with the password", async () => {
    const r = await sync();
    expect(r.data.failed?.cn02).toContain(`came from the bundle of image '${EVIL}'`);
    expect(existsSync(join(sn.installdir, "autoinst", "cn02"))).toBe(false);
  }, 60_000);

  test("nothing changed on the MN: the media is not sent again", async () => {
    const r = await sync();
    const img = r.data.images?.find((i) => i.image === IMG);
    expect(img?.files).toBe(0);
    expect(img?.switched).toBe(false);
  }, 60_000);
});
