import { leaf, output } from "../../cli/command";
import { copyImage } from "../../core/image/copy";

export default leaf({
  name: "image copy",
  description: "copy an image: its definition, litefile rows and its root tree, into a directory of its own",
  args: {
    src: { type: "positional", description: "existing image" },
    dst: { type: "positional", description: "new image name" },
    link: { type: "boolean", description: "hard-link the tree instead of copying it (instant; in-place edits show in both)" },
    definitionOnly: { type: "boolean", description: "copy the definition only; the copy's directory starts empty (capture into it)" },
  },
  examples: [
    "xcimg image copy rocky9-x86_64-netboot-compute rocky9-x86_64-netboot-canary",
    "xcimg image copy --link rocky9-x86_64-netboot-compute canary",
    "xcimg image copy --definition-only rocky9-x86_64-netboot-compute fresh",
  ],
  async run(ctx, args) {
    const res = await copyImage(ctx, args.src, args.dst, { link: args.link, definitionOnly: args.definitionOnly });
    ctx.log.info(`Copied image ${args.src} to ${args.dst}${res.rootimgdir ? ` (rootimgdir ${res.rootimgdir})` : ""}.`);
    return output({ image: res.image.name, from: args.src, attrs: res.image.attrs, rootimgdir: res.rootimgdir, treeCopied: res.copied }, "");
  },
});
