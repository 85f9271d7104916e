import { leaf, output } from "../../cli/command";
import { readNodes } from "../../core/defs/node";
import { pick, stanza } from "../../core/defs/object";
import { formatStanzaFile } from "../../core/defs/stanza-file";
import { expandNoderangeInterruptibly } from "../../core/noderange/interruptible";

export default leaf({
  name: "node show",
  description: "show nodes' attributes as lsdef does (-z: as a stanza file 'node set -z' reads back)",
  args: {
    noderange: { type: "positional", description: "nodes, in xCAT noderange syntax" },
    stanza: { type: "boolean", alias: "z", description: "write xCAT's stanza file format (lsdef -z)" },
    attrs: { type: "string", alias: "i", description: "only these attributes, comma-separated (lsdef -i)", valueHint: "attr,..." },
  },
  readOnly: true,
  examples: ["xcimg node show cn001", "xcimg node show compute --json", "xcimg node show -z cn001 > cn001.stanza"],
  async run(ctx, args) {
    const db = ctx.db();
    const nodes = await expandNoderangeInterruptibly(ctx, args.noderange);
    const attrs = readNodes(db, nodes);
    const data: Record<string, Record<string, string>> = {};
    for (const n of nodes) data[n] = pick(attrs.get(n) ?? {}, args.attrs);
    if (args.stanza)
      return output(
        data,
        formatStanzaFile(
          "node",
          nodes.map((n) => [n, data[n] ?? {}] as const),
        ),
      );
    return output(data, nodes.map((n) => stanza(n, data[n] ?? {})).join("\n\n"));
  },
});
