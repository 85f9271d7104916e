import { existsSync, linkSync, readFileSync, renameSync, rmSync } from "node:fs";
import { DataError, fsError } from "../errors";
import { tempNameFor, writeFileAtomic } from "../fs/atomic";

/**
 * Never leave a server with a broken configuration: every new file is written under a
 * temporary name next to its final one, the server's own checker runs on the temporary
 * files, and only when it passes are they renamed into place — the file being replaced
 * first hard-linked as <file>.bak. A failed check removes the temporaries: the previous
 * configuration stays exactly as it was.
 */
export interface Staged {
  path: string;
  temp: string;
  text: string;
}

export function stage(path: string, text: string, opts: { fsync?: boolean } = {}): Staged | null {
  if (existsSync(path) && readFileSync(path, "utf8") === text) return null;
  const temp = tempNameFor(path);
  // per-node files skip the fsync (as boot's per-node files do): 10,000 fsyncs cost a minute
  writeFileAtomic(temp, text, 0o644, { fsync: opts.fsync });
  return { path, temp, text };
}

export function discard(staged: readonly (Staged | null)[]): void {
  for (const s of staged) if (s) rmSync(s.temp, { force: true });
}

/** dhcpd's banner and bug-report boilerplate around its messages. */
const BANNER =
  /^(Internet Systems Consortium|Copyright|All rights reserved|For info|If you think|than a configuration|bugs on either|before submitting|process and the|exiting|Configuration file errors encountered)/;

/** Run the server's checker; on failure discard everything staged and report its output. */
export function checkOrDiscard(argv: string[], staged: readonly (Staged | null)[], what: string): void {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, LC_ALL: "C" } });
  if (r.exitCode === 0) return;
  discard(staged);
  const out = `${r.stderr.toString()}${r.stdout.toString()}`
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !BANNER.test(l))
    .slice(0, 8)
    .join("\n  ");
  throw new DataError(`${what} failed ${argv[0]}'s check, nothing was changed:\n  ${out}`, {
    hint: "fix the table value the message names (xcimg table dump networks / site), then rerun",
  });
}

/** Rename the checked files into place, each previous version kept as <file>.bak. */
export function commit(staged: readonly (Staged | null)[], opts: { backup?: boolean } = {}): string[] {
  const done: string[] = [];
  for (const s of staged) {
    if (!s) continue;
    // no .bak in dnsmasq's hostsdir: dnsmasq would read it as another host file
    if (opts.backup !== false && existsSync(s.path)) {
      const bak = `${s.path}.bak`;
      const t = tempNameFor(bak);
      try {
        linkSync(s.path, t);
        renameSync(t, bak);
      } catch (e) {
        rmSync(t, { force: true });
        discard(staged);
        throw fsError(e, `cannot back up ${s.path}`);
      }
    }
    try {
      renameSync(s.temp, s.path);
    } catch (e) {
      discard(staged);
      throw fsError(e, `cannot write ${s.path}`);
    }
    done.push(s.path);
  }
  return done;
}
