import { leaf, output } from "../../cli/command";
import { copyImageRows } from "../../core/defs/image";

export default leaf({
  name: "image copy",
  description: "copy an image's definition (and litefile rows) to a new name; files are shared until changed",
  args: {
    src: { type: "positional", description: "existing image" },
    dst: { type: "positional", description: "new image name" },
  },
  examples: ["xcimg image copy rocky9-x86_64-netboot-compute rocky9-x86_64-netboot-canary"],
  run(ctx, args) {
    const img = copyImageRows(ctx.db(), args.src, args.dst);
    ctx.log.info(`Copied image ${args.src} to ${args.dst}.`);
    return output({ image: img.name, from: args.src, attrs: img.attrs }, "");
  },
});
