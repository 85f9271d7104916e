import { DataError } from "../errors";

/**
 * Which backend builds an image, from its osvers as xCAT spells it (genimage.pm derives the
 * netboot script directory the same way: digits and dots stripped, rhels/rhel → rh, and the
 * SUSE names sles/sle/leap/opensuse-leap → sles, xCAT's share/xcat/netboot/sles/).
 */
export type Backend = "debian" | "rpm" | "zypper";

export interface OsFamily {
  backend: Backend;
  /** xCAT's netboot directory name: <installdir>/custom/netboot/<dir>/ */
  dir: string;
  /** The version part of osvers: "12", "22.04", "9.4". */
  version: string;
  /** Debian/Ubuntu only: the suite a version means when pkgdir names none. */
  suite?: string;
}

const DEBIAN_SUITES: Record<string, string> = { "10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie" };
const UBUNTU_SUITES: Record<string, string> = { "20.04": "focal", "22.04": "jammy", "24.04": "noble" };
const RPM_FAMILIES = ["rhels", "rhel", "rocky", "alma", "centos", "ol", "fedora", "SL"];
/** sles12.5, sle15.5 (copycds' name for SLE 15 media), leap15.5 and opensuse-leap15.5. */
const SUSE_FAMILIES = ["sles", "sle", "leap"];

export function osFamily(osvers: string): OsFamily {
  // openSUSE's xCAT name keeps its dash (opensuse-leap15.5); every other one is cut at the first
  const m = /^([A-Za-z]+?)(\d[\d.]*)?$/.exec(osvers.replace(/^opensuse-/, "").replace(/-.*$/, ""));
  const name = m?.[1] ?? "";
  const version = m?.[2] ?? "";
  if (name === "debian") return { backend: "debian", dir: "debian", version, suite: DEBIAN_SUITES[version.split(".")[0] as string] };
  if (name === "ubuntu") return { backend: "debian", dir: "ubuntu", version, suite: UBUNTU_SUITES[version] };
  if (RPM_FAMILIES.includes(name)) return { backend: "rpm", dir: name.startsWith("rh") ? "rh" : name, version };
  if (SUSE_FAMILIES.includes(name)) return { backend: "zypper", dir: "sles", version };
  throw new DataError(
    `osvers '${osvers}' is no distribution family genimage knows (debian<N>, ubuntu<N.N>, rhels/rocky/alma/centos/ol/fedora<N>, sles/sle/leap<N>)`,
    {
      hint: "set the image's osvers, e.g. 'xcimg image set <img> osvers=debian12'",
    },
  );
}
