import { execFileSync } from "node:child_process";
import { linkSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * A root tree with the awkward things a real image has: hardlinks, symlinks (absolute and
 * relative), a device node and a FIFO, a setuid file owned by another user, and names that
 * are not UTF-8. Tests run as root (devices and chown need it).
 */
export const RAW_NAME_BYTES = Buffer.from([0xff, 0xfe]);

export function makeAwkwardTree(root: string): void {
  const file = (rel: string, data: string | Buffer, mode = 0o644) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), data, { mode });
  };
  mkdirSync(root, { recursive: true });
  file("etc/hostname", "golden\n");
  file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  file("usr/bin/tool", "#!/bin/sh\necho tool\n", 0o755);
  file("usr/bin/su-helper", "setuid\n", 0o4755);
  execFileSync("chown", ["1234:5678", join(root, "usr/bin/su-helper")]);
  execFileSync("chmod", ["4755", join(root, "usr/bin/su-helper")]);
  file("usr/share/doc/pkg/README", "docs\n");
  file("usr/share/doc/pkg/copyright", "copyright\n");
  file("usr/share/locale/de/LC_MESSAGES/x.mo", "de\n");
  file("usr/share/locale/en_US/LC_MESSAGES/x.mo", "en\n");
  file("var/cache/apt/pkgcache.bin", Buffer.alloc(5000, 7));
  file("var/lib/data.bin", Buffer.alloc(70000, 3));
  // three links of one file, in different directories; one of them gets excluded by tests
  file("usr/lib/libhard.so.1", "hardlinked content\n");
  linkSync(join(root, "usr/lib/libhard.so.1"), join(root, "usr/bin/hard-a"));
  linkSync(join(root, "usr/lib/libhard.so.1"), join(root, "var/cache/hard-b"));
  symlinkSync("usr/bin", join(root, "bin"));
  symlinkSync("/usr/lib/libhard.so.1", join(root, "usr/lib/libhard.so"));
  execFileSync("mknod", [join(root, "dev-null"), "c", "1", "3"]);
  execFileSync("mkfifo", [join(root, "run-fifo")]);
  // a name that is not UTF-8: bytes 0xff 0xfe must reach the archive unchanged
  writeFileSync(Buffer.concat([Buffer.from(`${root}/odd-`), RAW_NAME_BYTES, Buffer.from("-name")]), "raw\n");
  mkdirSync(join(root, "tmp"), { mode: 0o1777 });
  execFileSync("chmod", ["1777", join(root, "tmp")]);
  utimesSync(join(root, "etc/hostname"), new Date("1999-01-01T00:00:00Z"), new Date("1999-01-01T00:00:00Z"));
}
