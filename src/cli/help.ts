import { type CommandDef, renderUsage } from "citty";
import { isLeaf } from "./command";
import { GLOBAL_ARGS } from "./globals";

export const EXIT_CODES: [number, string][] = [
  [0, "success"],
  [1, "partial failure: some nodes or items failed, the others were done"],
  [3, "not implemented yet in this release"],
  [64, "usage error: unknown option, missing or invalid argument"],
  [65, "bad data: malformed CSV, manifest, bundle, exlist or attribute value"],
  [66, "not found: image, node, table, file or kernel"],
  [69, "remote unavailable: SSH connection, authentication or host key refused"],
  [70, "internal error (a bug; rerun with -v and report it)"],
  [73, "cannot create an output file or directory"],
  [74, "I/O error: disk full, read/write failure, a helper tool failed"],
  [75, "busy: another xcimg holds the lock on this image"],
  [77, "permission denied"],
  [78, "configuration error (file:line:col)"],
  [130, "interrupted (Ctrl-C / SIGTERM); nothing was changed"],
];

const ANSI = /\x1b\[[0-9;]*m/g;

export async function renderHelp(cmd: CommandDef, parent: CommandDef | undefined, color: boolean): Promise<string> {
  let text = await renderUsage(cmd, parent);
  const globals = Object.entries(GLOBAL_ARGS)
    .map(([n, a]) => {
      const short = "alias" in a ? [a.alias].flat()[0] : undefined;
      const flag = (short ? `-${short}, ` : "    ") + `--${n}${a.type === "string" ? " <file>" : ""}`;
      return `  ${flag.padEnd(22)} ${a.description}`;
    })
    .join("\n");
  text += `\nGLOBAL OPTIONS\n\n${globals}\n`;
  if (isLeaf(cmd) && cmd.xcimg.examples.length) {
    text += `\nEXAMPLES\n\n${cmd.xcimg.examples.map((e) => `  ${e}`).join("\n")}\n`;
  }
  if (!parent) {
    text += `\nEXIT CODES\n\n${EXIT_CODES.map(([c, d]) => `  ${String(c).padStart(3)}  ${d}`).join("\n")}\n`;
  }
  return color ? text : text.replace(ANSI, "");
}
