import { leaf, output } from "../../cli/command";
import { readGroup } from "../../core/defs/group";
import { stanza } from "../../core/defs/object";
import { NotFoundError } from "../../core/errors";

export default leaf({
  name: "group show",
  description: "show a group's type, members and conditions as lsdef -t group does",
  args: { group: { type: "positional", description: "group name" } },
  readOnly: true,
  examples: ["xcimg group show compute"],
  run(ctx, args) {
    const g = readGroup(ctx.db(), args.group);
    if (!g) throw new NotFoundError(`Could not find an object named '${args.group}' of type 'group'.`);
    const attrs: Record<string, string> = { grouptype: g.grouptype, members: g.members.join(",") };
    if (g.wherevals !== undefined) attrs.wherevals = g.wherevals;
    return output({ [args.group]: { ...g } }, stanza(args.group, attrs));
  },
});
