import type { Config } from "../config/schema";
import type { Db } from "../db/open";
import { allRows, isDisabled } from "../db/rows";
import { DataError } from "../errors";
import { checked, isIpv4, printableValue } from "./values";

export const BACKENDS = ["dnsmasq", "kea", "dhcpd"] as const;
export type Backend = (typeof BACKENDS)[number];

/**
 * The site keys makedhcp reads (xCAT's site table), plus two of xcimg's own:
 * - dhcpbackend: dnsmasq | kea | dhcpd | auto (default: the first installed, dnsmasq first)
 * - dhcpinterfaces: interfaces the server listens on. xCAT's form is `eth1,eth2`, or
 *   `host|eth1;host2|eth2` per server; the part before `|` is dropped (one MN).
 * - dhcplease: lease time in seconds (xCAT's default 43200)
 * - domain, nameservers: the defaults a network row does not override
 * - dhcpbiosloader: xnba (iPXE, default) | pxe (pxelinux) — what plain BIOS PXE ROMs get
 * - dhcpuefiloader: xnba (iPXE, default) | grub2 (shim + signed GRUB) — what plain UEFI PXE firmware gets
 * - dhcpcontrolsocket: Kea only, the path of kea-dhcp4's unix control socket; when set,
 *   the rendered file declares it and `--reload` sends Kea `config-reload` over it
 */
export interface DhcpSettings {
  backend: Backend | "auto";
  interfaces: string[];
  lease: number;
  domain?: string;
  nameservers: string[];
  biosLoader: "xnba" | "pxe";
  uefiLoader: "xnba" | "grub2";
  /** The MN's address nodes reach (config master): next-server and the boot URLs. */
  master: string;
  httpPort: number;
  tftpdir: string;
  /** Kea's control socket (an absolute path), or undefined. */
  controlSocket?: string;
}

function siteKeys(db: Db): (k: string) => string {
  const site = new Map(
    allRows(db, "site")
      .filter((r) => !isDisabled(r))
      .map((r) => [r.key as string, r.value ?? ""]),
  );
  return (k) => (site.get(k) ?? "").trim();
}

function pick<T extends string>(get: (k: string) => string, key: string, allowed: readonly T[]): T {
  const v = get(key) || allowed[0];
  if (!(allowed as readonly string[]).includes(v as string)) throw new DataError(`site.${key} '${v}' is not one of ${allowed.join(", ")}`);
  return v as T;
}

/** The two loader choices and tftpdir alone: what `boot` and `clone` need to publish the loaders (no DHCP settings are checked). */
export function loaderSettings(db: Db, config: Config): Pick<DhcpSettings, "tftpdir" | "biosLoader" | "uefiLoader"> {
  const get = siteKeys(db);
  return {
    biosLoader: pick(get, "dhcpbiosloader", ["xnba", "pxe"] as const),
    uefiLoader: pick(get, "dhcpuefiloader", ["xnba", "grub2"] as const),
    tftpdir: config.tftpdir,
  };
}

export function dhcpSettings(db: Db, config: Config): DhcpSettings {
  const get = siteKeys(db);
  const backend = get("dhcpbackend") || "auto";
  if (backend !== "auto" && !(BACKENDS as readonly string[]).includes(backend)) {
    throw new DataError(`site.dhcpbackend '${backend}' is not one of auto, ${BACKENDS.join(", ")}`, {
      hint: "xcimg table set site key=dhcpbackend value=dnsmasq",
    });
  }
  const lease = get("dhcplease") || "43200";
  if (!/^\d{1,9}$/.test(lease) || Number(lease) < 60) throw new DataError(`site.dhcplease '${lease}' is not a lease time in seconds (60 or more)`);
  const interfaces = get("dhcpinterfaces")
    .split(/[,;]/)
    .map((s) => s.slice(s.indexOf("|") + 1).trim())
    .filter(Boolean)
    .map((i) => checked("interface name", i, "site.dhcpinterfaces"));
  if (!isIpv4(config.master))
    throw new DataError(`config master '${config.master}' must be the management node's IPv4 address for DHCP (next-server)`, {
      hint: 'set master = "10.0.0.1" in /etc/xcimg/xcimg.toml',
    });
  return {
    backend: backend as Backend | "auto",
    interfaces,
    lease: Number(lease),
    domain: get("domain") ? checked("host name", get("domain"), "site.domain") : undefined,
    nameservers: get("nameservers")
      .split(/[ ,]+/)
      .filter((s) => s && s !== "<xcatmaster>")
      .map((s) => checked("IPv4 address", s, "site.nameservers")),
    controlSocket: get("dhcpcontrolsocket") ? socketPath(get("dhcpcontrolsocket")) : undefined,
    ...loaderSettings(db, config),
    master: config.master,
    httpPort: config["http.port"],
  };
}

/** A unix socket path goes into Kea's JSON and is connected to: absolute, plain characters, within sun_path's 107 bytes. */
function socketPath(v: string): string {
  if (!/^\/[A-Za-z0-9._/-]{1,106}$/.test(v) || v.split("/").includes(".."))
    throw new DataError(`site.dhcpcontrolsocket '${printableValue(v)}' is not an absolute socket path (letters, digits, . _ - /; at most 107 characters)`, {
      hint: "xcimg table set site key=dhcpcontrolsocket value=/run/kea/kea4-ctrl-socket",
    });
  return v;
}
