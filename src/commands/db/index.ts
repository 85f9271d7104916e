import { defineCommand } from "citty";
import { lazy } from "../../cli/command";

export default defineCommand({
  meta: { name: "db", description: "the database itself: copy a site between SQLite and PostgreSQL (dumpxCATdb/restorexCATdb)" },
  subCommands: {
    copy: lazy(() => import("./copy")),
  },
});
