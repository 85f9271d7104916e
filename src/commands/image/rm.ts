import { leaf, output } from "../../cli/command";
import { removeImage } from "../../core/image/remove";

export default leaf({
  name: "image rm",
  description: "remove an image's definition; --files also removes its root tree, packed images and boot files",
  args: {
    osimage: { type: "positional", description: "image name" },
    files: { type: "boolean", description: "also remove rootimg, packed images and tftpdir/xcat/osimage/<image>" },
  },
  examples: ["xcimg image rm old-image", "xcimg image rm old-image --files"],
  async run(ctx, args) {
    const res = await removeImage(ctx, args.osimage, { files: args.files });
    for (const p of res.removed) ctx.log.info(`Removed ${p}`);
    ctx.log.info(`Removed image ${args.osimage}.`);
    return output(res, "");
  },
});
