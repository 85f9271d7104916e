import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, Sandbox } from "../helpers/sandbox";

/**
 * Stanza files through the compiled binary, as xCAT-test/autotest/testcase/mkdef/cases0
 * (lsdef -z | perl -pi -e s/orig/test/ | mkdef -z, then diff) and chdef/cases0 (chdef_z) use them.
 */
let sb: Sandbox;
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
  sb = new Sandbox("fidelity-stanza");
});
afterAll(() => sb.cleanup());

const ok = async (argv: string[], stdin?: string) => {
  const r = await sb.bin(argv, { stdin });
  if (r.code !== 0) throw new Error(`xcimg ${argv.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r;
};

describe("stanza files", () => {
  test("node show -z writes lsdef -z's format", async () => {
    await ok(["node", "set", "orignode", "mgt=ipmi", "cons=ipmi", "groups=lpar,all"]);
    const r = await ok(["node", "show", "-z", "orignode"]);
    expect(r.stdout).toBe(
      ["# <xCAT data object stanza file>", "", "orignode:", "    objtype=node", "    cons=ipmi", "    groups=lpar,all", "    mgt=ipmi", ""].join("\n"),
    );
  });

  test("mkdef -z copy: show -z, rename in the text, set -z, then the two stanzas differ only in the name", async () => {
    const orig = (await ok(["node", "show", "-z", "orignode"])).stdout;
    await ok(["node", "set", "-z"], orig.replaceAll("orignode", "testnode"));
    const copy = (await ok(["node", "show", "-z", "testnode"])).stdout;
    expect(copy).toBe(orig.replaceAll("orignode", "testnode"));
  });

  test("chdef_z: an edited stanza read from a file changes the definition", async () => {
    const text = (await ok(["node", "show", "-z", "testnode"])).stdout.replace("groups=lpar,all", "groups=aix");
    const file = join(sb.dir, "testnode.stanza");
    writeFileSync(file, text);
    await ok(["node", "set", "-z", file]);
    expect((await ok(["node", "show", "testnode"])).stdout).toContain("groups=aix");
  });

  test("image show -z / image set -z round trip, with a default-osimage stanza", async () => {
    await ok(["image", "set", "img1", "provmethod=netboot", "osvers=rhels9.4", "osarch=x86_64", "profile=compute", "postscripts=a,b"]);
    const text = (await ok(["image", "show", "-z", "img1"])).stdout;
    expect(text.startsWith("# <xCAT data object stanza file>\n\nimg1:\n    objtype=osimage\n")).toBe(true);
    await ok(["image", "rm", "img1"]);
    await ok(["image", "set", "-z"], text);
    expect((await ok(["image", "show", "-z", "img1"])).stdout).toBe(text);
    await ok(["image", "set", "-z"], 'default-osimage:\n    profile=service\n\nimg2:\n    objtype=osimage\n    provmethod="netboot"\n');
    const img2 = JSON.parse((await ok(["--json", "image", "show", "img2"])).stdout).img2;
    expect(img2.profile).toBe("service");
    expect(img2.provmethod).toBe("netboot");
  });

  test("all or nothing: one bad line anywhere writes nothing and names the line", async () => {
    const before = (await ok(["table", "dump", "nodelist"])).stdout;
    const bad = [
      "# <xCAT data object stanza file>",
      "",
      "newnode1:",
      "    objtype=node",
      "    groups=all",
      "",
      "newnode2:",
      "    objtype=node",
      "    arch=sparc",
      "",
    ].join("\n");
    const r = await sb.bin(["node", "set", "-z"], { stdin: bad });
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("Error: <stdin>:9: newnode2: invalid arch=sparc");
    expect(r.stderr).toContain("hint:");
    expect((await ok(["table", "dump", "nodelist"])).stdout).toBe(before);

    for (const [text, line, what] of [
      ["newnode1:\n    objtype=node\n    nosuchattr=1\n", 3, "'nosuchattr' is not a valid node attribute"],
      ["newnode1:\n    objtype=osimage\n", 2, "this command reads objtype=node stanzas"],
      ["    groups=all\n", 1, "inside a stanza"],
      ["../evil:\n    groups=all\n", 1, "invalid node name"],
      ["a:\n  groups=all\na:\n", 3, "defined twice"],
    ] as const) {
      const res = await sb.bin(["node", "set", "-z"], { stdin: text });
      expect(res.code).toBe(65);
      expect(res.stderr).toContain(`<stdin>:${line}:`);
      expect(res.stderr).toContain(what);
    }
    expect((await ok(["table", "dump", "nodelist"])).stdout).toBe(before);
    const missing = await sb.bin(["node", "set", "-z", join(sb.dir, "nope.stanza")]);
    expect(missing.code).toBe(66);
  });
});
