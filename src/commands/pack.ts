import { leaf, output } from "../cli/command";
import { imageOperation } from "../cli/shared";
import { afterImageChange } from "../core/provenance/hooks";

export default leaf({
  name: "pack",
  description: "pack an image's root tree into the archive nodes boot from (xCAT packimage)",
  args: {
    osimage: { type: "positional", description: "the image to pack" },
    method: { type: "string", alias: "m", description: "archive method: cpio (default), tar or squashfs" },
    compress: { type: "string", alias: "c", description: "compression: gzip (default; pigz is the same), zstd or xz" },
    nosyncfiles: { type: "boolean", description: "do not apply the image's synclists into the tree first (packimage --nosyncfiles)" },
  },
  examples: [
    "xcimg pack rocky9-x86_64-netboot-compute            # cpio + gzip on all cores, kernel and initrd-stateless.gz beside it",
    "xcimg pack rocky9-x86_64-netboot-compute -c zstd    # faster and smaller; boots on kernels with zstd initramfs support",
    "xcimg pack rocky9-x86_64-netboot-compute -m tar -c xz   # keeps file capabilities, xattrs, files over 4 GiB",
    "xcimg table set passwd key=system,username=root password=s3cret   # the next pack sets root's /etc/shadow line from it",
  ],
  async run(ctx, args) {
    const { image, fn } = await imageOperation(ctx, args.osimage, "pack");
    const result = await fn(ctx, image, { method: args.method, compress: args.compress, nosyncfiles: args.nosyncfiles });
    afterImageChange(ctx, image.name);
    return output(result, result.summary);
  },
});
