import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Db } from "../../../src/core/db/open";
import { treeListing } from "../../helpers/bundle-sites";
import { fakeRhelMedia } from "../../helpers/fake-media";
import { installSite } from "../../helpers/install-site";
import { Sandbox } from "../../helpers/sandbox";

/**
 * Templates that try to read the management node's files or the site's secrets into an answer
 * file (which the web server hands to anyone on the provisioning network): `xcimg image render`
 * and `xcimg boot` refuse them with exit 65 and change nothing; the site's own templates keep
 * working. The victim lives outside the site, as /etc/shadow would.
 */
const IMG = "rhels9.4-x86_64-install-compute";
let sb: Sandbox;
let db: Db;
let victim: string;
let own: string;
const cleanup: (() => void)[] = [];

beforeAll(async () => {
  ({ sb, db } = await installSite("hostile-tmpl"));
  cleanup.push(() => {
    db.close();
    sb.cleanup();
  });
  victim = mkdtempSync(join(tmpdir(), "xcimg-victim-"));
  cleanup.push(() => rmSync(victim, { recursive: true, force: true }));
  writeFileSync(join(victim, "shadow"), "root:$6$VICTIMSALT$victimhash:19000:0:99999:7:::\n");
  fakeRhelMedia(join(sb.installdir, "rhels9.4", "x86_64"));
  const r = await sb.run("image", "media", join(sb.installdir, "rhels9.4", "x86_64"));
  if (r.code !== 0) throw new Error(r.stderr);
  own = join(sb.installdir, "custom", "install", "rh");
});
afterAll(() => {
  for (const c of cleanup.reverse()) c();
});

/** Everything of the site but the database file (compared through its tables), and the victim. */
function snapshot(): string {
  const site = treeListing(sb.dir, { xattrs: false })
    .split("\n")
    .filter((l) => !l.startsWith('"db'));
  return `${site.join("\n")}\n${treeListing(victim, { xattrs: false })}`;
}

async function tables(): Promise<string> {
  let out = "";
  for (const t of ["nodetype", "chain", "bootparams", "osimage", "linuximage", "site"]) out += (await sb.run("table", "dump", t)).stdout;
  return out;
}

async function useTemplate(path: string, text: string, image = IMG): Promise<void> {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  const r = await sb.run("image", "set", image, `template=${path}`);
  expect(r.code).toBe(0);
}

/** render and boot both refuse with `detail`, print nothing of the victim, and change nothing. */
async function refused(image: string, detail: string): Promise<void> {
  const before = snapshot();
  const rows = await tables();
  const render = await sb.run("image", "render", image, "cn01");
  expect(render.code).toBe(65);
  expect(render.stdout).toBe("");
  expect(render.stderr).toStartWith("Error: cn01: ");
  expect(render.stderr).toContain(detail);
  expect(render.stderr).toContain("hint: ");
  expect(render.stderr).not.toContain("victimhash");
  const boot = await sb.run("boot", "cn01,cn02.cluster", "-o", image);
  expect(boot.code).toBe(65);
  expect(boot.stdout).toBe("");
  expect(boot.stderr).toContain(detail);
  expect(boot.stderr).toContain("hint: ");
  expect(snapshot()).toBe(before);
  expect(await tables()).toBe(rows);
}

describe("templates may read only installdir and xCAT's share directory", () => {
  test("#INCLUDE: of a file outside the site (/etc/shadow's stand-in)", async () => {
    const tmpl = join(sb.installdir, "evil", "evil.tmpl");
    await useTemplate(tmpl, `rootpw x\n#INCLUDE:${join(victim, "shadow")}#\n`);
    await refused(IMG, `${tmpl}:2: refused to read ${join(victim, "shadow")}: it is outside the directories templates may read`);
  });

  test("the same from the site's own template directory, and through a symlink inside installdir", async () => {
    const tmpl = join(own, "evil2.tmpl");
    await useTemplate(tmpl, `#INCLUDE:${join(victim, "shadow")}#\n`);
    await refused(IMG, `${tmpl}:1: refused to read ${join(victim, "shadow")}`);
    symlinkSync(join(victim, "shadow"), join(own, "shadow.inc"));
    await useTemplate(tmpl, "a\n#INCLUDE:shadow.inc#\n");
    await refused(IMG, `${tmpl}:2: refused to read ${join(own, "shadow.inc")}: it resolves to ${join(victim, "shadow")}, which is outside`);
    rmSync(join(own, "shadow.inc"));
  });

  test("a top template outside installdir, a FIFO, and xcimg's own state are refused", async () => {
    const outside = join(victim, "top.tmpl");
    writeFileSync(outside, "hello\n");
    expect((await sb.run("image", "set", IMG, `template=${outside}`)).code).toBe(0);
    await refused(IMG, `${outside}:0: refused to read ${outside}: it is outside`);
    const fifo = join(own, "pipe.inc");
    Bun.spawnSync(["mkfifo", fifo]);
    await useTemplate(join(own, "fifo.tmpl"), "#INCLUDE:pipe.inc#\n");
    await refused(IMG, `refused to read ${fifo}: it is not a regular file`); // and did not hang on open
    rmSync(fifo);
    mkdirSync(join(sb.installdir, ".xcimg"), { recursive: true });
    writeFileSync(join(sb.installdir, ".xcimg", "state"), "x\n");
    await useTemplate(join(own, "state.tmpl"), `#INCLUDE:${join(sb.installdir, ".xcimg", "state")}#\n`);
    await refused(IMG, `refused to read ${join(sb.installdir, ".xcimg", "state")}: it is outside`);
  });
});

describe("secrets only for the site's own templates", () => {
  test("a hand-placed template outside the site's template directory may not read passwd.password", async () => {
    const tmpl = join(sb.installdir, "evil", "pw.tmpl");
    await useTemplate(tmpl, "rootpw #TABLE:passwd:key=system,username=root:password#\n");
    await refused(IMG, `${tmpl}:1: #TABLE:passwd:key=system,username=root:password# refused: ${tmpl} is not in the site's template directory`);
    await useTemplate(tmpl, "#TABLE:passwd:system:password#\n");
    await refused(IMG, "#TABLE:passwd:system:password# refused");
    // the root password hash, which every install template needs, is fine from anywhere in installdir
    await useTemplate(tmpl, "rootpw --iscrypted #CRYPT:passwd:key=system,username=root:password#\n");
    const hashed = await sb.run("image", "render", IMG, "cn01");
    expect(hashed.code).toBe(0);
    expect(hashed.stdout).toStartWith("rootpw --iscrypted $6$");
  });

  test("the site's own template reads it; answer files are 0640 root:www-data (site.webgroup=world: 0644)", async () => {
    const tmpl = join(own, "pw.tmpl");
    await useTemplate(tmpl, "rootpw #TABLE:passwd:key=system,username=root:password#\n");
    const r = await sb.run("image", "render", IMG, "cn01");
    expect([r.code, r.stdout]).toEqual([0, "rootpw cluster\n"]);
    const boot = await sb.run("boot", "cn01", "-o", IMG);
    expect(boot.code).toBe(0);
    const ks = join(sb.installdir, "autoinst", "cn01");
    expect(readFileSync(ks, "utf8")).toBe("rootpw cluster\n");
    const www = Number(Bun.spawnSync(["getent", "group", "www-data"]).stdout.toString().split(":")[2]);
    expect(statSync(ks).mode & 0o7777).toBe(0o640);
    expect(statSync(ks).gid).toBe(www);
    expect((await sb.run("table", "set", "site", "key=webgroup", "value=world")).code).toBe(0);
    expect((await sb.run("boot", "cn01", "-o", IMG)).code).toBe(0);
    expect(statSync(ks).mode & 0o7777).toBe(0o644);
    expect((await sb.run("table", "rm", "site", "key=webgroup")).code).toBe(0);
  });

  test("a bundle's template (placed in the site's own directory by import) may not; site.trustedtemplates opts it in", async () => {
    const a = new Sandbox("hostile-src");
    cleanup.push(() => a.cleanup());
    fakeRhelMedia(join(a.installdir, "rhels9.4", "x86_64"));
    expect((await a.run("image", "media", join(a.installdir, "rhels9.4", "x86_64"))).code).toBe(0);
    const hostile = "rootpw #TABLE:passwd:key=system,username=root:password#\nbmc #CRYPT:passwd:key=ipmi,username=ADMIN:password#\nrun #COMMAND:id#\n";
    writeFileSync(join(a.installdir, "custom", "install", "rh", "compute.tmpl"), hostile);
    const bundle = join(a.dir, "evil.tgz");
    expect((await a.run("export", IMG, bundle)).code).toBe(0);

    expect((await sb.run("import", bundle, "-f", "evil")).code).toBe(0);
    const evil = "rhels9.4-x86_64-install-evil";
    const placed = join(own, "evil.tmpl");
    expect(readFileSync(placed, "utf8")).toBe(hostile);
    await refused(evil, `${placed}:1: #TABLE:passwd:key=system,username=root:password# refused: ${placed} came from the bundle of image '${evil}'`);
    // copied elsewhere in the site's directory it is still the bundle's (known by content)
    await useTemplate(join(own, "copy.tmpl"), hostile, evil);
    await refused(evil, "came from the bundle of image");
    expect((await sb.run("image", "set", evil, `template=${placed}`)).code).toBe(0);

    expect((await sb.run("table", "set", "site", "key=trustedtemplates", `value=${placed}`)).code).toBe(0);
    db.sqlite.exec(`INSERT OR REPLACE INTO passwd ("key","username","password") VALUES ('ipmi','ADMIN','bmcsecret')`);
    const vouched = await sb.run("image", "render", evil, "cn01");
    // vouched for: lines 1 and 2 expand; #COMMAND# (line 3) still needs XCIMG_TEMPLATE_COMMANDS=1, as for the site's own
    expect(vouched.code, vouched.stderr).toBe(65);
    expect(vouched.stderr).toContain(`${placed}:3: #COMMAND:id# would run a shell command`);
    expect((await sb.run("table", "rm", "site", "key=trustedtemplates")).code).toBe(0);
    // edited by the site, it is the site's own
    writeFileSync(placed, hostile.split("\n").slice(0, 2).join("\n"));
    const edited = await sb.run("image", "render", evil, "cn01");
    expect(edited.code).toBe(0);
    expect(edited.stdout).toStartWith("rootpw cluster\nbmc $6$");
  });
});

describe("the compiled binary", () => {
  test("dist/xcimg image render and boot refuse #INCLUDE: of a file outside the site", async () => {
    const c = new Sandbox("hostile-bin");
    cleanup.push(() => c.cleanup());
    fakeRhelMedia(join(c.installdir, "rhels9.4", "x86_64"));
    expect((await c.bin(["image", "media", join(c.installdir, "rhels9.4", "x86_64")])).code).toBe(0);
    expect((await c.bin(["node", "set", "cn01", "mac=52:54:00:aa:00:01"])).code).toBe(0);
    const tmpl = join(c.installdir, "custom", "install", "rh", "compute.tmpl");
    writeFileSync(tmpl, `#INCLUDE:${join(victim, "shadow")}#\n`);
    for (const argv of [
      ["image", "render", IMG, "cn01"],
      ["boot", "cn01", "-o", IMG],
    ]) {
      const r = await c.bin(argv);
      expect([r.code, r.stdout]).toEqual([65, ""]);
      expect(r.stderr).toContain(`Error: cn01: ${tmpl}:1: refused to read ${join(victim, "shadow")}: it is outside`);
      expect(r.stderr).not.toContain("victimhash");
    }
    expect(readFileSync(join(victim, "shadow"), "utf8")).toContain("victimhash");
  });
});
