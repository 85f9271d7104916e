import { leaf, output } from "../../cli/command";
import { dropSnapshot, makeSnapshot } from "../../core/sn/mn-snapshot";
import { recordNames, recordSync } from "../../core/sn/sync-record";

export default leaf({
  name: "sn snapshot",
  description: "on the management node: a consistent copy of the definitions for a service node's 'sn sync' (run by it over SSH)",
  args: {
    drop: { type: "string", description: "remove a snapshot a service node has fetched (the path this command printed)" },
    sn: { type: "string", description: "the asking service node's names, comma-separated: noted for 'xcimg sn status' ('sn sync' passes them)" },
  },
  readOnly: true,
  examples: ["xcimg --json sn snapshot          # what 'sn sync' runs on the MN: VACUUM INTO a private file, prints its path and digest"],
  run(ctx, args) {
    if (args.drop) {
      const dropped = dropSnapshot(ctx.config, args.drop);
      return output({ dropped }, dropped ? `removed ${args.drop}` : `${args.drop} was already gone`);
    }
    const names = recordNames(args.sn ?? "");
    const snap = makeSnapshot(ctx.config, ctx.log);
    if (names.length) recordSync(ctx.config, ctx.db(), names, snap);
    return output(snap, [`${snap.path} ${snap.size} bytes sha256:${snap.sha256}`]);
  },
});
