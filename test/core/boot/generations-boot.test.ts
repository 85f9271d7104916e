import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type NetbootSite, netbootSite } from "../../helpers/netboot-site";
import { ROOT } from "../../helpers/sandbox";

/**
 * `boot.generations` on a site served by a real web server: a node that read its loader file
 * before an image changed fetches, after the change, exactly the files that loader file named,
 * with their old bytes; one that reads it after gets only new ones. The node's boot is modelled
 * by its HTTP fetches (the URLs iPXE would fetch), so the change can be put between reading the
 * loader file and fetching the rest; test/e2e/sn-qemu.test.ts boots a qemu node through them.
 */
let site: NetbootSite;
const LOADER = "xcat/xnba/nodes/cn01";

beforeAll(async () => {
  site = await netbootSite("generations-boot");
  appendFileSync(site.sb.config, "[boot]\ngenerations = true\n");
  const r = await site.sb.run("node", "set", "cn01", "groups=compute,all", "arch=x86_64", "netboot=xnba", "mac=52:54:00:12:34:01", "ip=10.0.2.15");
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => site.cleanup());

async function ok(...a: string[]) {
  const r = await site.sb.run(...a);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

/** The image files a loader file names (kernel, initrds, imgurl=), as URL paths under the site's server. */
function namedFiles(loader: string): string[] {
  return [...new Set([...loader.matchAll(/\/tftpboot\/xcat\/osimage\/[^\s]+/g)].map((m) => m[0]))];
}

async function fetchAll(paths: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of paths) {
    const res = await fetch(`http://127.0.0.1:${site.server.port}${p}`);
    expect(res.status, p).toBe(200);
    out.set(
      p,
      createHash("sha256")
        .update(Buffer.from(await res.arrayBuffer()))
        .digest("hex"),
    );
  }
  return out;
}

const loader = () => readFileSync(join(site.sb.tftpdir, LOADER), "utf8");
const genDirs = () => readdirSync(join(site.sb.tftpdir, "xcat/osimage", site.image)).filter((n) => n.startsWith("g-"));

describe("boot.generations", () => {
  test("a node that read its loader file before a change gets that generation's files, unchanged; the next one gets the new", async () => {
    await ok("pack", site.image);
    await ok("boot", "cn01", "-o", site.image);
    const before = loader();
    const named = namedFiles(before);
    // kernel, the packed image and initrd-stateless.gz, all in one generation directory
    expect(named).toHaveLength(3);
    const gen = named[0]?.split("/")[5] ?? "";
    expect(gen).toMatch(/^g-[0-9a-f]{12}$/);
    expect(named.every((p) => p.includes(`/xcat/osimage/${site.image}/${gen}/`))).toBe(true);
    expect(before).toContain(`imgurl=http://\${next-server}:${site.server.port}/tftpboot/xcat/osimage/${site.image}/${gen}/rootimg.cpio.gz`);
    const old = await fetchAll(named);

    // the image changes; pack leaves the published generation alone and says how to move nodes
    writeFileSync(join(site.dir, "rootimg/etc/motd"), "generation two\n");
    const p = await ok("pack", site.image);
    expect(p.stderr).toContain("run 'xcimg boot' on them to move them to this pack");
    expect(loader()).toBe(before);
    expect(await fetchAll(named)).toEqual(old);

    // boot switches the node; the old loader file's URLs still serve the old bytes
    await ok("boot", "cn01", "-o", site.image);
    const after = namedFiles(loader());
    const gen2 = after[0]?.split("/")[5] ?? "";
    expect(gen2).toMatch(/^g-[0-9a-f]{12}$/);
    expect(gen2).not.toBe(gen);
    expect(await fetchAll(named)).toEqual(old);
    const fresh = await fetchAll(after);
    const packedOf = (m: Map<string, string>) => [...m].find(([k]) => k.endsWith("rootimg.cpio.gz"))?.[1];
    expect(packedOf(fresh)).not.toBe(packedOf(old));
    expect(packedOf(fresh)).toBe(
      createHash("sha256")
        .update(readFileSync(join(site.dir, "rootimg.cpio.gz")))
        .digest("hex"),
    );
    expect(genDirs().sort()).toEqual([gen, gen2].sort());

    // nothing changed: the same generation, the same loader file
    const same = loader();
    await ok("boot", "cn01", "-o", site.image);
    expect(loader()).toBe(same);
  }, 120000);

  test("a fetched image (squashfs): imgurl= names the generation's copy, so the first stage fetches the root of its own generation", async () => {
    // what a squashfs root needs of the image's kernel, as a distribution kernel package ships it
    const tree = join(site.dir, "rootimg");
    const ver = readFileSync(join(ROOT, ".cache/fixtures/kernel-version"), "utf8").trim();
    for (const m of ["fs/squashfs", "fs/overlayfs", "drivers/block/loop.ko"]) {
      cpSync(join(ROOT, ".cache/fixtures/modules", ver, "kernel", m), join(tree, "lib/modules", ver, "kernel", m), { recursive: true });
    }
    execFileSync("depmod", ["-b", tree, ver]);
    await ok("pack", site.image, "-m", "squashfs");
    await ok("boot", "cn01", "-o", site.image);
    const text = loader();
    const named = namedFiles(text);
    const gen = named[0]?.split("/")[5] ?? "";
    expect(text).toContain("initrd-fetch.gz");
    expect(text).toMatch(new RegExp(`imgurl=http://\\$\\{next-server\\}:\\d+/tftpboot/xcat/osimage/${site.image}/${gen}/rootimg\\.sfs `));
    const got = await fetchAll(named);
    const sfs = [...got].find(([k]) => k.endsWith("rootimg.sfs"))?.[1];
    expect(sfs).toBe(
      createHash("sha256")
        .update(readFileSync(join(site.dir, "rootimg.sfs")))
        .digest("hex"),
    );
    // the flat layout's files are not written in this mode
    expect(existsSync(join(site.sb.tftpdir, "xcat/osimage", site.image, "kernel"))).toBe(false);
  }, 120000);
});
