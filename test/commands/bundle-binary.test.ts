import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeStatelite, treeListing } from "../helpers/bundle-sites";
import { BIN, Sandbox } from "../helpers/sandbox";
import { tgz } from "../helpers/tarball";

/**
 * export and import through the compiled binary, as an admin runs them: the gzip workers
 * must be embedded in the binary (a missing worker fails the export), GNU tar/cpio children
 * run, exit codes and messages are what scripts see.
 */
let a: Sandbox;
let b: Sandbox;
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
  a = new Sandbox("bin-a");
  b = new Sandbox("bin-b");
});
afterAll(() => {
  a.cleanup();
  b.cleanup();
});

describe("xcimg export / import (compiled binary)", () => {
  test("statelite round trip with default bundle name in the working directory", async () => {
    const img = await makeStatelite(a);
    const e = await a.bin(["export", img.name], { cwd: a.dir });
    expect(e.stderr).toContain("Packing root image. It will take a while");
    expect(e.stdout).toStartWith(`Done! ${join(a.dir, `${img.name}.tgz`)}`);
    expect(e.code).toBe(0);
    const i = await b.bin(["import", join(a.dir, `${img.name}.tgz`)]);
    expect(i.stdout).toBe(`Successfully imported the image ${img.name}.\n`);
    expect(i.code).toBe(0);
    const dir = join(b.installdir, "netboot/rhels8.5/x86_64/compute/rootimg");
    expect(treeListing(dir, { xattrs: false, skipDirMtime: true })).toBe(treeListing(join(img.dir, "rootimg"), { xattrs: false, skipDirMtime: true }));
    const again = await b.bin(["--json", "import", join(a.dir, `${img.name}.tgz`)]);
    expect(again.code).toBe(64);
    expect(JSON.parse(again.stdout).error.kind).toBe("UsageError");
  });

  test("a hostile bundle exits 65 with the reason", async () => {
    const file = join(b.dir, "evil.tgz");
    writeFileSync(
      file,
      tgz([
        { name: "./", type: "dir" },
        { name: "../../etc/cron.d/x", data: "* * * * * root id\n" },
      ]),
    );
    const r = await b.bin(["import", file]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("has a '..' path component");
  });
});
