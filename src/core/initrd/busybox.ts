import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { NotFoundError } from "../errors";
import { ImageRoot, lstatOrNull } from "../image/image-root";

/**
 * The tool set of xcimg's first-stage initrds (statelite's, and the one that fetches a tar or
 * squashfs image, first-stage.ts): one static busybox. Before the root is mounted or fetched
 * nothing of the image is reachable, so the initramfs needs its own shell, mount, DHCP client,
 * wget, modprobe and switch_root; busybox is all of them in one file with no libraries. Taken from
 * the image when it has a static one (busybox-based images), else from the management node
 * (Debian/Ubuntu: busybox-static; EL: busybox from EPEL), always for the image's architecture.
 */
const IMAGE_PATHS = ["/bin/busybox", "/usr/bin/busybox", "/sbin/busybox", "/usr/sbin/busybox"];
const HOST_PATHS = ["/usr/lib/xcimg/busybox", "/bin/busybox", "/usr/bin/busybox", "/usr/sbin/busybox", "/sbin/busybox"];

/** ELF e_machine of each osarch xCAT knows. */
const MACHINE: Record<string, number> = { x86_64: 62, aarch64: 183, arm64: 183, ppc64: 21, ppc64le: 21, ppc64el: 21, s390x: 22 };

/** The ELF machine number of an osarch, or undefined for one xcimg does not know. */
export function machineOf(osarch: string): number | undefined {
  return MACHINE[osarch];
}

export interface ElfInfo {
  machine: number;
  /** No PT_INTERP: runs without a dynamic loader or libraries. */
  static: boolean;
}

export function elfInfo(file: string): ElfInfo | null {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return null;
  }
  try {
    const h = Buffer.alloc(64);
    if (readSync(fd, h, 0, 64, 0) < 52 || h.readUInt32BE(0) !== 0x7f454c46) return null;
    const is64 = h[4] === 2;
    const le = h[5] === 1;
    const u16 = (o: number) => (le ? h.readUInt16LE(o) : h.readUInt16BE(o));
    const machine = u16(0x12);
    const phoff = is64 ? Number(le ? h.readBigUInt64LE(0x20) : h.readBigUInt64BE(0x20)) : le ? h.readUInt32LE(0x1c) : h.readUInt32BE(0x1c);
    const phentsize = u16(is64 ? 0x36 : 0x2a);
    const phnum = u16(is64 ? 0x38 : 0x2c);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const type = le ? ph.readUInt32LE(i * phentsize) : ph.readUInt32BE(i * phentsize);
      if (type === 3) return { machine, static: false }; // PT_INTERP
    }
    return { machine, static: true };
  } finally {
    closeSync(fd);
  }
}

export interface FoundBusybox {
  path: string;
  data: Buffer;
  from: "image" | "management node";
}

/** `purpose` names the initrd in the error ("the statelite initrd"). */
export function findBusybox(rootimg: string, osarch: string, purpose: string): FoundBusybox {
  const want = MACHINE[osarch];
  const fits = (p: string) => {
    const e = elfInfo(p);
    return !!e?.static && (want === undefined || e?.machine === want);
  };
  const image = new ImageRoot(rootimg);
  for (const p of IMAGE_PATHS) {
    const f = image.follow(p);
    if (lstatOrNull(f)?.isFile() && fits(f)) return { path: f, data: readFileSync(f), from: "image" };
  }
  for (const p of HOST_PATHS) if (fits(p)) return { path: p, data: readFileSync(p), from: "management node" };
  throw new NotFoundError(`no static busybox for ${osarch} to put into ${purpose} (looked in the image and at ${HOST_PATHS.join(", ")})`, {
    hint: "install one on the management node: 'apt install busybox-static' (Debian/Ubuntu), 'dnf install busybox' (EPEL); or put a static busybox at /usr/lib/xcimg/busybox",
  });
}
