import type { ArgsSpec } from "./args";

/** Flags accepted before or after any command name. */
export const GLOBAL_ARGS = {
  config: { type: "string", description: "TOML config file (default: $XCIMG_CONFIG, else /etc/xcimg/xcimg.toml)", valueHint: "file" },
  json: { type: "boolean", description: "print results as JSON on stdout, nothing else" },
  verbose: { type: "boolean", alias: ["v", "V"], description: "more detail on stderr (and stack traces of internal errors); -V as in xCAT" },
  quiet: { type: "boolean", alias: "q", description: "only warnings and errors on stderr" },
  help: { type: "boolean", alias: ["h", "?"], description: "show help for the command (also -?)" },
} as const satisfies ArgsSpec;
