import { leaf, output } from "../cli/command";
import { imageOperation } from "../cli/shared";
import { findImage } from "../core/defs/image";
import { NotFoundError } from "../core/errors";
import { validateImageName } from "../core/names";
import { afterImageChange } from "../core/provenance/hooks";
import { imageLiteEntries, lsliteLine } from "../provmethods/statelite/litefile";

export default leaf({
  name: "lite",
  description: "prepare a statelite image from the litefile table (xCAT liteimg); --list is lslite -i",
  args: {
    osimage: { type: "positional", description: "a statelite image" },
    list: { type: "boolean", description: "print the image's statelite entries (xCAT lslite -i) and change nothing" },
    nosyncfiles: { type: "boolean", description: "do not apply the image's synclists into the tree" },
  },
  readOnly: (args) => args.list,
  examples: [
    "xcimg table set litefile image=ALL,file=/var/log/ options=persistent",
    "xcimg lite rocky9-x86_64-statelite-compute",
    "xcimg lite --list rocky9-x86_64-statelite-compute",
  ],
  async run(ctx, args) {
    if (args.list) {
      // lslite -i works on any defined osimage, whatever its provmethod
      if (!findImage(ctx.db(), validateImageName(args.osimage))) throw new NotFoundError(`The osimage named '${args.osimage}' is not defined.`);
      const entries = imageLiteEntries(ctx.db(), args.osimage);
      return output(entries, entries.map(lsliteLine));
    }
    // an image of another provmethod gets liteimg's words (statelite's refuseOthers, provmethods/registry.ts)
    const { image, fn } = await imageOperation(ctx, args.osimage, "lite");
    const result = await fn(ctx, image, { nosyncfiles: args.nosyncfiles });
    afterImageChange(ctx, image.name);
    return output(result, "");
  },
});
