import { leaf, output } from "../../cli/command";
import { type SnStatus, snStatus } from "../../core/sn/status";

export default leaf({
  name: "sn status",
  description: "on the management node: each service node, the nodes it serves, its last sync and what it lags behind",
  args: {},
  readOnly: true,
  examples: [
    "xcimg sn status              # sn1: 12 node(s), image rocky9-...; last sync 2026-...Z; behind: rocky9-... (changed ...)",
    "xcimg --json sn status",
  ],
  run(ctx) {
    const sns = snStatus(ctx.config, ctx.db());
    return output({ sns }, sns.length ? sns.map(line) : ["no service node: none in the servicenode table or any node's noderes.servicenode"]);
  },
});

function line(s: SnStatus): string {
  const head = `${s.sn}: ${s.nodes.length} node(s)${s.images.length ? `, image(s) ${s.images.join(",")}` : ""}`;
  if (!s.lastSync || !s.behind) return `${head}; never synced`;
  const defs = s.behind.tables?.length ? [`tables ${s.behind.tables.join(",")}`] : s.behind.definitions ? ["definitions"] : [];
  const lag = [...defs, ...s.behind.images.map((i) => `${i.image} (${i.why})`)];
  const f = s.lastSync.finished;
  const end = f ? (f.exit === 0 ? "completed" : `completed with problems (exit ${f.exit})`) : "did not complete (or is running)";
  return `${head}; last sync ${s.lastSync.at}${s.lastSync.from ? ` from ${s.lastSync.from}` : ""}, ${end}; ${lag.length ? `behind: ${lag.join(", ")}` : "up to date"}`;
}
