import { argumentError } from "../../cli/args";
import { leaf, output } from "../../cli/command";
import { setDynamicGroup, setStaticGroup } from "../../core/defs/group";
import type { ListMode } from "../../core/defs/list-edit";
import { expandNoderangeInterruptibly } from "../../core/noderange/interruptible";

export default leaf({
  name: "group set",
  description: "define a group: members=<noderange> (static), or -d/grouptype=dynamic with -w conditions",
  args: {
    group: { type: "positional", description: "group name" },
    assignments: { type: "positional", variadic: true, required: false, description: "members=<noderange>, grouptype=static|dynamic", valueHint: "attr=value" },
    dynamic: { type: "boolean", alias: "d", description: "a dynamic group (mkdef -t group -d)" },
    where: { type: "string", alias: "w", multiple: true, description: "condition of a dynamic group: attr==v, attr!=v, attr=~re, attr!~re", valueHint: "cond" },
    plus: { type: "boolean", alias: "p", description: "add members or conditions (chdef -p)" },
    minus: { type: "boolean", alias: "m", description: "remove members or conditions (chdef -m)" },
  },
  examples: ["xcimg group set gpu members=cn[001-004]", "xcimg group set -p gpu members=cn005", "xcimg group set ipminodes -d -w mgt==ipmi -w arch==x86_64"],
  async run(ctx, args) {
    if (args.plus && args.minus) throw argumentError("-p and -m cannot be used together");
    const mode: ListMode = args.plus ? "append" : args.minus ? "remove" : "replace";
    let members: string | undefined;
    let dynamic = args.dynamic;
    for (const a of args.assignments) {
      const eq = a.indexOf("=");
      const [k, v] = eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, ""];
      if (k === "members") members = v;
      else if (k === "grouptype" && (v === "dynamic" || v === "static")) dynamic = v === "dynamic";
      else if (k === "wherevals") args.where.push(...v.split("::").filter(Boolean));
      else
        throw argumentError(`'${a}' is not members=, grouptype= or wherevals=`, {
          hint: "a group's other attributes are set on it with 'xcimg node set <group> attr=value'",
        });
    }
    const db = ctx.db();
    if (dynamic || args.where.length) {
      if (members !== undefined) throw argumentError("Cannot use a list of members together with the '-w' option.");
      if (!args.where.length && mode !== "remove") throw argumentError("a dynamic group needs at least one -w condition");
      setDynamicGroup(db, args.group, args.where, mode);
      return output({ group: args.group, grouptype: "dynamic", where: args.where }, "");
    }
    if (members === undefined) throw argumentError("give members=<noderange>, or -d with -w conditions");
    const nodes = members === "" ? [] : await expandNoderangeInterruptibly(ctx, members);
    setStaticGroup(db, args.group, nodes, mode);
    ctx.log.info(`Group ${args.group}: ${nodes.length} node(s) ${mode === "remove" ? "removed" : mode === "append" ? "added" : "set"}.`);
    return output({ group: args.group, grouptype: "static", members: nodes }, "");
  },
});
