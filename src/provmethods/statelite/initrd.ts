import { type MemoryEntry, memoryCpio } from "../../core/archive/cpio";
import { findBusybox } from "../../core/initrd/busybox";
import { INIT_PARTS } from "../../core/initrd/init-script";
import { initrdModules } from "../../core/initrd/initrd-modules";
import udhcpcScript from "../../core/initrd/udhcpc.sh" with { type: "text" };
import { inlineParts } from "../../core/script/inline";
import { RC_STATELITE } from "./rc-statelite";
import initScript from "./statelite-init.sh" with { type: "text" };

/**
 * initrd-statelite.gz, the name xCAT gives a statelite image's initrd, built by xcimg for
 * each image at `xcimg boot` (and written next to rootimg/, where imgexport looks for it):
 *
 *   /init                         statelite-init.sh: network, root (NFS or the unpacked
 *                                 ramdisk image), rc.statelite, identity, switch_root
 *   /.xcimg/bin/busybox           static: the shell and every tool /init uses
 *   /.xcimg/statelite             rc.statelite (the script lite installs as /etc/init.d/statelite)
 *   /.xcimg/udhcpc.script         DHCP hook
 *   /.xcimg/lib/modules/<kver>/   NIC, AF_PACKET and NFS modules from the image, with their
 *                                 own modules.dep/alias (modprobe runs chrooted in /.xcimg)
 *
 * Everything but /init lives under /.xcimg, so with a ramdisk image unpacked in the same
 * initramfs nothing of the image is overwritten. The archive is deterministic (mtime 0): a
 * rebuild with the same image gives the same bytes, and unchanged files are not rewritten.
 */
/** The NFS client, for an NFS root and statemnt/litetree mounts (the network modules come anyway). */
const NFS_CLIENT = [/^kernel\/fs\/nfs\/nfsv[34]\./, /^kernel\/fs\/nfs\/nfs\./];

/** statelite-init.sh with the /init preamble it shares with netboot's (core/initrd/init-common.sh). */
const STATELITE_INIT = inlineParts(initScript, INIT_PARTS);

export interface StateliteInitrd {
  data: Buffer;
  busybox: string;
  busyboxFrom: "image" | "management node";
  modules: number;
}

export function stateliteInitrd(rootimg: string, kernelVersion: string, osarch: string): StateliteInitrd {
  const busybox = findBusybox(rootimg, osarch, "the statelite initrd");
  const mods = initrdModules(rootimg, kernelVersion, NFS_CLIENT);
  const entries: MemoryEntry[] = [];
  const dirs = new Set<string>();
  const dir = (name: string) => {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ name: d, mode: 0o040755 });
      }
    }
  };
  const file = (name: string, data: string | Uint8Array, mode = 0o644) => {
    dir(name);
    entries.push({ name, mode: 0o100000 | mode, data });
  };
  dir("dev/x");
  entries.push({ name: "dev/console", mode: 0o020600, rdevMajor: 5, rdevMinor: 1 }, { name: "dev/null", mode: 0o020666, rdevMajor: 1, rdevMinor: 3 });
  file("init", STATELITE_INIT, 0o755);
  file(".xcimg/bin/busybox", busybox.data, 0o755);
  file(".xcimg/statelite", RC_STATELITE, 0o755);
  file(".xcimg/udhcpc.script", udhcpcScript, 0o755);
  const base = `.xcimg/lib/modules/${kernelVersion}`;
  for (const m of [...mods.index, ...mods.files]) file(`${base}/${m.name}`, m.data);
  const cpio = memoryCpio(entries, 0);
  const data = Buffer.from(Bun.gzipSync(cpio as Uint8Array<ArrayBuffer>, { level: 6 }));
  return { data, busybox: busybox.path, busyboxFrom: busybox.from, modules: mods.files.length };
}
