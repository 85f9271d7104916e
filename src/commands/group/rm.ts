import { leaf, output } from "../../cli/command";
import { removeGroup } from "../../core/defs/group";

export default leaf({
  name: "group rm",
  description: "remove a group: its nodegroup row, and the group from every node's groups (rmdef -t group)",
  args: { group: { type: "positional", description: "group name" } },
  examples: ["xcimg group rm gpu"],
  run(ctx, args) {
    removeGroup(ctx.db(), args.group);
    ctx.log.info(`Removed group ${args.group}.`);
    return output({ removed: args.group }, "");
  },
});
