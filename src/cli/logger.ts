import { type ConsolaReporter, createConsola } from "consola/core";
import type { Logger } from "../core/log";

/**
 * consola with one plain reporter to stderr. Lines look like xCAT's client output
 * (`Warning: ...`, `Error: ...`) because migrating admins grep for exactly that.
 */
export function createLogger(opts: { verbose: boolean; quiet: boolean; stderr?: NodeJS.WritableStream; isTTY?: boolean }): Logger {
  const stderr = opts.stderr ?? process.stderr;
  const isTTY = opts.isTTY ?? Boolean((process.stderr as { isTTY?: boolean }).isTTY);
  let progressShown = false;
  const clearProgress = () => {
    if (progressShown) {
      stderr.write("\r\x1b[2K");
      progressShown = false;
    }
  };
  const reporter: ConsolaReporter = {
    log(obj) {
      clearProgress();
      const msg = obj.args.map(String).join(" ");
      const prefix = obj.type === "warn" ? "Warning: " : obj.type === "error" || obj.type === "fatal" ? "Error: " : obj.level >= 4 ? "debug: " : "";
      stderr.write(`${prefix}${msg}\n`);
    },
  };
  const consola = createConsola({ reporters: [reporter], level: opts.quiet ? 1 : opts.verbose ? 4 : 3 });
  return {
    info: (m) => consola.info(m),
    warn: (m) => consola.warn(m),
    error: (m) => consola.error(m),
    debug: (m) => consola.debug(m),
    progress(m) {
      if (!isTTY || opts.quiet) return;
      stderr.write(`\r\x1b[2K${m}`);
      progressShown = true;
    },
    progressDone() {
      clearProgress();
    },
  };
}
