import { leaf, output } from "../cli/command";
import { imageOperation } from "../cli/shared";

export default leaf({
  name: "lite",
  description: "prepare a statelite image from the litefile table (xCAT liteimg); --list is lslite -i",
  args: {
    osimage: { type: "positional", description: "a statelite image" },
    list: { type: "boolean", description: "print the image's statelite entries (xCAT lslite -i) and change nothing" },
  },
  examples: ["xcimg lite rocky9-x86_64-statelite-compute", "xcimg lite --list rocky9-x86_64-statelite-compute"],
  async run(ctx, args) {
    const { image, fn } = await imageOperation(ctx, args.osimage, "lite");
    const result = await fn(ctx, image, { list: args.list });
    return output(result, String((result as { summary?: string })?.summary ?? ""));
  },
});
