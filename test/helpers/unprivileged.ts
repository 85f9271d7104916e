import { spawnSync } from "node:child_process";

/**
 * Run a command as an ordinary local user of the management node (nobody, as a login gets it:
 * all of real, effective and saved ids, no capabilities): what any user on the MN could do.
 * Used to prove that image trees and the database are out of such a user's reach. runuser,
 * not `setpriv --reuid`: setpriv keeps root's capabilities (PR_SET_KEEPCAPS) up to its own
 * execve, so the program it starts is found even inside a 0700 directory (strace shows it).
 */
export function asNobody(argv: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync("runuser", ["-u", "nobody", "--", ...argv], { encoding: "utf8" });
  if (r.error) throw r.error;
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

/** Make `dir` and every directory above it traversable (o+x), as /install and /var/lib are on a real MN. */
export function openPathTo(dir: string): void {
  const parts = dir.split("/").filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const p = `/${parts.slice(0, i).join("/")}`;
    spawnSync("chmod", ["o+rx", p]);
  }
}
