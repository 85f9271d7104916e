import { describe, expect, test } from "bun:test";
import type { DiskLayout } from "../../../src/core/capture/probe";
import { LayoutError, normalizeLayout, type SourceLayout } from "../../../src/provmethods/sysclone/layout";
import { type ClonePlan, minMiB, planFor, type TooSmall, variants } from "../../../src/provmethods/sysclone/planner";
import { GiB, goldenGpt, lvmUefi, MiB, mbrBios } from "../../helpers/clone-layouts";

/**
 * The disk planner on three recorded layouts (the golden VM's GPT disk with BIOS boot
 * partition, ESP and swap; an MBR disk with an extended partition and swap; an EL-style UEFI
 * disk with /boot and LVM) against four target disks each: the golden size, twice it, smaller
 * but big enough for the data, and too small.
 */
const golden = goldenGpt();
const LAYOUTS: { name: string; raw: DiskLayout; entries: number; grower: string }[] = [
  { name: "GPT + BIOS boot + ESP + swap", raw: golden.layout, entries: golden.entries, grower: "p4" },
  { name: "MBR + BIOS, extended partition, swap", raw: mbrBios(), entries: 0, grower: "p1" },
  { name: "GPT + ESP + /boot + LVM (swap LV)", raw: lvmUefi(), entries: 0, grower: "lv:rhel/root" },
];

function plan(l: SourceLayout, bytes: number, entries: number): ClonePlan {
  const p = planFor(l, bytes, { entries });
  if ("tooSmall" in p) throw new Error(`unexpectedly too small: ${JSON.stringify(p)}`);
  return p;
}

/** Every partition's end stays within the disk, respecting the 1 MiB head and GPT tail. */
function fitsOnDisk(p: ClonePlan): void {
  const used = p.partitions.filter((x) => x.role !== "extended").reduce((n, x) => n + x.sizeMiB, 0) + p.variant.overheadMiB;
  expect(used).toBeLessThanOrEqual(Math.floor(p.diskBytes / MiB));
}

for (const L of LAYOUTS) {
  describe(L.name, () => {
    const layout = normalizeLayout(L.raw, "img");
    const goldenBytes = layout.disk.bytes;
    const grower = () => layout.filesystems.find((f) => f.id === L.grower);

    test("equal disk: every partition keeps its golden size", () => {
      const p = plan(layout, goldenBytes, L.entries);
      fitsOnDisk(p);
      expect(p.grower).toBe(L.grower);
      for (const part of p.partitions) {
        if (part.role === "extended") continue;
        // the grower's partition may lose what alignment rounding costs, never more than 2 MiB
        expect(Math.abs(part.sizeMiB - part.goldenMiB)).toBeLessThanOrEqual(2);
      }
      for (const fs of p.filesystems) if (fs.id !== L.grower) expect(fs.sizeMiB).toBe(fs.goldenMiB);
    });

    test("larger disk: the largest data filesystem grows to fill it, the rest stay", () => {
      const p = plan(layout, 2 * goldenBytes, L.entries);
      fitsOnDisk(p);
      const g = p.filesystems.find((f) => f.id === L.grower);
      expect(g?.change).toBe("grows");
      // everything the larger disk adds goes to the grower (within alignment)
      const gained = Math.floor(goldenBytes / MiB);
      expect((g?.sizeMiB ?? 0) - (g?.goldenMiB ?? 0)).toBeGreaterThanOrEqual(gained - 8);
      for (const fs of p.filesystems) if (fs.id !== L.grower) expect(fs.change).toBe("same");
      expect(p.partitions.reduce((n, x) => n + (x.role === "extended" ? 0 : x.sizeMiB), 0) + p.variant.overheadMiB).toBe(Math.floor((2 * goldenBytes) / MiB));
    });

    test("smaller disk that holds the data: the grower shrinks, never below used + headroom", () => {
      const min = variants(layout, { entries: L.entries })[0]!.minDiskMiB;
      const size = Math.floor((min + (goldenBytes / MiB - min) / 2) * MiB); // half way between the minimum and the golden size
      const p = plan(layout, size, L.entries);
      fitsOnDisk(p);
      const g = p.filesystems.find((f) => f.id === L.grower);
      expect(g?.change).toBe("shrinks");
      const fs = grower();
      expect(g?.sizeMiB).toBeGreaterThanOrEqual(minMiB(fs!, { entries: L.entries }));
      expect((g?.sizeMiB ?? 0) * MiB).toBeGreaterThan((fs?.usedBytes ?? 0) * 1.1);
    });

    test("too small: the error names the bytes needed and available", () => {
      const p = planFor(layout, 300 * MiB, { entries: L.entries }) as TooSmall;
      expect(p.tooSmall).toBe(true);
      expect(p.diskBytes).toBe(300 * MiB);
      const vs = variants(layout, { entries: L.entries });
      expect(p.neededBytes).toBe(vs.at(-1)!.minDiskMiB * MiB);
      // one MiB less than the minimum does not fit, the minimum does
      expect("tooSmall" in planFor(layout, p.neededBytes - MiB, { entries: L.entries })).toBe(true);
      fitsOnDisk(plan(layout, p.neededBytes, L.entries));
    });
  });
}

describe("layout details", () => {
  test("the golden VM: partitions, roles, filesystems and what fstab names them by", () => {
    const l = normalizeLayout(golden.layout, "golden");
    expect(l.disk).toEqual({ name: "vda", bytes: 2684354560, sectorSize: 512, label: "gpt" });
    expect(l.partitions.map((p) => [p.number, p.role])).toEqual([
      [1, "biosboot"],
      [2, "esp"],
      [3, "swap"],
      [4, "fs"],
    ]);
    expect(l.filesystems.map((f) => [f.id, f.fstype, f.mountpoint])).toEqual([
      ["p2", "vfat", "/boot/efi"],
      ["p4", "ext4", "/"],
    ]);
    expect(l.aliases.get("UUID=6a1d3a5e-0c1b-4d2e-9f3a-7b5c4d3e2f10")).toBe("p4");
    expect(l.aliases.get("UUID=A1B2-C3D4")).toBe("p2");
    expect(l.aliases.get("/dev/vda3")).toBe("p3");
    expect(l.swaps[0]).toMatchObject({ id: "p3", label: "golden-swap" });
  });

  test("MBR: the extended partition holds the swap; it keeps its size when / grows", () => {
    const l = normalizeLayout(mbrBios(), "mbr");
    expect(l.partitions.map((p) => [p.number, p.role, p.logical])).toEqual([
      [1, "fs", false],
      [2, "extended", false],
      [5, "swap", true],
    ]);
    expect(l.partitions[0]?.bootable).toBe(true);
    const p = plan(l, 64 * GiB, 0);
    // swap 2048 MiB plus its 1 MiB EBR gap
    expect(p.partitions.find((x) => x.role === "extended")?.sizeMiB).toBe(2049);
  });

  test("LVM: the volume group's free space and the larger disk go to the root LV; swap and /home keep their size", () => {
    const l = normalizeLayout(lvmUefi(), "el");
    expect(l.vgs).toHaveLength(1);
    expect(l.vgs[0]?.lvs.map((x) => [x.name, x.role])).toEqual([
      ["root", "fs"],
      ["swap", "swap"],
      ["home", "fs"],
    ]);
    expect(l.aliases.get("/dev/dm-1")).toBe("lv:rhel/swap");
    const p = plan(l, 100 * GiB, 0);
    const by = Object.fromEntries(p.filesystems.map((f) => [f.mountpoint ?? f.fstype, f]));
    expect(by.swap?.sizeMiB).toBe(4096);
    expect(by["/home"]?.sizeMiB).toBe(10240);
    expect(by["/"]?.sizeMiB).toBeGreaterThan(80 * 1024);
    expect(l.notCloned).toEqual([]);
  });

  test("LVM on a disk too small for golden sizes: second policy shrinks /home and /boot to their minimum", () => {
    const l = normalizeLayout(lvmUefi(), "el");
    const vs = variants(l);
    expect(vs.map((v) => v.policy)).toEqual([1, 2]);
    const size = (vs[1]!.minDiskMiB + 200) * MiB; // fits only the second policy
    expect(size / MiB).toBeLessThan(vs[0]!.minDiskMiB);
    const p = plan(l, size, 0);
    expect(p.variant.policy).toBe(2);
    const by = Object.fromEntries(p.filesystems.map((f) => [f.mountpoint ?? f.fstype, f]));
    expect(by["/home"]?.change).toBe("shrinks");
    expect(by["/boot"]?.change).toBe("shrinks");
    expect(by["/boot/efi"]?.change).toBe("same");
    expect(by.swap?.change).toBe("same");
    fitsOnDisk(p);
  });

  test("minimums: xfs never under 300 MiB, / on ext has room for one inode per image entry, never above golden", () => {
    const fs = { id: "p1", fstype: "xfs" as const, mountpoint: "/data", label: null, uuid: null, usedBytes: 1 * MiB, bytes: 10 * GiB, options: null };
    expect(minMiB(fs)).toBe(300);
    const root = { ...fs, fstype: "ext4" as const, mountpoint: "/", usedBytes: 10 * MiB };
    expect(minMiB(root, { entries: 100_000 })).toBeGreaterThanOrEqual(Math.ceil((100_000 * 16384 * 1.25) / MiB));
    expect(minMiB({ ...root, usedBytes: 9.9 * GiB })).toBe(10 * 1024);
    expect(minMiB({ ...root, usedBytes: null })).toBe(10 * 1024);
  });

  test("refused layouts say why", () => {
    const raid = structuredClone(golden.layout);
    raid.mdstat = "Personalities : [raid1]\nmd0 : active raid1 vdb1[1] vda1[0]\n      1046528 blocks super 1.2 [2/2] [UU]\n\nunused devices: <none>";
    expect(() => normalizeLayout(raid, "r")).toThrow(/software RAID/);
    const luks = structuredClone(golden.layout);
    (luks.blkid["/dev/vda4"] as Record<string, string>).TYPE = "crypto_LUKS";
    expect(() => normalizeLayout(luks, "l")).toThrow(LayoutError);
    const btrfs = structuredClone(golden.layout);
    (btrfs.blkid["/dev/vda4"] as Record<string, string>).TYPE = "btrfs";
    expect(() => normalizeLayout(btrfs, "b")).toThrow(/btrfs/);
    const noFindmnt = structuredClone(golden.layout);
    noFindmnt.filesystems = null;
    expect(() => normalizeLayout(noFindmnt, "n")).toThrow(/findmnt/);
  });
});
