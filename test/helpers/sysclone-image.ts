import { Database } from "bun:sqlite";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { goldenGpt } from "./clone-layouts";
import type { Sandbox } from "./sandbox";

/**
 * A sysclone image `xcimg clone` can prepare nodes for without a golden VM: a tree holding
 * the tools clone.sh runs inside the image (provmethods/sysclone/image-tools.ts; present as
 * files is enough to prepare), a kernel, and the golden VM's recorded disk layout as capture
 * would have stored it. Returns the tree.
 */
export async function defineFakeSyscloneImage(sb: Sandbox, name: string, extraTools: string[] = []): Promise<string> {
  const tree = join(sb.installdir, "sysclone/images", name);
  const tools = ["grub-install", "grub-mkconfig", "sfdisk", "blkid", "mkfs.ext4", "mkfs.vfat", "mkfs.xfs", "mkswap", "tar", "curl", "gzip", ...extraTools];
  mkdirSync(join(tree, "usr/bin"), { recursive: true });
  for (const t of tools) writeFileSync(join(tree, "usr/bin", t), "#!/bin/sh\n", { mode: 0o755 });
  mkdirSync(join(tree, "usr/lib/grub/x86_64-efi"), { recursive: true });
  mkdirSync(join(tree, "lib/systemd"), { recursive: true });
  writeFileSync(join(tree, "lib/systemd/systemd"), "");
  mkdirSync(join(tree, "boot"), { recursive: true });
  writeFileSync(join(tree, "boot/vmlinuz-6.1.0-9-amd64"), "kernel");
  mkdirSync(join(tree, "etc"), { recursive: true });
  writeFileSync(join(tree, "etc/os-release"), 'ID=debian\nNAME="Debian GNU/Linux"\n');
  const r = await sb.run("image", "set", name, "provmethod=sysclone", "osvers=debian12", "osarch=x86_64", `rootimgdir=${tree}`);
  if (r.code !== 0) throw new Error(`image set ${name}: ${r.stderr}`);
  const db = new Database(sb.dbPath);
  const { layout, entries } = goldenGpt();
  db.query("INSERT INTO xcimg_capture (imagename, node, disk_layout, files) VALUES (?, 'golden', ?, ?)").run(name, JSON.stringify(layout), entries);
  db.close();
  return tree;
}
