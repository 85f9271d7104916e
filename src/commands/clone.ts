import { leaf, output } from "../cli/command";
import { imageOperation } from "../cli/shared";
import { UsageError } from "../core/errors";
import { expandNoderange } from "../core/noderange/index";
import { dbNodeSource } from "../core/noderange/db-source";

export default leaf({
  name: "clone",
  description: "deploy a sysclone image onto diskful nodes (partition, copy, bootloader, identity)",
  args: {
    noderange: { type: "positional", description: "nodes to clone, in xCAT noderange syntax" },
    osimage: { type: "string", alias: "o", description: "the sysclone image" },
    dryRun: { type: "boolean", description: "show each node's disk plan and change nothing" },
    status: { type: "boolean", description: "show each node's clone progress" },
  },
  examples: ["xcimg clone cn[001-128] -o golden-2024-06", "xcimg clone rack3 -o golden-2024-06 --dry-run", "xcimg clone rack3 --status"],
  async run(ctx, args) {
    const nodes = expandNoderange(args.noderange, dbNodeSource(ctx.db()), { env: ctx.env });
    if (!args.osimage) throw new UsageError("clone needs -o <osimage>");
    const { image, fn } = await imageOperation(ctx, args.osimage, "clone");
    const result = await fn(ctx, image, { nodes, dryRun: args.dryRun, status: args.status });
    return output(result, String((result as { summary?: string })?.summary ?? ""));
  },
});
