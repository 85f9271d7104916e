import type { Row } from "../db/rows";
import { IMAGE_TYPE } from "../defs/image";
import { inertAttrs } from "../defs/inert-attrs";
import { NODE_TYPE } from "../defs/node";

/**
 * The columns among `rows` that hold a value xcimg keeps without acting on it (defs/inert-attrs.ts),
 * as table.column, for `table set` and `table restore` to warn about once.
 */
export function inertColumns(table: string, rows: readonly Row[]): string[] {
  const out = new Set<string>();
  for (const [kind, type] of [
    ["node", NODE_TYPE],
    ["osimage", IMAGE_TYPE],
  ] as const) {
    for (const [attr, spec] of Object.entries(type.attrs)) {
      if (spec.table !== table) continue;
      if (rows.some((r) => r[spec.column]) && inertAttrs(kind, { [attr]: "x" }).length) out.add(`${table}.${spec.column}`);
    }
  }
  return [...out].sort();
}
