import { leaf, output } from "../../cli/command";
import { getImage } from "../../core/defs/image";
import { stanza } from "../../core/defs/object";

export default leaf({
  name: "image show",
  description: "show an image's attributes as lsdef does (osimage + linuximage)",
  args: { osimage: { type: "positional", description: "image name" } },
  examples: ["xcimg image show rocky9-x86_64-netboot-compute", "xcimg image show rocky9-x86_64-netboot-compute --json"],
  run(ctx, args) {
    const img = getImage(ctx.db(), args.osimage);
    return output({ [img.name]: img.attrs }, stanza(img.name, img.attrs));
  },
});
