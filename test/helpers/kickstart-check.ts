import { existsSync } from "node:fs";

/**
 * A kickstart checker for rendered files, standing in for pykickstart's ksvalidator, which no
 * Debian release packages (checked: bookworm, trixie, sid, bullseye) and PyPI is unreachable
 * here. It checks what ksvalidator would reject in the files xcimg writes: commands unknown
 * to RHEL 8-10 kickstart, sections not closed by %end, options the commands do not have or
 * values they do not accept, an unknown time zone, and any xCAT directive left unexpanded.
 * The root password hash is checked separately against the system's crypt(3).
 */
const COMMANDS = new Set(
  (
    "authselect autopart autostep bootloader btrfs cdrom clearpart cmdline driverdisk eula fcoe firewall firstboot graphical group halt harddrive hmc " +
    "ignoredisk iscsi iscsiname keyboard lang liveimg logging logvol mediacheck module mount network nfs nvdimm ostreecontainer ostreesetup part partition " +
    "poweroff raid realm reboot repo reqpart rescue rhsm rootpw selinux services shutdown skipx snapshot sshkey sshpw syspurpose text timesource timezone " +
    "updates url user vnc volgroup xconfig zerombr zfcp zipl"
  ).split(" "),
);
const SECTIONS = new Set(["%packages", "%pre", "%pre-install", "%post", "%onerror", "%traceback", "%addon", "%anaconda", "%certificate"]);

const OPTIONS: Record<string, { flags: string[]; check?: (args: string[]) => string | null }> = {
  url: {
    flags: ["--url", "--mirrorlist", "--metalink", "--noverifyssl", "--proxy", "--sslcacert", "--sslclientcert", "--sslclientkey"],
    check: (a) =>
      a.some((x, i) => (x === "--url" && /^(http|https|ftp|file):\/\//.test(a[i + 1] ?? "")) || /^--url=(http|https|ftp|file):\/\//.test(x))
        ? null
        : "url needs --url <http://...>",
  },
  repo: { flags: ["--name", "--baseurl", "--mirrorlist", "--metalink", "--cost", "--excludepkgs", "--includepkgs", "--proxy", "--noverifyssl", "--install"] },
  keyboard: { flags: ["--vckeymap", "--xlayouts", "--switch"] },
  lang: { flags: ["--addsupport"] },
  network: {
    flags: [
      "--onboot",
      "--bootproto",
      "--device",
      "--hostname",
      "--ip",
      "--netmask",
      "--gateway",
      "--nameserver",
      "--noipv4",
      "--noipv6",
      "--activate",
      "--no-activate",
      "--mtu",
      "--ipv6",
      "--nodefroute",
      "--bindto",
      "--ethtool",
      "--essid",
      "--wepkey",
      "--wpakey",
      "--dhcpclass",
      "--nodns",
      "--teamslaves",
      "--teamconfig",
      "--bondslaves",
      "--bondopts",
      "--vlanid",
      "--interfacename",
      "--bridgeslaves",
      "--bridgeopts",
    ],
    check: (a) => {
      const bp = a.find((x) => x.startsWith("--bootproto="))?.split("=")[1];
      return bp && !["dhcp", "bootp", "static", "ibft", "query"].includes(bp) ? `bad --bootproto ${bp}` : null;
    },
  },
  rootpw: {
    flags: ["--iscrypted", "--plaintext", "--lock", "--allow-ssh"],
    check: (a) =>
      a.length === 2 && a[0] === "--iscrypted" && /^\$[56]\$[^$]+\$[./0-9A-Za-z]+$/.test(a[1] ?? "") ? null : "rootpw must be --iscrypted <$6$ hash>",
  },
  firstboot: { flags: ["--enable", "--enabled", "--disable", "--disabled", "--reconfig"] },
  timezone: { flags: ["--utc", "--isUtc", "--nontp", "--ntpservers"] },
  clearpart: { flags: ["--all", "--initlabel", "--drives", "--list", "--linux", "--none", "--disklabel", "--cdl"] },
  autopart: {
    flags: ["--type", "--encrypted", "--nolvm", "--fstype", "--nohome", "--noboot", "--noswap", "--passphrase"],
    check: (a) => (a.every((x) => !x.startsWith("--type=") || /^--type=(lvm|plain|btrfs|thinp)$/.test(x)) ? null : "bad autopart --type"),
  },
  bootloader: {
    flags: [
      "--append",
      "--location",
      "--boot-drive",
      "--driveorder",
      "--password",
      "--iscrypted",
      "--timeout",
      "--leavebootorder",
      "--md5pass",
      "--disabled",
      "--nombr",
    ],
  },
  firewall: {
    flags: ["--enabled", "--enable", "--disabled", "--disable", "--service", "--port", "--trust", "--ssh", "--use-system-defaults", "--remove-service"],
  },
  selinux: { flags: ["--enforcing", "--permissive", "--disabled"] },
};

function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g)) out.push(m[0]);
  return out;
}

export function checkKickstart(text: string): string[] {
  const problems: string[] = [];
  let section: string | null = null;
  text.split("\n").forEach((raw, i) => {
    const n = i + 1;
    const line = raw.trim();
    if (/#(TABLE|TABLEBLANKOKAY|CRYPT|XCATVAR|ENV|INCLUDE[A-Z_]*|COMMAND|KICKSTARTNET|INSTALL_SOURCES|HOSTNAME):?[^#]*#/.test(raw))
      problems.push(`${n}: unexpanded directive: ${raw}`);
    if (line.startsWith("%")) {
      const name = line.split(/\s+/)[0] as string;
      if (name === "%end") {
        if (!section) problems.push(`${n}: %end outside a section`);
        section = null;
      } else if (name === "%include" || name === "%ksappend") {
        if (section) problems.push(`${n}: ${name} inside ${section}`);
      } else if (SECTIONS.has(name)) {
        if (section) problems.push(`${n}: ${name} inside ${section} (missing %end)`);
        section = name;
      } else problems.push(`${n}: unknown section ${name}`);
      return;
    }
    if (section || line === "" || line.startsWith("#")) return;
    const [cmd, ...args] = words(line) as [string, ...string[]];
    if (!COMMANDS.has(cmd)) {
      problems.push(`${n}: unknown kickstart command '${cmd}'`);
      return;
    }
    const spec = OPTIONS[cmd];
    if (spec) {
      for (const a of args) {
        if (!a.startsWith("--")) continue;
        const opt = a.split("=")[0] as string;
        // pykickstart parses with argparse, which takes an unambiguous prefix (--disable → --disabled)
        const matches = spec.flags.includes(opt) ? [opt] : spec.flags.filter((f) => f.startsWith(opt));
        if (matches.length !== 1) problems.push(`${n}: ${cmd} has no option ${opt}`);
      }
      const p = spec.check?.(args);
      if (p) problems.push(`${n}: ${p}`);
    }
    if (cmd === "timezone") {
      const zone = args.find((a) => !a.startsWith("--"));
      if (!zone || !existsSync(`/usr/share/zoneinfo/${zone}`)) problems.push(`${n}: unknown time zone '${zone}'`);
    }
  });
  if (section) problems.push(`end of file: ${section} not closed by %end`);
  return problems;
}
