import { readFileSync } from "node:fs";
import { fsError } from "../core/errors";

/** A command's input file, or standard input for none or "-" (as `cat x.stanza | chdef -z` feeds it). */
export function readInput(file: string | undefined): { text: string; name: string } {
  const name = file === undefined || file === "-" ? "<stdin>" : file;
  try {
    return { text: readFileSync(file === undefined || file === "-" ? 0 : file, "utf8"), name };
  } catch (e) {
    throw fsError(e, `Unable to open ${name} for reading`);
  }
}
