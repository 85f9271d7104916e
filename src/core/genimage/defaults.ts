import type { OsFamily } from "./family";

/**
 * The lists used when neither linuximage.pkglist nor a custom list exists (xCAT ships
 * compute.<os>.pkglist files in share/xcat/netboot/<family>/). Small on purpose: what a
 * diskless compute node needs to boot to a login over the network with xcimg's initrd
 * (docs/genimage.md). Sites that want more write their own list.
 */
const DEBIAN_COMPUTE = `# xcimg built-in: compute node, Debian/Ubuntu
systemd-sysv
udev
kmod
linux-image-amd64
ifupdown
isc-dhcp-client
iproute2
openssh-server
netbase
procps
less
`;

const EL_COMPUTE = `# xcimg built-in: compute node, RHEL family
bash
systemd
kernel
dracut
NetworkManager
openssh-server
openssh-clients
rsyslog
procps-ng
iproute
dhcp-client
`;

/**
 * SUSE: a subset of xCAT's sles/compute.sle15.pkglist (aaa_base ... kernel-default, wicked,
 * dhcp-client, openssh; docs/genimage.md) without its storage and editor tools. No systemd
 * line: SLE 15's udev and wicked pull it in, and a plain name keeps the list valid on Leap.
 */
const SLES_COMPUTE = `# xcimg built-in: compute node, SLES 15 / openSUSE Leap 15
aaa_base
bash
coreutils
udev
kernel-default
dracut
wicked
dhcp-client
openssh
iproute2
procps
rsyslog
timezone
`;

export function builtinPkgList(family: OsFamily, arch: string): { name: string; text: string } {
  if (family.backend === "debian") {
    const kernel = arch === "aarch64" ? "linux-image-arm64" : "linux-image-amd64";
    const text =
      family.dir === "ubuntu" ? DEBIAN_COMPUTE.replace("linux-image-amd64", "linux-image-generic") : DEBIAN_COMPUTE.replace("linux-image-amd64", kernel);
    return { name: `built-in compute.${family.dir}.pkglist`, text };
  }
  if (family.backend === "zypper") return { name: "built-in compute.sle15.pkglist", text: SLES_COMPUTE };
  return { name: "built-in compute.el.pkglist", text: EL_COMPUTE };
}
