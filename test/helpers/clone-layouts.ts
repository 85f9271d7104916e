import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DiskLayout } from "../../src/core/capture/probe";
import type { ImageTools } from "../../src/provmethods/sysclone/image-tools";
import type { SourceLayout } from "../../src/provmethods/sysclone/layout";
import type { NodePlanInput } from "../../src/provmethods/sysclone/node-plan";

/**
 * Disk layouts as `xcimg capture -t sysclone` records them (lsblk -J -b -O, sfdisk --json,
 * blkid -o export, findmnt -J -b, /proc/swaps, LVM JSON reports, fstab). The GPT one is the real
 * record of the golden VM (test/fixtures/clone/golden-gpt.json); the others are built here in
 * the same shapes, for layouts that VM does not have: a classic MBR install with an extended
 * partition, and an EL-style UEFI disk with /boot and an LVM volume group.
 */
export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

export function goldenGpt(): { layout: DiskLayout; entries: number } {
  const f = JSON.parse(readFileSync(join(import.meta.dir, "../fixtures/clone/golden-gpt.json"), "utf8"));
  return { layout: f.disk_layout as DiskLayout, entries: f.entries as number };
}

interface Part {
  node: string;
  start: number;
  size: number;
  type: string;
  uuid?: string;
  name?: string;
  bootable?: boolean;
  blkid?: Record<string, string>;
  children?: unknown[];
}

function lsblkPart(p: Part, diskLabel: string) {
  const name = p.node.slice(5);
  return {
    name,
    kname: name,
    path: p.node,
    type: "part",
    size: p.size * 512,
    start: p.start,
    fstype: p.blkid?.TYPE ?? null,
    uuid: p.blkid?.UUID ?? null,
    label: p.blkid?.LABEL ?? null,
    pttype: diskLabel,
    "log-sec": 512,
    ...(p.children ? { children: p.children } : {}),
  };
}

function build(o: {
  disk: string;
  bytes: number;
  label: "gpt" | "dos";
  firmware: string;
  parts: Part[];
  filesystems: unknown[];
  swaps: DiskLayout["swaps"];
  lvm?: DiskLayout["lvm"];
  extraBlkid?: Record<string, Record<string, string>>;
  fstab: string;
}): DiskLayout {
  const blkid: Record<string, Record<string, string>> = {};
  for (const p of o.parts) if (p.blkid) blkid[p.node] = { ...p.blkid, ...(p.uuid && o.label === "gpt" ? { PARTUUID: p.uuid.toLowerCase() } : {}) };
  Object.assign(blkid, o.extraBlkid ?? {});
  return {
    firmware: o.firmware,
    lsblk: {
      blockdevices: [
        { name: "sr0", kname: "sr0", path: "/dev/sr0", type: "rom", size: 1073741312 },
        {
          name: o.disk,
          kname: o.disk,
          path: `/dev/${o.disk}`,
          type: "disk",
          size: o.bytes,
          pttype: o.label,
          "log-sec": 512,
          children: o.parts.map((p) => lsblkPart(p, o.label)),
        },
      ],
    },
    partitionTables: {
      [`/dev/${o.disk}`]: {
        partitiontable: {
          label: o.label,
          id: o.label === "gpt" ? "0B4D5A7E-1C2D-4E3F-8A9B-0C1D2E3F4A5B" : "0x4790adcd",
          device: `/dev/${o.disk}`,
          unit: "sectors",
          sectorsize: 512,
          partitions: o.parts.map((p) => ({
            node: p.node,
            start: p.start,
            size: p.size,
            type: p.type,
            ...(p.uuid ? { uuid: p.uuid } : {}),
            ...(p.name ? { name: p.name } : {}),
            ...(p.bootable ? { bootable: true } : {}),
          })),
        },
      },
    },
    blkid,
    filesystems: { filesystems: o.filesystems },
    swaps: o.swaps,
    lvm: o.lvm ?? null,
    mdstat: null,
    fstab: o.fstab,
    missing: o.lvm ? [] : ["LVM (pvs): not installed on the node", "LVM (vgs): not installed on the node", "LVM (lvs): not installed on the node"],
  };
}

/** A Debian installer's MBR disk, BIOS: sda1 / ext4 (bootable), sda2 extended, sda5 swap. 32 GiB. */
export function mbrBios(): DiskLayout {
  const rootSectors = 67108864 - 2048 - 4196352 - 2048; // up to the extended partition
  return build({
    disk: "sda",
    bytes: 32 * GiB,
    label: "dos",
    firmware: "bios",
    parts: [
      {
        node: "/dev/sda1",
        start: 2048,
        size: rootSectors,
        type: "83",
        bootable: true,
        blkid: { UUID: "3f1c7e9a-2b4d-4c6e-8f0a-1b2c3d4e5f60", TYPE: "ext4", BLOCK_SIZE: "4096" },
      },
      { node: "/dev/sda2", start: 2048 + rootSectors + 2048, size: 4196352, type: "5" },
      { node: "/dev/sda5", start: 2048 + rootSectors + 4096, size: 4194304, type: "82", blkid: { UUID: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", TYPE: "swap" } },
    ],
    filesystems: [
      {
        target: "/",
        source: "/dev/sda1",
        fstype: "ext4",
        options: "rw,relatime,errors=remount-ro",
        size: 29 * GiB,
        used: 6 * GiB,
        avail: 22 * GiB,
        uuid: "3f1c7e9a-2b4d-4c6e-8f0a-1b2c3d4e5f60",
        label: null,
      },
    ],
    swaps: [{ device: "/dev/sda5", type: "partition", size: 2 * GiB, priority: -2 }],
    fstab: [
      "# /etc/fstab: static file system information.",
      "# / was on /dev/sda1 during installation",
      "UUID=3f1c7e9a-2b4d-4c6e-8f0a-1b2c3d4e5f60 /               ext4    errors=remount-ro 0       1",
      "# swap was on /dev/sda5 during installation",
      "UUID=9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d none            swap    sw              0       0",
      "/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0",
      "",
    ].join("\n"),
  });
}

/**
 * An EL-style UEFI disk: vda1 ESP 600 MiB on /boot/efi, vda2 /boot xfs 1 GiB, vda3 an LVM
 * physical volume (rest of 50 GiB) with volume group "rhel": root xfs 30 GiB, swap 4 GiB,
 * home xfs 10 GiB (the rest of the group left free). fstab names LVs by /dev/mapper paths.
 */
export function lvmUefi(): DiskLayout {
  const pvSectors = 104857600 - 2048 - 1228800 - 2097152 - 34 - 2014;
  const lvs = [
    { name: "root", bytes: 30 * GiB, type: "xfs", mount: "/", used: 9 * GiB, uuid: "b1b2b3b4-c1c2-4d3d-8e4e-f1f2f3f4f5f6", dm: "dm-0" },
    { name: "swap", bytes: 4 * GiB, type: "swap", mount: null, used: 0, uuid: "c1c2c3c4-d1d2-4e3e-9f4f-a1a2a3a4a5a6", dm: "dm-1" },
    { name: "home", bytes: 10 * GiB, type: "xfs", mount: "/home", used: 1 * GiB, uuid: "d1d2d3d4-e1e2-4f3f-8a4a-b1b2b3b4b5b6", dm: "dm-2" },
  ];
  const extraBlkid: Record<string, Record<string, string>> = {};
  for (const l of lvs) extraBlkid[`/dev/mapper/rhel-${l.name}`] = { UUID: l.uuid, TYPE: l.type, ...(l.type === "xfs" ? { BLOCK_SIZE: "512" } : {}) };
  const lvChildren = lvs.map((l) => ({
    name: `rhel-${l.name}`,
    kname: l.dm,
    path: `/dev/mapper/rhel-${l.name}`,
    type: "lvm",
    size: l.bytes,
    fstype: l.type,
    uuid: l.uuid,
  }));
  return build({
    disk: "vda",
    bytes: 50 * GiB,
    label: "gpt",
    firmware: "uefi",
    parts: [
      {
        node: "/dev/vda1",
        start: 2048,
        size: 1228800,
        type: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
        uuid: "11111111-2222-4333-8444-555555555551",
        name: "EFI System Partition",
        blkid: { UUID: "7E3A-91C2", TYPE: "vfat", BLOCK_SIZE: "512" },
      },
      {
        node: "/dev/vda2",
        start: 1230848,
        size: 2097152,
        type: "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
        uuid: "11111111-2222-4333-8444-555555555552",
        blkid: { UUID: "e5e6e7e8-f1f2-4a3a-9b4b-c1c2c3c4c5c6", TYPE: "xfs", BLOCK_SIZE: "512" },
      },
      {
        node: "/dev/vda3",
        start: 3328000,
        size: pvSectors,
        type: "E6D6D379-F507-44C2-A23C-238F2A3DF928",
        uuid: "11111111-2222-4333-8444-555555555553",
        blkid: { UUID: "Ab12Cd-34Ef-56Gh-78Ij-90Kl-12Mn-34OpQr", TYPE: "LVM2_member" },
        children: lvChildren,
      },
    ],
    filesystems: [
      {
        target: "/",
        source: "/dev/mapper/rhel-root",
        fstype: "xfs",
        options: "rw,relatime,seclabel,attr2,inode64,logbufs=8,logbsize=32k,noquota",
        size: 30 * GiB - 200 * MiB,
        used: 9 * GiB,
        uuid: lvs[0]?.uuid,
        label: null,
        children: [
          {
            target: "/boot",
            source: "/dev/vda2",
            fstype: "xfs",
            options: "rw,relatime,seclabel",
            size: 1014 * MiB,
            used: 300 * MiB,
            uuid: "e5e6e7e8-f1f2-4a3a-9b4b-c1c2c3c4c5c6",
            children: [
              {
                target: "/boot/efi",
                source: "/dev/vda1",
                fstype: "vfat",
                options: "rw,relatime,fmask=0077,dmask=0077",
                size: 598 * MiB,
                used: 7 * MiB,
                uuid: "7E3A-91C2",
              },
            ],
          },
          {
            target: "/home",
            source: "/dev/mapper/rhel-home",
            fstype: "xfs",
            options: "rw,relatime,seclabel",
            size: 10 * GiB - 100 * MiB,
            used: 1 * GiB,
            uuid: lvs[2]?.uuid,
          },
        ],
      },
    ],
    swaps: [{ device: "/dev/dm-1", type: "partition", size: 4 * GiB, priority: -2 }],
    lvm: {
      pvs: {
        report: [
          {
            pv: [
              {
                pv_name: "/dev/vda3",
                vg_name: "rhel",
                pv_size: String(pvSectors * 512),
                pv_uuid: "Ab12Cd-34Ef-56Gh-78Ij-90Kl-12Mn-34OpQr",
                dev_size: String(pvSectors * 512),
              },
            ],
          },
        ],
      },
      vgs: {
        report: [
          {
            vg: [
              {
                vg_name: "rhel",
                vg_uuid: "Vg12Cd-34Ef-56Gh-78Ij-90Kl-12Mn-34OpQr",
                vg_size: String(pvSectors * 512 - 4 * MiB),
                vg_free: String(2 * GiB),
                vg_extent_size: String(4 * MiB),
              },
            ],
          },
        ],
      },
      lvs: {
        report: [
          {
            lv: lvs.map((l) => ({
              lv_name: l.name,
              vg_name: "rhel",
              lv_uuid: `Lv-${l.name}`,
              lv_size: String(l.bytes),
              lv_path: `/dev/rhel/${l.name}`,
              lv_attr: "-wi-ao----",
              segtype: "linear",
            })),
          },
        ],
      },
    },
    extraBlkid,
    fstab: [
      "/dev/mapper/rhel-root   /                       xfs     defaults        0 0",
      "UUID=e5e6e7e8-f1f2-4a3a-9b4b-c1c2c3c4c5c6 /boot                   xfs     defaults        0 0",
      "UUID=7E3A-91C2          /boot/efi               vfat    umask=0077,shortname=winnt 0 2",
      "/dev/mapper/rhel-home   /home                   xfs     defaults        0 0",
      "/dev/mapper/rhel-swap   none                    swap    defaults        0 0",
      "UUID=0a0b0c0d-1111-4222-8333-444455556666 /scratch xfs defaults 0 0",
      "nfs01:/export/apps      /apps                   nfs     ro,defaults     0 0",
      "",
    ].join("\n"),
  });
}

/** The tools a Debian image has, as image-tools.ts finds them. */
export const DEBIAN_TOOLS: ImageTools = {
  grubInstall: "grub-install",
  grubMkconfig: "grub-mkconfig -o /boot/grub/grub.cfg",
  grubPc: true,
  grubEfi: true,
  shim: null,
  secureBoot: null,
  efiId: "debian",
  efiLabel: "Debian GNU/Linux",
  initrdCmd: "update-initramfs -u -k all",
  decompress: "gzip",
  mkfsTools: ["mkfs.ext4", "mkswap"],
  fetchers: ["bash"],
};

/** A node plan for cn01 cloning golden-vm, for renderPlanEnv; `over` sets what a test is about. */
export function planInput(layout: SourceLayout, over: Partial<NodePlanInput> = {}): NodePlanInput {
  return {
    job: "20260101T000000-abcdef",
    node: "cn01",
    image: "golden-vm",
    osvers: "debian12",
    arch: "x86_64",
    profile: "compute",
    master: "127.0.0.1",
    httpPort: 80,
    archive: { urlPath: "/install/sysclone/clone/golden-vm/rootimg.tar.gz", bytes: 1000, chunkBytes: 400, chunks: 3 },
    loaderUrlPath: "/tftpboot/xcat/xnba/nodes/cn01",
    waitSeconds: 0,
    overrides: [],
    postscripts: [],
    postscriptsUrl: "/install/postscripts",
    identityFiles: ["etc/hostname"],
    layout,
    tools: DEBIAN_TOOLS,
    ...over,
  };
}
