import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema";
import type { PullJob } from "./image-pull";
import type { MnSnapshot } from "./mn-snapshot";
import { partialRoot } from "./partial";

/**
 * Nodes fetch their postscripts over HTTP from <installdir>/postscripts on the server that
 * booted them (postscripts/node-files.ts), so an SN mirrors the MN's directory, as xCAT syncs
 * /install/postscripts to its SNs. Its _ssh/authorized_keys gets the keys the MN's own nodes
 * accept (the MN's ssh.identity and xCAT's file): a node booted from an SN still lets the MN in
 * for capture, `clone --status` and updatenode; the SN's own key is added by boot itself.
 */
export function postscriptsJob(cfg: Config, mn: MnSnapshot, host: string, ssh: string[], dryRun: boolean, signal?: AbortSignal): PullJob {
  return {
    image: "postscripts",
    host,
    from: mn.postscripts ? join(mn.installdir, "postscripts") : null,
    dir: join(cfg.installdir, "postscripts"),
    partials: partialRoot(cfg),
    ssh,
    dryRun,
    signal,
    prepare(staged) {
      if (!mn.authorizedKeys) return;
      const dir = join(staged, "_ssh");
      const file = join(dir, "authorized_keys");
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      let have = "";
      try {
        have = readFileSync(file, "utf8");
      } catch {
        // none on the MN
      }
      const lines = new Set([...have.split("\n"), ...mn.authorizedKeys.split("\n")].map((l) => l.trim()).filter(Boolean));
      // a new file (not a rewrite of a hard link shared with the served generation)
      const text = `${[...lines].join("\n")}\n`;
      if (text !== have) {
        writeFileSync(`${file}.new`, text, { mode: 0o644 });
        renameSync(`${file}.new`, file);
      }
    },
  };
}
