import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "db", description: "the database itself: copy a site between SQLite and PostgreSQL (dumpxCATdb/restorexCATdb)" },
  subCommands: {
    copy: () => import("./copy").then((m) => m.default),
  },
});
