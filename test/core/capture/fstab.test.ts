import { describe, expect, test } from "bun:test";
import { disableLocalDiskLines, MARK } from "../../../src/core/capture/fstab";

describe("diskless fstab", () => {
  test("the golden node's disks are commented out, everything else stays", () => {
    const fstab = [
      "# /etc/fstab: static file system information.",
      "UUID=0d1e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f60 /          ext4  errors=remount-ro 0 1",
      "UUID=A1B2-C3D4                            /boot/efi  vfat  umask=0077        0 1",
      "PARTUUID=1234 none swap sw 0 0",
      "LABEL=scratch /scratch xfs defaults 0 2",
      "/dev/vda3 none swap sw 0 0",
      "tmpfs /tmp tmpfs defaults,size=10m 0 0",
      "proc /proc proc defaults 0 0",
      "10.0.0.1:/home /home nfs defaults 0 0",
      "/dev/shm /run/shm none bind 0 0",
      "/srv/data /data none bind 0 0",
      "",
    ].join("\n");
    const { text, count } = disableLocalDiskLines(fstab);
    expect(count).toBe(5);
    const lines = text.split("\n");
    for (const spec of ["UUID=0d1e", "UUID=A1B2", "PARTUUID=1234", "LABEL=scratch", "/dev/vda3"]) {
      expect(lines.find((l) => l.includes(spec))?.startsWith(MARK)).toBe(true);
    }
    for (const keep of ["tmpfs /tmp", "proc /proc", "10.0.0.1:/home", "/dev/shm /run/shm", "/srv/data /data"]) {
      expect(lines.find((l) => l.includes(keep))?.startsWith("#")).toBe(false);
    }
    expect(text.startsWith("# xcimg:")).toBe(true);
  });

  test("nothing to do leaves the file byte for byte", () => {
    const t = "proc /proc proc defaults 0 0\n";
    expect(disableLocalDiskLines(t)).toEqual({ text: t, count: 0 });
  });
});
