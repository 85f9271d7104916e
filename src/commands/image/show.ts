import { leaf, output } from "../../cli/command";
import { getImage } from "../../core/defs/image";
import { pick, stanza } from "../../core/defs/object";
import { formatStanzaFile } from "../../core/defs/stanza-file";
import { manifestLines, viewManifest } from "../../core/provenance/show";

export default leaf({
  name: "image show",
  description: "show an image's attributes as lsdef does (osimage + linuximage; -z: as a stanza file); --manifest its provenance manifest",
  args: {
    osimage: { type: "positional", description: "image name" },
    stanza: { type: "boolean", alias: "z", description: "write xCAT's stanza file format (lsdef -z), which 'image set -z' reads back" },
    attrs: { type: "string", alias: "i", description: "only these attributes, comma-separated (lsdef -i)", valueHint: "attr,..." },
    manifest: { type: "boolean", description: "print the image manifest: identity, digests, packages, origin (docs/provenance.md)" },
  },
  readOnly: true,
  examples: [
    "xcimg image show rocky9-x86_64-netboot-compute",
    "xcimg image show rocky9-x86_64-netboot-compute --json",
    "xcimg image show -z rocky9-x86_64-netboot-compute > rocky9.stanza",
    "xcimg image show rocky9-x86_64-netboot-compute --manifest",
  ],
  run(ctx, args) {
    const found = getImage(ctx.db(), args.osimage);
    if (args.manifest) {
      const v = viewManifest(ctx, found);
      return output(v, manifestLines(v));
    }
    const img = { name: found.name, attrs: pick(found.attrs, args.attrs) };
    if (args.stanza) return output({ [img.name]: img.attrs }, formatStanzaFile("osimage", [[img.name, img.attrs]]));
    return output({ [img.name]: img.attrs }, stanza(img.name, img.attrs));
  },
});
