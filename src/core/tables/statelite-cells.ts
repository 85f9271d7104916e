import { isValidOption, VALID_OPTIONS } from "./litefile-options";

/**
 * Checks for single cells of litefile, litetree and statelite when an admin sets them with
 * `xcimg table set` (chtab): the mistakes `xcimg lite` or a booting node would otherwise find
 * much later. `table restore` does not call this, so a table dumped by xCAT always loads; lite
 * reports its problems then, in xCAT's words.
 */
export function checkStateliteCell(table: string, column: string, value: string): string | null {
  if (value === "") return null;
  switch (`${table}.${column}`) {
    case "litefile.options":
      return isValidOption(value) ? null : `'${value}' is not a litefile option; valid: ${VALID_OPTIONS.join(" ")}`;
    case "litefile.file":
      if (!value.startsWith("/")) return ` ${value} is not one absolute path. `;
      return /\s/.test(value) ? `litefile paths cannot contain white space` : null;
    case "litetree.priority":
      return /^\d+(\.\d+)?$/.test(value) ? null : "litetree priority is a number such as 1 or 1.5 (lower is searched first)";
    case "litetree.directory":
    case "statelite.statemnt":
      return /^([^\s:/]+:)?\/\S*$/.test(value) ? null : `${column} is [server:]/path, e.g. 10.0.0.1:/statelite or $noderes.nfsserver:/nodedata`;
    case "litetree.mntopts":
    case "statelite.mntopts":
      return /\s/.test(value) ? "mount options cannot contain white space (comma-separated, e.g. nolock,tcp)" : null;
    default:
      return null;
  }
}
