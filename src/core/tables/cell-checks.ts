import { IMAGE_TYPE } from "../defs/image";
import { NODE_TYPE } from "../defs/node";
import type { AttrSpec } from "../defs/object";
import { isRegexAttr } from "../defs/regex-attrs";
import { XcimgError } from "../errors";
import { CONTROL_CHARS, groupNameProblem, imageNameProblem, nodeNameProblem, printable } from "../names";

/**
 * The checks `node set` and `image set` apply to an attribute, applied to a table cell: what
 * `table restore` and `table set` run on every value, so a tabdump file cannot put into the
 * database a node name, MAC, image name or kernel argument that `node set` would refuse. (The
 * boot writers check again when they use a value, for databases filled some other way.)
 */
const NODE_KEYED = new Set(["nodelist", "nodetype", "noderes", "nodehm", "mac", "hosts", "chain", "bootparams", "postscripts", "statelite"]);

/** Free text that never reaches a path or a boot file, and which tabdump may carry over several lines. */
const FREE_TEXT = new Set(["comments"]);

const attrByColumn = new Map<string, AttrSpec>();
for (const type of [NODE_TYPE, IMAGE_TYPE]) {
  for (const spec of Object.values(type.attrs)) if (!attrByColumn.has(`${spec.table}.${spec.column}`)) attrByColumn.set(`${spec.table}.${spec.column}`, spec);
}

/** Why `table.column = value` cannot be stored, or null. */
export function cellProblem(table: string, column: string, value: string): string | null {
  if (value === "") return null;
  if (FREE_TEXT.has(column)) return null;
  if (CONTROL_CHARS.test(value)) return `${table}.${column} '${printable(value)}' contains a control character (newline, tab, ...)`;
  if (column === "node" && NODE_KEYED.has(table)) return nodeNameProblem(value);
  if (table === "nodegroup" && column === "groupname") return groupNameProblem(value);
  if ((table === "osimage" || table === "linuximage") && column === "imagename") return imageNameProblem(value);
  // xCAT's |regex|replacement| values are computed per node; their results are checked where used
  if (isRegexAttr(value)) return null;
  const spec = attrByColumn.get(`${table}.${column}`);
  if (!spec?.validate) return null;
  try {
    const problem = spec.validate(value);
    return problem ? `invalid ${table}.${column} '${printable(value)}': ${problem}` : null;
  } catch (e) {
    if (e instanceof XcimgError) return e.message; // validators of name lists throw the name's own message
    throw e;
  }
}

/** The spelling a valid cell is stored with (`ppc64el` → `ppc64le`, core/arch.ts), as `node set` stores it. */
export function normalizeCell(table: string, column: string, value: string): string {
  if (value === "" || isRegexAttr(value)) return value;
  return attrByColumn.get(`${table}.${column}`)?.normalize?.(value) ?? value;
}
