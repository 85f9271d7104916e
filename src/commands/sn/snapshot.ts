import { leaf, output } from "../../cli/command";
import { UsageError } from "../../core/errors";
import { dropSnapshot, makeSnapshot } from "../../core/sn/mn-snapshot";
import { recordFinished, recordNames, recordSync } from "../../core/sn/sync-record";

export default leaf({
  name: "sn snapshot",
  description: "on the management node: a consistent copy of the definitions for a service node's 'sn sync' (run by it over SSH)",
  args: {
    drop: { type: "string", description: "remove a snapshot a service node has fetched (the path this command printed)" },
    sn: { type: "string", description: "the asking service node's names, comma-separated: noted for 'xcimg sn status' ('sn sync' passes them)" },
    finished: { type: "string", description: "with --sn: the SN's sync of the snapshot with this SHA-256 ended ('sn sync' reports it)" },
    exit: { type: "string", description: "with --finished: the sync's exit code" },
  },
  readOnly: true,
  examples: ["xcimg --json sn snapshot          # what 'sn sync' runs on the MN: VACUUM INTO a private file, prints its path and digest"],
  run(ctx, args) {
    if (args.drop) {
      const dropped = dropSnapshot(ctx.config, args.drop);
      return output({ dropped }, dropped ? `removed ${args.drop}` : `${args.drop} was already gone`);
    }
    const names = recordNames(args.sn ?? "");
    if (args.finished !== undefined) {
      if (!names.length || !/^[0-9a-f]{64}$/.test(args.finished) || !/^\d{1,3}$/.test(args.exit ?? ""))
        throw new UsageError("--finished <sha256> goes with --sn <names> and --exit <code>");
      const noted = recordFinished(ctx.config, names, args.finished, Number(args.exit));
      return output({ noted }, noted ? `${names[0]}: sync noted as finished` : `${names[0]}: no record of that snapshot (a newer sync started)`);
    }
    const snap = makeSnapshot(ctx.config, ctx.log);
    if (names.length) recordSync(ctx.config, ctx.db(), names, snap);
    return output(snap, [`${snap.path} ${snap.size} bytes sha256:${snap.sha256}`]);
  },
});
