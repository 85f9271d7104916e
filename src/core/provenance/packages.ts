import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The packages installed in a root tree, read from the tree itself (never by running its
 * tools): dpkg's status file is plain text; rpm's database needs rpm, so it is queried with
 * `rpm --root <tree>` when the management node has rpm, and reported as unknown otherwise.
 */
export interface PackageList {
  source: "dpkg" | "rpm" | "unknown";
  /** "name version arch", sorted; absent when unknown. */
  packages?: string[];
  /** Why the list is unknown. */
  reason?: string;
}

export function dpkgPackages(statusText: string): string[] {
  const out: string[] = [];
  for (const stanza of statusText.split(/\n\s*\n/)) {
    const field = (k: string) => new RegExp(`^${k}: *(.*)$`, "m").exec(stanza)?.[1]?.trim();
    const pkg = field("Package");
    if (!pkg || !/\binstalled$/.test(field("Status") ?? "") || /config-files|not-installed/.test(field("Status") ?? "")) continue;
    out.push(`${pkg} ${field("Version") ?? "?"} ${field("Architecture") ?? "?"}`);
  }
  return out.sort();
}

function rpmAvailable(): boolean {
  return Bun.which("rpm") !== null;
}

export function packageList(tree: string | null): PackageList {
  if (!tree || !existsSync(tree)) return { source: "unknown", reason: "the image's root tree is not on this management node" };
  const status = join(tree, "var/lib/dpkg/status");
  if (existsSync(status)) return { source: "dpkg", packages: dpkgPackages(readFileSync(status, "utf8")) };
  const rpmDb = ["var/lib/rpm", "usr/lib/sysimage/rpm"].find((d) => existsSync(join(tree, d)));
  if (rpmDb) {
    if (!rpmAvailable()) return { source: "unknown", reason: `the tree has an rpm database (${rpmDb}) but rpm is not installed on this management node` };
    const p = Bun.spawnSync(["rpm", "--root", tree, "-qa", "--qf", "%{NAME} %{VERSION}-%{RELEASE} %{ARCH}\\n"], { stdout: "pipe", stderr: "pipe" });
    if (p.exitCode !== 0) return { source: "unknown", reason: `rpm --root ${tree} -qa failed: ${p.stderr.toString().trim()}` };
    return {
      source: "rpm",
      packages: p.stdout
        .toString()
        .split("\n")
        .filter((l) => l)
        .sort(),
    };
  }
  return { source: "unknown", reason: "the tree has no dpkg or rpm database" };
}
