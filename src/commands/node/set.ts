import { argumentError } from "../../cli/args";
import { leaf, output } from "../../cli/command";
import { readInput } from "../../cli/input";
import type { Context } from "../../core/context";
import { inertAttrs, inertWarning } from "../../core/defs/inert-attrs";
import { type ListMode, listChange, resolveListEdits, splitListEdits } from "../../core/defs/list-edit";
import { listNodes, NODE_TYPE, setNodes } from "../../core/defs/node";
import { renameNode } from "../../core/defs/node-rename";
import type { Attrs } from "../../core/defs/object";
import { parseAssignments } from "../../core/defs/object";
import { parseStanzaFile } from "../../core/defs/stanza-file";
import { withoutXcatDefaults } from "../../core/defs/xcatdefaults";
import { DataError } from "../../core/errors";
import { nodeNameProblem } from "../../core/names";
import { expandNoderangeInterruptibly } from "../../core/noderange/interruptible";

export default leaf({
  name: "node set",
  description: "create nodes or change their attributes (xCAT mkdef/chdef); attr= clears one, attr,=v adds to a list, attr^=v removes",
  args: {
    noderange: {
      type: "positional",
      required: false,
      description: "nodes, in xCAT noderange syntax; new names are created (with -z: the stanza file, default stdin)",
    },
    assignments: {
      type: "positional",
      variadic: true,
      required: false,
      description: "attr=value, attr,=value (add to the list), attr^=value (remove)",
      valueHint: "attr=value",
    },
    plus: { type: "boolean", alias: "p", description: "add the values to the comma-separated lists already stored (chdef -p)" },
    minus: { type: "boolean", alias: "m", description: "remove the values from the lists already stored (chdef -m)" },
    rename: { type: "string", alias: "n", description: "rename the node, moving its rows in every table (chdef -n)", valueHint: "newname" },
    create: { type: "boolean", description: "only create: refuse nodes that already exist (xCAT mkdef)" },
    stanza: { type: "boolean", alias: "z", description: "read node definitions from a stanza file or stdin ('node show -z' output); all or nothing" },
  },
  examples: [
    "xcimg node set cn[001-128] groups=compute,all netboot=xnba arch=x86_64",
    "xcimg node set cn001 mac=52:54:00:12:34:01 ip=10.0.0.101",
    "xcimg node set compute serialport=0 serialspeed=115200 addkcmdline='quiet'",
    "xcimg node set -p cn[001-004] groups=gpu",
    "xcimg node set cn001 groups,=rack1 postscripts^=setupntp",
    "xcimg node set cn001 -n cn101",
    "xcimg node show -z cn001 | sed s/cn001/cn002/ | xcimg node set -z",
  ],
  async run(ctx, args) {
    if (args.plus && args.minus) throw argumentError("-p and -m cannot be used together");
    const db = ctx.db();
    if (args.stanza) {
      if (args.assignments.length || args.rename !== undefined) throw argumentError("-z reads everything from the stanza file: no attr=value or -n with it");
      const input = readInput(args.noderange);
      const stanzas = parseStanzaFile(input.text, input.name, NODE_TYPE, nodeNameProblem);
      const mode: ListMode = args.plus ? "append" : args.minus ? "remove" : "replace";
      const names = stanzas.map((s) => s.name);
      if (args.create) refuseExisting(listNodes(db), names);
      // -p/-m edit what each node stores: resolved inside setNodes' write transaction
      const byName = new Map(stanzas.map((s) => [s.name, listChange(s.attrs, [], mode)]));
      warnInert(
        ctx,
        stanzas.map((s) => s.attrs),
      );
      const dedupe = withoutXcatDefaults(db);
      const { created } = setNodes(db, names, (n) => {
        const change = byName.get(n) ?? { attrs: {}, edits: [] };
        return dedupe(n, resolveListEdits(db, NODE_TYPE, n, change.attrs, change.edits), ctx.log.warn);
      });
      ctx.log.info(`${names.length} node(s) set from ${input.name}${created.length ? `, ${created.length} created` : ""}.`);
      return output({ nodes: names, created }, "");
    }
    if (args.noderange === undefined) throw argumentError("missing NODERANGE");
    if (args.rename !== undefined) {
      if (args.assignments.length || args.plus || args.minus)
        throw argumentError("-n renames a node and takes no attr=value", { hint: "rename first, then set attributes" });
      const moved = renameNode(db, args.noderange, args.rename);
      ctx.log.info(`Renamed node ${args.noderange} to ${args.rename} (${moved.join(", ")}).`);
      return output({ from: args.noderange, to: args.rename, tables: moved }, "");
    }
    if (args.assignments.length === 0) throw argumentError("missing ASSIGNMENTS");
    const { plain, edits: listEdits } = splitListEdits(NODE_TYPE, args.assignments);
    const attrs = parseAssignments(NODE_TYPE, plain);
    const nodes = await expandNoderangeInterruptibly(ctx, args.noderange, { verify: false });
    if (args.create) refuseExisting(listNodes(db), nodes);
    const mode: ListMode = args.plus ? "append" : args.minus ? "remove" : "replace";
    warnInert(ctx, [attrs, Object.fromEntries(listEdits.map((e) => [e.attr, e.value]))]);
    const change = listChange(attrs, listEdits, mode);
    const dedupe = withoutXcatDefaults(db);
    // the edits read each node's row inside setNodes' write transaction: concurrent appends both land
    const { created } = setNodes(db, nodes, (n) => dedupe(n, resolveListEdits(db, NODE_TYPE, n, change.attrs, change.edits), ctx.log.warn));
    ctx.log.info(`${nodes.length} node(s) set${created.length ? `, ${created.length} created` : ""}.`);
    return output({ nodes, created, attrs }, "");
  },
});

/** mkdef's refusal (xCAT-server/lib/xcat/plugins/DBobjectdefs.pm defmk): a definition is never silently merged into. */
function refuseExisting(existing: readonly string[], names: readonly string[]): void {
  const have = new Set(existing);
  const clash = names.filter((n) => have.has(n));
  if (clash.length) {
    throw new DataError(`A definition for '${clash.slice(0, 10).join(",")}${clash.length > 10 ? ",..." : ""}' already exists.`, {
      hint: "change it with 'xcimg node set' (chdef), or remove it first",
    });
  }
}

/** Once per command: the attributes given that xcimg keeps but does not act on. */
function warnInert(ctx: Context, given: readonly Attrs[]): void {
  const names = new Set<string>();
  for (const a of given) for (const n of inertAttrs("node", a)) names.add(n);
  const w = inertWarning([...names].sort());
  if (w) ctx.log.warn(w);
}
