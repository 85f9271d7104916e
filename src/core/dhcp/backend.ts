import { existsSync } from "node:fs";
import { join } from "node:path";
import { NotFoundError } from "../errors";
import { BACKENDS, type Backend } from "./settings";

/**
 * The three servers: their binary (whose presence `auto` tests, dnsmasq first), the
 * configuration checker each ships, the Debian package to install, and the reload each needs
 * after a change (dnsmasq rereads its hostsdir by itself on additions, needs SIGHUP to forget
 * a removed host, and a restart for its main file; Kea reloads on SIGHUP; dhcpd only on restart).
 */
export interface BackendInfo {
  name: Backend;
  binary: string;
  package: string;
  check(binary: string, conf: string): string[];
  reload(change: "base" | "added" | "removed"): string | null;
}

export const BACKEND_INFO: Record<Backend, BackendInfo> = {
  dnsmasq: {
    name: "dnsmasq",
    binary: "dnsmasq",
    package: "dnsmasq (or dnsmasq-base)",
    check: (bin, conf) => [bin, "--test", "-C", conf],
    reload: (c) => (c === "base" ? "systemctl restart dnsmasq" : c === "removed" ? "systemctl kill -s HUP dnsmasq" : null),
  },
  kea: {
    name: "kea",
    binary: "kea-dhcp4",
    package: "kea-dhcp4-server",
    check: (bin, conf) => [bin, "-t", conf],
    reload: () => "systemctl reload kea-dhcp4-server",
  },
  dhcpd: {
    name: "dhcpd",
    binary: "dhcpd",
    package: "isc-dhcp-server",
    // -4: IPv4; -t -cf: check this file and stop; -lf /dev/null: no lease file needed
    check: (bin, conf) => [bin, "-4", "-t", "-cf", conf, "-lf", "/dev/null"],
    reload: () => "systemctl restart isc-dhcp-server",
  },
};

/** PATH, then the sbin directories a non-login root shell may lack. */
export function findBinary(name: string, env: Record<string, string | undefined> = process.env): string | null {
  const dirs = [...(env.PATH ?? "").split(":").filter(Boolean), "/usr/sbin", "/sbin", "/usr/local/sbin"];
  for (const d of dirs) if (existsSync(join(d, name))) return join(d, name);
  return null;
}

export function chooseBackend(wanted: Backend | "auto", env?: Record<string, string | undefined>): { info: BackendInfo; binary: string } {
  if (wanted !== "auto") {
    const info = BACKEND_INFO[wanted];
    const binary = findBinary(info.binary, env);
    if (!binary) {
      throw new NotFoundError(
        `site.dhcpbackend is ${wanted}, but ${info.binary} is not installed: xcimg validates every configuration with it before activating`,
        {
          hint: `apt-get install ${info.package} (or dnf install ...), or set site.dhcpbackend to auto`,
        },
      );
    }
    return { info, binary };
  }
  for (const b of BACKENDS) {
    const binary = findBinary(BACKEND_INFO[b].binary, env);
    if (binary) return { info: BACKEND_INFO[b], binary };
  }
  throw new NotFoundError("no DHCP server is installed (looked for dnsmasq, kea-dhcp4, dhcpd)", {
    hint: "apt-get install dnsmasq (xcimg's default; or kea-dhcp4-server, isc-dhcp-server)",
  });
}
