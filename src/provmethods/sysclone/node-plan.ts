import { shq } from "../../core/remote/shell";
import { depth, fstabTemplate } from "./fstab";
import type { ImageTools } from "./image-tools";
import { mapperName, type SourceLayout } from "./layout";
import { describeFs, growTarget, type PlanOptions, type Size, variants } from "./planner";
import { type Postscript, postscriptLines } from "./postscripts";

/**
 * The plan as the node reads it: /etc/xcimg/clone/plan.env in the node's overlay, plain shell
 * assignments that clone.sh sources. It carries the layout and every planner variant (not one
 * concrete plan: only the node knows its real disk size, and it must re-check before writing),
 * the fstab template, where to fetch the image, and the node's identity files, overrides and
 * postscripts. Every value is single-quoted: nothing in it is evaluated by the shell.
 */
export interface NodePlanInput {
  job: string;
  node: string;
  image: string;
  osvers: string;
  arch: string;
  profile: string;
  master: string;
  httpPort: number;
  archive: { urlPath: string; bytes: number; chunkBytes: number; chunks: number };
  /** URL path of the node's boot loader file, polled for the switch to local boot. */
  loaderUrlPath: string;
  /** Seconds to wait for that switch before rebooting anyway (0: wait until it comes). */
  waitSeconds: number;
  /** --disk: the device to clone onto, when the automatic choice will not do. */
  disk?: string;
  overrides: string[];
  /** Run in the new system after the copy. */
  postscripts: Postscript[];
  /** Run once at the clone's first boot from its disk. */
  postbootscripts?: Postscript[];
  /** URL path of <installdir>/postscripts. */
  postscriptsUrl: string;
  identityFiles: string[];
  layout: SourceLayout;
  tools: ImageTools;
  planOptions?: PlanOptions;
}

/** Files that may name filesystems by UUID or PARTUUID (globs, relative to the new root). */
export const FIX_FILES = [
  "etc/default/grub",
  "etc/default/grub.d/*.cfg",
  "etc/initramfs-tools/conf.d/resume",
  "etc/crypttab",
  "etc/kernel/cmdline",
  "etc/dracut.conf.d/*.conf",
  "etc/mdadm/mdadm.conf",
  "boot/grub2/grubenv",
  "boot/loader/entries/*.conf",
  "boot/efi/EFI/*/grub.cfg",
];
/** Of those, the ones the initramfs carries: a change there means rebuilding it. */
export const INITRD_FILES = ["etc/initramfs-tools/conf.d/resume", "etc/crypttab", "etc/dracut.conf.d/*.conf"];

const LABEL_MAX: Record<string, number> = { ext2: 16, ext3: 16, ext4: 16, xfs: 12, vfat: 11, swap: 16 };

export interface NodeFs {
  id: string;
  dev: string;
  type: string;
  label: string | null;
  mountpoint: string | null;
  oldUuid: string | null;
  oldPartuuid: string | null;
  mkfsOpts: string;
}

/** Filesystems and swap areas in the order the node makes them (partition order, LVs after their PV). */
export function nodeFilesystems(layout: SourceLayout): NodeFs[] {
  const out: NodeFs[] = [];
  for (const p of layout.partitions) {
    if (p.fs)
      out.push({
        id: p.fs.id,
        dev: `p${p.number}`,
        type: p.fs.fstype,
        label: p.fs.label,
        mountpoint: p.fs.mountpoint,
        oldUuid: p.fs.uuid,
        oldPartuuid: p.partuuid,
        mkfsOpts: vfatOpts(p.fs.fstype, p.bytes),
      });
    if (p.swap)
      out.push({
        id: p.swap.id,
        dev: `p${p.number}`,
        type: "swap",
        label: p.swap.label,
        mountpoint: null,
        oldUuid: p.swap.uuid,
        oldPartuuid: p.partuuid,
        mkfsOpts: "",
      });
    if (p.role === "lvm" && p.vg) {
      for (const lv of layout.vgs.find((v) => v.name === p.vg)?.lvs ?? []) {
        const dev = `lv:${lv.vg}/${lv.name}`;
        if (lv.fs)
          out.push({
            id: lv.fs.id,
            dev,
            type: lv.fs.fstype,
            label: lv.fs.label,
            mountpoint: lv.fs.mountpoint,
            oldUuid: lv.fs.uuid,
            oldPartuuid: null,
            mkfsOpts: vfatOpts(lv.fs.fstype, lv.bytes),
          });
        if (lv.swap)
          out.push({ id: lv.swap.id, dev, type: "swap", label: lv.swap.label, mountpoint: null, oldUuid: lv.swap.uuid, oldPartuuid: null, mkfsOpts: "" });
      }
    }
  }
  return out;
}

/** FAT32 for an ESP big enough to hold it (UEFI's preference); mkfs.vfat chooses otherwise. */
function vfatOpts(type: string, bytes: number): string {
  return type === "vfat" && bytes >= 36 * 1024 * 1024 ? "-F 32" : "";
}

function label(type: string, l: string | null): string {
  if (!l) return "";
  const clean = l.replace(/[^\x20-\x7e]/g, "_");
  const max = LABEL_MAX[type] ?? 16;
  return (type === "vfat" ? clean.toUpperCase() : clean).slice(0, max);
}

const sizeWord = (s: Size) => (s === "rest" ? "R" : String(s));

export function renderPlanEnv(i: NodePlanInput): string {
  const L = i.layout;
  const vs = variants(L, i.planOptions);
  const fss = nodeFilesystems(L);
  const grower = growTarget(L);
  const lines: string[] = ["# xcimg clone plan (sourced by /etc/xcimg/clone/clone.sh); see docs/clone.md"];
  const set = (k: string, v: string | number) => lines.push(`${k}=${shq(String(v))}`);
  set("XC_JOB", i.job);
  set("XC_NODE", i.node);
  set("XC_IMAGE", i.image);
  set("XC_OSVER", i.osvers);
  set("XC_ARCH", i.arch);
  set("XC_PROFILE", i.profile);
  set("XC_MASTER", i.master);
  set("XC_HTTP_PORT", i.httpPort);
  set("XC_ARCHIVE", i.archive.urlPath);
  set("XC_ARCHIVE_BYTES", i.archive.bytes);
  set("XC_CHUNK_BYTES", i.archive.chunkBytes);
  set("XC_CHUNKS", i.archive.chunks);
  set("XC_DECOMPRESS", `${i.tools.decompress} -dc`);
  set("XC_DECOMPRESS_TOOL", i.tools.decompress);
  set("XC_LOADER", i.loaderUrlPath);
  set("XC_WAIT", i.waitSeconds);
  set("XC_DISK", i.disk ?? "");
  set("XC_GOLDEN_DISK", L.disk.name);
  set("XC_LABEL", L.disk.label);
  set("XC_GROWER", describeFs(grower));

  set("XC_NPARTS", L.partitions.length);
  L.partitions.forEach((p, k) => {
    const n = k + 1;
    set(`XC_P${n}_NUM`, p.number);
    set(`XC_P${n}_ROLE`, p.role);
    set(`XC_P${n}_TYPE`, p.type);
    set(`XC_P${n}_NAME`, L.disk.label === "gpt" ? (p.name ?? "").replace(/["\\\n]/g, "_") : "");
    set(`XC_P${n}_ATTRS`, (p.attrs ?? "").replace(/["\\\n]/g, ""));
    set(`XC_P${n}_BOOTABLE`, p.bootable ? 1 : 0);
  });
  set("XC_ESP", L.partitions.find((p) => p.role === "esp")?.number ?? "");
  set("XC_ESP_MOUNT", L.partitions.find((p) => p.role === "esp")?.fs?.mountpoint ?? "/boot/efi");
  set("XC_BIOSBOOT", L.partitions.find((p) => p.role === "biosboot")?.number ?? "");

  set("XC_NVARIANTS", vs.length);
  vs.forEach((v, k) => {
    const n = k + 1;
    set(`XC_V${n}_SIZES`, v.partitions.map(sizeWord).join(" "));
    set(`XC_V${n}_LVSIZES`, v.lvs.map(sizeWord).join(" "));
    set(`XC_V${n}_FIXED`, v.fixedMiB);
    set(`XC_V${n}_RESTMIN`, v.restMinMiB);
    set(`XC_V${n}_OVERHEAD`, v.overheadMiB);
    set(`XC_V${n}_MINDISK`, v.minDiskMiB);
  });

  set("XC_NVGS", L.vgs.length);
  let lvIndex = 0;
  L.vgs.forEach((vg, k) => {
    const n = k + 1;
    set(`XC_VG${n}_NAME`, vg.name);
    set(`XC_VG${n}_PART`, vg.pvPartitions[0] ?? "");
    set(`XC_VG${n}_EXTENT`, Math.max(1, Math.round(vg.extentBytes / (1024 * 1024))));
    const ix: number[] = [];
    for (const lv of vg.lvs) {
      lvIndex++;
      ix.push(lvIndex);
      set(`XC_L${lvIndex}_NAME`, lv.name);
      set(`XC_L${lvIndex}_MAPPER`, mapperName(vg.name, lv.name));
    }
    set(`XC_VG${n}_LVS`, ix.join(" "));
  });

  set("XC_NFS", fss.length);
  fss.forEach((f, k) => {
    const n = k + 1;
    set(`XC_F${n}_ID`, f.id);
    set(`XC_F${n}_DEV`, f.dev);
    set(`XC_F${n}_TYPE`, f.type);
    set(`XC_F${n}_LABEL`, label(f.type, f.label));
    set(`XC_F${n}_MOUNT`, f.mountpoint ?? "");
    set(`XC_F${n}_OLDUUID`, f.oldUuid ?? "");
    set(`XC_F${n}_OLDPARTUUID`, f.oldPartuuid ?? "");
    set(`XC_F${n}_MKFSOPTS`, f.mkfsOpts);
  });
  const mounted = fss.map((f, k) => ({ f, n: k + 1 })).filter((x) => x.f.mountpoint && x.f.type !== "swap");
  mounted.sort(
    (a, b) => depth(a.f.mountpoint as string) - depth(b.f.mountpoint as string) || (a.f.mountpoint as string).localeCompare(b.f.mountpoint as string),
  );
  set("XC_MOUNT_ORDER", mounted.map((x) => x.n).join(" "));
  set("XC_ROOTFS", mounted.find((x) => x.f.mountpoint === "/")?.n ?? "");
  set("XC_FSTAB", fstabTemplate(L).template);
  set("XC_FIX_FILES", FIX_FILES.join(" "));
  set("XC_INITRD_FILES", INITRD_FILES.join(" "));
  set("XC_INITRD_CMD", i.tools.initrdCmd ?? "");
  set("XC_MKFS_TOOLS", i.tools.mkfsTools.join(" "));

  set("XC_GRUB_INSTALL", i.tools.grubInstall);
  set("XC_GRUB_MKCONFIG", i.tools.grubMkconfig);
  set("XC_GRUB_PC", i.tools.grubPc ? 1 : "");
  set("XC_GRUB_EFI", i.tools.grubEfi ? 1 : "");
  set("XC_SHIM", i.tools.shim ?? "");
  set("XC_SECUREBOOT", i.tools.secureBoot ?? "");
  set("XC_EFI_ID", i.tools.efiId);
  set("XC_EFI_LABEL", i.tools.efiLabel.replace(/'/g, ""));

  set("XC_OVERRIDES", i.overrides.join(" "));
  set("XC_POSTSCRIPTS", postscriptLines(i.postscripts));
  set("XC_POSTBOOTSCRIPTS", postscriptLines(i.postbootscripts ?? []));
  set("XC_POSTSCRIPTS_URL", i.postscriptsUrl);
  set("XC_IDENTITY_FILES", i.identityFiles.join(" "));
  return `${lines.join("\n")}\n`;
}
