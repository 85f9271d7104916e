import { argumentError } from "../../cli/args";
import { leaf, output } from "../../cli/command";
import { removeImage } from "../../core/image/remove";

export default leaf({
  name: "image rm",
  description: "remove an image's definition; --files also removes its root tree, packed images and boot files",
  args: {
    osimage: { type: "positional", description: "image name" },
    files: { type: "boolean", description: "also remove rootimg, packed images and tftpdir/xcat/osimage/<image>" },
    force: { type: "boolean", description: "with --files: remove them even while nodes are set to boot the image" },
    keepDefinition: { type: "boolean", description: "with --files: remove only the files and keep the definition (xCAT rmimage)" },
  },
  examples: ["xcimg image rm old-image", "xcimg image rm old-image --files", "xcimg image rm old-image --files --keep-definition"],
  async run(ctx, args) {
    if (args.keepDefinition && !args.files) throw argumentError("--keep-definition needs --files: without files there is nothing to remove");
    const res = await removeImage(ctx, args.osimage, { files: args.files, keepDefinition: args.keepDefinition, force: args.force });
    if (args.keepDefinition) {
      // rmimage's words (xCAT-test/autotest/testcase/rmimage/case0)
      for (const p of res.removed) ctx.log.info(`Removing ${res.directories.includes(p) ? "directory" : "file"} ${p}`);
      ctx.log.info("Image files have been removed successfully from this management node.");
      return output(res, "");
    }
    for (const p of res.removed) ctx.log.info(`Removed ${p}`);
    ctx.log.info(`Removed image ${args.osimage}.`);
    return output(res, "");
  },
});
