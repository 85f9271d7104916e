import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { BIN, Sandbox } from "../helpers/sandbox";

/**
 * Nothing destroyed without being asked: image copy gives the copy its own tree, and image rm
 * --files refuses while nodes boot the image. Before/after snapshots of the original's tree.
 */
let sb: Sandbox;
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
  sb = new Sandbox("fidelity-images");
});
afterAll(() => sb.cleanup());

const ok = async (...argv: string[]) => {
  const r = await sb.bin(argv);
  if (r.code !== 0) throw new Error(`xcimg ${argv.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r;
};
const netboot = (...p: string[]) => join(sb.installdir, "netboot", "rhels9.4", "x86_64", ...p);

/** path → [content, inode] of every file under dir. */
function snapshot(dir: string): Record<string, [string, number]> {
  const out: Record<string, [string, number]> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out[relative(dir, p)] = [readFileSync(p, "utf8"), st.ino];
    }
  };
  walk(dir);
  return out;
}

async function makeImage(name: string, profile: string): Promise<string> {
  await ok("image", "set", name, "provmethod=netboot", "osvers=rhels9.4", "osarch=x86_64", `profile=${profile}`);
  const dir = netboot(profile);
  mkdirSync(join(dir, "rootimg", "etc"), { recursive: true });
  writeFileSync(join(dir, "rootimg", "etc", "fstab"), "proc /proc proc defaults 0 0\n");
  writeFileSync(join(dir, "rootimg", "etc", "hostname"), "golden\n");
  for (const f of ["kernel", "initrd-stateless.gz", "rootimg.cpio.gz"]) writeFileSync(join(dir, f), `${f} of ${name}\n`);
  return dir;
}
const attrs = async (img: string) => JSON.parse((await ok("--json", "image", "show", img)).stdout)[img];

describe("image copy", () => {
  test("the copy gets its own rootimgdir with its own copy of the tree; removing it leaves the original as it was", async () => {
    const orig = await makeImage("img-a", "compute");
    const before = snapshot(orig);
    await ok("image", "copy", "img-a", "img-b");
    const copyDir = netboot("img-b");
    expect((await attrs("img-b")).rootimgdir).toBe(copyDir);
    expect((await attrs("img-a")).rootimgdir).toBeUndefined();
    const copy = snapshot(copyDir);
    expect(Object.keys(copy).sort()).toEqual(Object.keys(before).sort());
    for (const [p, [content, ino]] of Object.entries(copy)) {
      expect(content).toBe(before[p]?.[0] as string);
      expect(ino).not.toBe(before[p]?.[1]); // not a hard link: an in-place edit stays in the copy
    }
    writeFileSync(join(copyDir, "rootimg", "etc", "hostname"), "canary\n");
    expect(snapshot(orig)).toEqual(before);
    await ok("image", "rm", "img-b", "--files");
    expect(existsSync(join(copyDir, "rootimg"))).toBe(false);
    expect(snapshot(orig)).toEqual(before);
    expect((await ok("image", "list")).stdout).toBe("img-a\n");
  });

  test("--link hard-links the tree; --definition-only starts empty; an existing directory is refused", async () => {
    const orig = netboot("compute");
    const before = snapshot(orig);
    await ok("image", "copy", "--link", "img-a", "img-l");
    const linked = snapshot(netboot("img-l"));
    for (const [p, [, ino]] of Object.entries(linked)) expect(ino).toBe(before[p]?.[1] as number);
    await ok("image", "rm", "img-l", "--files");
    expect(snapshot(orig)).toEqual(before);

    await ok("image", "copy", "--definition-only", "img-a", "img-d");
    expect((await attrs("img-d")).rootimgdir).toBe(netboot("img-d"));
    expect(existsSync(netboot("img-d"))).toBe(false);

    mkdirSync(netboot("img-x"));
    const r = await sb.bin(["image", "copy", "img-a", "img-x"]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(`${netboot("img-x")} already exists`);
    expect((await ok("image", "list")).stdout).not.toContain("img-x");
    expect(snapshot(orig)).toEqual(before);
  });
});

describe("image rm --files with nodes set to boot the image", () => {
  test("refused, naming the nodes (own row or through a group), unless --force; rmimage too", async () => {
    const dir = await makeImage("img-busy", "busy");
    await ok("node", "set", "cn1", "groups=all", "provmethod=img-busy");
    await ok("node", "set", "cn[2-3]", "groups=rack1,all");
    await ok("node", "set", "rack1", "provmethod=img-busy"); // the group row
    await ok("node", "set", "cn4", "groups=all", "provmethod=img-a");
    const before = snapshot(dir);
    for (const argv of [
      ["image", "rm", "img-busy", "--files"],
      ["rmimage", "img-busy"],
    ]) {
      const r = await sb.bin(argv);
      expect(r.code).toBe(65);
      expect(r.stderr).toContain("refusing to remove the files of 'img-busy': nodes are still set to boot it: cn1,cn2,cn3");
      expect(r.stderr).toContain("--force");
      expect(snapshot(dir)).toEqual(before);
      expect((await ok("image", "list")).stdout).toContain("img-busy");
    }
    await ok("image", "rm", "img-busy"); // the definition alone is not refused
    await makeImage("img-busy", "busy");
    const forced = await sb.bin(["image", "rm", "img-busy", "--files", "--force"]);
    expect(forced.code).toBe(0);
    expect(existsSync(join(dir, "rootimg"))).toBe(false);
  });
});
