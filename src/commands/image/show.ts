import { leaf, output } from "../../cli/command";
import { getImage } from "../../core/defs/image";
import { stanza } from "../../core/defs/object";
import { manifestLines, viewManifest } from "../../core/provenance/show";

export default leaf({
  name: "image show",
  description: "show an image's attributes as lsdef does (osimage + linuximage); --manifest its provenance manifest",
  args: {
    osimage: { type: "positional", description: "image name" },
    manifest: { type: "boolean", description: "print the image manifest: identity, digests, packages, origin (docs/provenance.md)" },
  },
  examples: [
    "xcimg image show rocky9-x86_64-netboot-compute",
    "xcimg image show rocky9-x86_64-netboot-compute --json",
    "xcimg image show rocky9-x86_64-netboot-compute --manifest",
  ],
  run(ctx, args) {
    const img = getImage(ctx.db(), args.osimage);
    if (args.manifest) {
      const v = viewManifest(ctx, img);
      return output(v, manifestLines(v));
    }
    return output({ [img.name]: img.attrs }, stanza(img.name, img.attrs));
  },
});
