import { leaf, output } from "../cli/command";
import { imageOperation } from "../cli/shared";
import type { Context } from "../core/context";
import { findImage } from "../core/defs/image";
import { ExitCode, NotFoundError, UsageError } from "../core/errors";
import { validateImageName } from "../core/names";
import { expandNoderangeInterruptibly } from "../core/noderange/interruptible";
import { afterImageChange } from "../core/provenance/hooks";
import { imageLiteEntries, lsliteLine } from "../provmethods/statelite/litefile";
import { nodeLiteLines, nodeLiteListing } from "../provmethods/statelite/node-list";

export default leaf({
  name: "lite",
  description: "prepare a statelite image from the litefile table (xCAT liteimg); --list is lslite",
  args: {
    osimage: { type: "positional", description: "a statelite image (with --list: an image, else a noderange)" },
    list: {
      type: "boolean",
      description:
        "print the image's statelite entries (xCAT lslite -i), or for nodes their image, litefile, litetree and statelite values (lslite <noderange>); change nothing",
    },
    nodes: { type: "boolean", description: "with --list: read the argument as a noderange even when an image has that name" },
    nosyncfiles: { type: "boolean", description: "do not apply the image's synclists into the tree" },
  },
  readOnly: (args) => args.list,
  examples: [
    "xcimg table set litefile image=ALL,file=/var/log/ options=persistent",
    "xcimg lite rocky9-x86_64-statelite-compute",
    "xcimg lite --list rocky9-x86_64-statelite-compute",
    "xcimg lite --list cn[001-004]     # per node, xCAT lslite <noderange>",
  ],
  async run(ctx, args) {
    if (args.nodes && !args.list) throw new UsageError("--nodes goes with --list");
    if (args.list && (args.nodes || !findImage(ctx.db(), args.osimage))) {
      const nodes = await listedNodes(ctx, args.osimage, args.nodes);
      const res = nodeLiteListing(ctx.db(), ctx.config, nodes);
      for (const [n, reason] of Object.entries(res.failed)) ctx.log.error(`${n}: ${reason}`);
      return output(res, res.nodes.flatMap(nodeLiteLines), Object.keys(res.failed).length ? ExitCode.PARTIAL : ExitCode.OK);
    }
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

/** The nodes of `lite --list <noderange>`; a name that is neither an image nor nodes gets lslite -i's message. */
async function listedNodes(ctx: Context, expr: string, nodesOnly: boolean | undefined): Promise<string[]> {
  try {
    return await expandNoderangeInterruptibly(ctx, expr);
  } catch (e) {
    if (nodesOnly || !(e instanceof NotFoundError)) throw e;
    throw new NotFoundError(`The osimage named '${expr}' is not defined.`, { hint: `nor does it name defined nodes (${e.message})` });
  }
}
