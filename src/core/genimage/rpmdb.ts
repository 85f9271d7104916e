import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../log";
import { runIsolated, sq, stepFailed } from "./isolate";

/**
 * The image's rpm database, shared by the dnf and zypper backends. Debian's rpm keeps its
 * database in ~/.rpmdb (its %_dbpath, Debian bug #1004863), which under --installroot/--root
 * would put the image's database at <tree>/root/.rpmdb where the node's rpm never looks. Every
 * rpm/dnf/zypper step runs with HOME set to a private directory whose .rpmmacros says
 * %_dbpath /var/lib/rpm, so the database is the tree's own /var/lib/rpm, as on EL and SUSE.
 */
export function privateRpmHome(home: string): string {
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, ".rpmmacros"), "%_dbpath /var/lib/rpm\n");
  return home;
}

/** name → version-release (arch) of every package in the tree's own database, its signing keys left out. */
export async function treePackages(tree: string, home: string, log: Logger, signal: AbortSignal): Promise<{ name: string; version: string; arch: string }[]> {
  const r = await runIsolated(`rpm --root ${sq(tree)} --dbpath /var/lib/rpm -qa --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\n'`, {
    env: { HOME: home },
    log,
    signal,
    label: "rpm -qa",
    keepStdout: true,
  });
  if (r.code !== 0) throw stepFailed("rpm -qa", r.tail);
  return r.stdout
    .split("\n")
    .filter((l) => l && !l.startsWith("gpg-pubkey\t"))
    .map((l) => {
      const [name = "", version = "", arch = ""] = l.split("\t");
      return { name, version, arch };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The message for packages no repository has, the same for every backend. */
export function missingMessage(missing: string[], where: string): string {
  return `package${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} in none of the repositories searched: ${where}`;
}
