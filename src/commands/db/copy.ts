import { leaf, output } from "../../cli/command";
import { copyDatabase } from "../../core/db/copy";
import { redactUrl } from "../../core/db/pg-driver";
import { isPostgresUrl } from "../../core/db/url";

const shown = (t: string) => (isPostgresUrl(t) ? redactUrl(t) : t);

export default leaf({
  name: "db copy",
  description: "copy every table from one database to another, SQLite ↔ PostgreSQL, all or nothing",
  args: {
    from: { type: "positional", description: "source: a SQLite file (or sqlite:///path) or postgresql://user@host:port/db" },
    to: { type: "positional", description: "target, the same forms; created and migrated when new" },
    replace: { type: "boolean", description: "overwrite target tables that already have rows (as restorexCATdb does)" },
  },
  examples: [
    "xcimg db copy /var/lib/xcimg/xcimg.db postgresql://xcatadm@mn1:5432/xcatdb",
    "xcimg db copy postgresql://xcatadm@mn1/xcatdb sqlite:///root/xcatdb-backup.db",
  ],
  run(ctx, args) {
    const r = copyDatabase(args.from, args.to, { replace: args.replace });
    for (const t of r.skipped) ctx.log.warn(`table ${t} is not one xcimg knows: not copied`);
    const total = r.tables.reduce((n, t) => n + t.rows, 0);
    ctx.log.info(`Copied ${total} row(s) in ${r.tables.length} tables from ${shown(args.from)} to ${shown(args.to)}.`);
    return output(
      r,
      r.tables.map((t) => `${t.table.padEnd(14)} ${t.rows}`),
    );
  },
});
