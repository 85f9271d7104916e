import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineNetbootImage } from "../../helpers/images";
import { Sandbox } from "../../helpers/sandbox";

/**
 * From 200 nodes on, `xcimg boot` hands its file writes to a writer thread while it renders the
 * next nodes (src/core/boot/file-writer.ts, file-worker.ts); fewer nodes are written on the main
 * thread. Through the compiled binary (the worker is an extra entry point of the bundle), a boot
 * of 240 nodes — first run, unchanged re-run, switch to another image — must leave exactly the
 * files, modes and groups that booting them 120 at a time on the main thread leaves, no
 * temporary file, and a boot-files.json whose signatures are the files' own (taken by fstat after
 * the rename). A write that fails in the thread fails the command as it does on the main thread.
 */
const IMG = "fw1-x86_64-netboot-compute";
const IMG2 = "fw2-x86_64-netboot-compute";
const N = 240;
const name = (i: number) => `cn${String(i).padStart(3, "0")}`;
let sb: Sandbox;
const dirs = () => ["xcat/xnba/nodes", "xcat/overlay"].map((d) => join(sb.tftpdir, d));

async function ok(argv: string[], compiled = true): Promise<string> {
  const r = compiled ? await sb.bin(argv) : await sb.run(...argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r.stderr;
}

/** Every per-node file: content, mode, group; and no temporary file anywhere. */
function snapshot(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of dirs()) {
    for (const f of readdirSync(d)) {
      expect(f).not.toContain(".xcimg-tmp.");
      const st = lstatSync(join(d, f));
      out[join(d, f)] = `${(st.mode & 0o7777).toString(8)}:${st.gid}:${Bun.SHA256.hash(readFileSync(join(d, f)), "hex")}`;
    }
  }
  return out;
}

/** The node files and both records gone: the next boot writes everything again. */
function reset(): void {
  for (const d of dirs()) rmSync(d, { recursive: true, force: true });
  for (const f of ["boot-files.json", "boot-nodes.json"]) rmSync(join(sb.dir, "db", f), { force: true });
}

const all = `${name(1)}-${name(N)}`;
const halves = [`${name(1)}-${name(N / 2)}`, `${name(N / 2 + 1)}-${name(N)}`];

beforeAll(async () => {
  sb = new Sandbox("file-writer");
  const img = await defineNetbootImage(sb, IMG, [], "fw1");
  mkdirSync(join(img.rootimg, "boot"), { recursive: true });
  mkdirSync(join(img.rootimg, "sbin"), { recursive: true });
  const kernel = Buffer.alloc(1024); // with an EFI stub header: xnba nodes get .uefi files too
  kernel.write("MZ", 0, "latin1");
  Buffer.from([0x50, 0x45, 0, 0, 0x64, 0x86]).copy(kernel, 0x80);
  writeFileSync(join(img.rootimg, "boot/vmlinuz-6.1.0-1"), kernel);
  writeFileSync(join(img.rootimg, "sbin/init"), "#!/bin/sh\n");
  await ok(["pack", IMG], false);
  // the same tree under another name: every node's files change when switching to it
  await ok(["image", "set", IMG2, "provmethod=netboot", "osvers=fw1", "osarch=x86_64", "profile=compute", `rootimgdir=${img.dir}`], false);
  await ok(["node", "set", `cn[001-${N}]`, "groups=compute,all", "netboot=xnba", "arch=x86_64"], false);
  const rows = ["#node,interface,mac,comments,disable"];
  for (let i = 1; i <= N; i++) rows.push(`"${name(i)}",,"52:54:03:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}",,`);
  writeFileSync(join(sb.dir, "mac.csv"), `${rows.join("\n")}\n`);
  await ok(["table", "restore", "mac", join(sb.dir, "mac.csv")], false);
});
afterAll(() => sb.cleanup());

describe("the writer thread leaves what the main thread leaves", () => {
  for (const [scenario, image] of [
    ["first run", IMG],
    ["switch to another image", IMG2],
  ] as const) {
    test(`${scenario}: 240 nodes at once (writer thread) = 120 at a time (main thread), byte for byte`, async () => {
      if (image === IMG2) {
        reset();
        await ok(["boot", all, "-o", IMG]); // what the switch replaces, recorded
      }
      await ok(["boot", all, "-o", image]);
      const threaded = snapshot();
      expect(Object.keys(threaded).length).toBe(3 * N);
      // boot-files.json: each file's signature is its lstat's now
      const rec = JSON.parse(readFileSync(join(sb.dir, "db", "boot-files.json"), "utf8")) as Record<string, string>;
      for (const p of Object.keys(threaded)) {
        const st = lstatSync(p);
        expect(rec[p]?.startsWith(`${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.mode}:${st.gid}:`), p).toBe(true);
      }
      // an unchanged re-run keeps every file (same inodes) and renders no node
      const inodes = Object.keys(threaded).map((p) => lstatSync(p).ino);
      expect(await ok(["-v", "boot", all, "-o", image])).toContain(`write 0 files for ${N} nodes, ${N} unchanged`);
      expect(Object.keys(threaded).map((p) => lstatSync(p).ino)).toEqual(inodes);

      reset();
      if (image === IMG2) for (const h of halves) await ok(["boot", h, "-o", IMG]);
      for (const h of halves) await ok(["boot", h, "-o", image]);
      expect(snapshot()).toEqual(threaded);
    }, 120_000);
  }

  test("a file that cannot be written fails the threaded boot as it fails the sequential one", async () => {
    reset();
    // a directory where a node's UEFI script goes: rename(2) over it fails
    mkdirSync(join(sb.tftpdir, "xcat/xnba/nodes", `${name(150)}.uefi`, "x"), { recursive: true });
    const r = await sb.bin(["boot", all, "-o", IMG]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot write ${join(sb.tftpdir, "xcat/xnba/nodes", `${name(150)}.uefi`)}`);
    const seq = await sb.bin(["boot", halves[1] as string, "-o", IMG]);
    expect(seq.code).toBe(r.code);
    expect(seq.stderr).toContain(`cannot write ${join(sb.tftpdir, "xcat/xnba/nodes", `${name(150)}.uefi`)}`);
    for (const d of dirs()) for (const f of readdirSync(d)) expect(f).not.toContain(".xcimg-tmp.");
    rmSync(join(sb.tftpdir, "xcat/xnba/nodes", `${name(150)}.uefi`), { recursive: true });
  }, 120_000);
});
