import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IMAGE_TYPE } from "../../src/core/defs/image";
import { inertAttrs } from "../../src/core/defs/inert-attrs";
import { NODE_TYPE } from "../../src/core/defs/node";
import { BIN, ROOT, Sandbox } from "../helpers/sandbox";

/** Attributes xcimg keeps but does not act on are warned about once, never silently taken. */
let sb: Sandbox;
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
  sb = new Sandbox("fidelity-inert");
});
afterAll(() => sb.cleanup());

const warnings = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("Warning:"));

describe("stored, not acted on", () => {
  test("image set: one warning naming every such attribute; acted-on ones are not named", async () => {
    const r = await sb.bin([
      "image",
      "set",
      "img",
      "provmethod=netboot",
      "permission=755",
      "netdrivers=e1000e,igb",
      "crashkernelsize=256M",
      "exlist=/x.exlist",
    ]);
    expect(r.code).toBe(0);
    expect(warnings(r.stderr)).toEqual(["Warning: stored, not acted on by xcimg: crashkernelsize, netdrivers, permission"]);
    const shown = JSON.parse((await sb.bin(["--json", "image", "show", "img"])).stdout).img;
    expect(shown.netdrivers).toBe("e1000e,igb"); // stored all the same
    const quiet = await sb.bin(["image", "set", "img", "osvers=rhels9.4", "permission="]);
    expect(warnings(quiet.stderr)).toEqual([]); // clearing one is not setting it
  });

  test("node set over many nodes and stanza files warn once; table set and restore name the columns", async () => {
    let r = await sb.bin(["node", "set", "cn[1-20]", "groups=all", "mgt=ipmi", "cons=ipmi", "arch=x86_64"]);
    expect(warnings(r.stderr)).toEqual(["Warning: stored, not acted on by xcimg: cons, mgt"]);
    r = await sb.bin(["node", "set", "-z"], { stdin: "a1:\n    otherinterfaces=eth1:10.1.0.1\na2:\n    power=ipmi\n" });
    expect(warnings(r.stderr)).toEqual(["Warning: stored, not acted on by xcimg: otherinterfaces, power"]);
    r = await sb.bin(["table", "set", "linuximage", "imagename=img", "dump=nfs://10.0.0.1/dumps"]);
    expect(warnings(r.stderr)).toEqual(["Warning: stored, not acted on by xcimg: linuximage.dump"]);
    const csv = join(sb.dir, "linuximage.csv");
    writeFileSync(csv, `${(await sb.bin(["table", "dump", "linuximage"])).stdout}`);
    r = await sb.bin(["table", "restore", csv]);
    expect(r.code).toBe(0);
    expect(warnings(r.stderr)).toEqual(["Warning: stored, not acted on by xcimg: linuximage.crashkernelsize, linuximage.dump, linuximage.netdrivers"]);
  });

  test("chdef_t_node: postscripts xcatdefaults already runs get xCAT's warning and are not stored again", async () => {
    await sb.bin(["table", "set", "postscripts", "node=xcatdefaults", "postscripts=syslog,remoteshell,syncfiles", "postbootscripts=otherpkgs"]);
    await sb.bin(["node", "set", "testnode", "groups=all"]);
    let r = await sb.bin(["node", "set", "testnode", "postscripts=syslog,remoteshell,syncfiles,mine"]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("Error");
    for (const s of ["syslog", "remoteshell", "syncfiles"])
      expect(r.stderr).toContain(`Warning: testnode: postscripts '${s}' is already included in the 'xcatdefaults'.`);
    r = await sb.bin(["node", "set", "testnode", "postbootscripts=otherpkgs"]);
    expect(r.stderr).toContain("Warning: testnode: postbootscripts 'otherpkgs' is already included in the 'xcatdefaults'.");
    expect((await sb.bin(["table", "dump", "postscripts"])).stdout).toContain('"testnode","mine",,,');
  });

  test("the list is not stale: no code under src/ reads an attribute it calls inert", () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d)) {
        const p = join(d, e);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith(".ts")) files.push(p);
      }
    };
    walk(join(ROOT, "src"));
    // postscripts/environment.ts hands node attributes to the site's scripts as xCAT's mypostscript
    // does (SERVICEGROUP=servicenode, ...): passing a value on is not xcimg acting on it
    const source = files
      .filter((f) => !/core\/db\/tables\.ts|core\/defs\/inert-attrs\.ts|cli\/xcat\/|core\/postscripts\/environment\.ts/.test(f))
      .map((f) => readFileSync(f, "utf8"))
      .join("\n");
    for (const [kind, type] of [
      ["osimage", IMAGE_TYPE],
      ["node", NODE_TYPE],
    ] as const) {
      for (const attr of Object.keys(type.attrs)) {
        if (!inertAttrs(kind, { [attr]: "x" }).length) continue;
        expect({ attr, read: new RegExp(`(attrs|\\ba|\\bi)\\.${attr}\\b`).test(source) }).toEqual({ attr, read: false });
      }
    }
  });
});
