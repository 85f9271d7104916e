import { leaf, output } from "../../cli/command";
import { imageOperation } from "../../cli/shared";

export default leaf({
  name: "image layout",
  description: "show the disk layout clone recreates from an image, or set it from a file",
  args: {
    osimage: { type: "positional", description: "image name" },
    set: { type: "string", description: "set the layout from this file (the output of 'xcimg --json image layout')" },
  },
  readOnly: (args) => args.set === undefined,
  examples: [
    "xcimg image layout golden-2024-06",
    "xcimg --json image layout golden-2024-06 > layout.json",
    "xcimg image layout imported-image --set layout.json   # clone it without its golden node (docs/clone.md)",
  ],
  async run(ctx, args) {
    const { image, fn } = await imageOperation(ctx, args.osimage, "layout");
    const r = await fn(ctx, image, { set: args.set });
    return output(r, [...(r.set ? [`Set the disk layout of ${r.image} from ${args.set}:`] : []), ...r.summary]);
  },
});
