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

export function builtinPkgList(family: OsFamily, arch: string): { name: string; text: string } {
  if (family.backend === "debian") {
    const kernel = arch === "aarch64" ? "linux-image-arm64" : "linux-image-amd64";
    const text =
      family.dir === "ubuntu" ? DEBIAN_COMPUTE.replace("linux-image-amd64", "linux-image-generic") : DEBIAN_COMPUTE.replace("linux-image-amd64", kernel);
    return { name: `built-in compute.${family.dir}.pkglist`, text };
  }
  return { name: "built-in compute.el.pkglist", text: EL_COMPUTE };
}
