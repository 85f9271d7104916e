import { leaf, output } from "../cli/command";
import { imageOperation } from "../cli/shared";
import { NotImplementedError, UsageError } from "../core/errors";
import { expandNoderange } from "../core/noderange/index";
import { dbNodeSource } from "../core/noderange/db-source";

export default leaf({
  name: "boot",
  description: "write per-node network-boot configs for an image (xCAT nodeset osimage=)",
  args: {
    noderange: { type: "positional", description: "nodes, in xCAT noderange syntax" },
    osimage: { type: "string", alias: "o", description: "the image the nodes boot next" },
    offline: { type: "boolean", description: "remove the nodes' boot configs instead" },
  },
  examples: ["xcimg boot cn[001-128] -o rocky9-x86_64-netboot-compute", "xcimg boot rack3,-cn017 -o rocky9-x86_64-statelite-compute", "xcimg boot cn001 --offline"],
  async run(ctx, args) {
    if (!args.osimage && !args.offline) throw new UsageError("boot needs -o <osimage> or --offline");
    if (args.osimage && args.offline) throw new UsageError("-o and --offline exclude each other");
    const nodes = expandNoderange(args.noderange, dbNodeSource(ctx.db()), { env: ctx.env });
    if (args.offline) throw new NotImplementedError("'boot --offline' is not implemented yet in this release of xcimg");
    const { image, fn } = await imageOperation(ctx, args.osimage as string, "boot");
    const result = await fn(ctx, image, { nodes });
    return output(result, String((result as { summary?: string })?.summary ?? ""));
  },
});
