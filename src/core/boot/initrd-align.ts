/**
 * Linux unpacks its initramfs as a sequence of archives (Documentation/driver-api/
 * early-userspace/buffer-format.rst; init/initramfs.c unpack_to_rootfs): compressed ones may
 * start anywhere, but an uncompressed cpio is recognised only at an offset that is a multiple
 * of 4 from the start of the buffer — elsewhere its "070701" reads as "invalid magic at start
 * of compressed archive" and the rest is dropped. iPXE (BIOS), GRUB and pxelinux pad every
 * initrd to 4 bytes; the kernel's EFI stub, loading `initrd=` files from UEFI iPXE, does not
 * (drivers/firmware/efi/libstub/file.c puts them end to end). So a node's uncompressed
 * overlay, the last initrd, is lost on UEFI whenever the gzip'd ones before it add up to a
 * length that is not a multiple of 4 — a different answer after every pack
 * (test/e2e/dhcp-uefi-boot.test.ts found it).
 *
 * The fix keeps every file a valid gzip stream for every tool: the generated initrd before
 * the overlay gets a gzip FNAME field (RFC 1952 §2.3.1) of the length that makes the sum a
 * multiple of 4 — FNAME being the one optional header field Linux's own inflate skips
 * (lib/decompress_inflate.c).
 */
export function alignGzipAfter(gz: Buffer, before: number): Buffer {
  if (gz.length < 18 || gz[0] !== 0x1f || gz[1] !== 0x8b || gz[3] !== 0)
    throw new Error("internal: alignGzipAfter wants a gzip stream without optional fields");
  const need = (4 - ((before + gz.length) % 4)) % 4;
  if (need === 0) return gz;
  // name + NUL: 1 → 5 bytes ("init"), 2 → 2 ("i"), 3 → 3 ("in")
  const name = Buffer.from(`${"init".slice(0, need === 1 ? 4 : need - 1)}\0`);
  return Buffer.concat([gz.subarray(0, 3), Buffer.from([0x08]), gz.subarray(4, 10), name, gz.subarray(10)]);
}
