import { DataError } from "../errors";
import { CONTROL_CHARS, printable } from "../names";
import { MYIPFN } from "./kcmdline";

/**
 * Values read from the database (mac, hosts.ip, noderes.xcatmaster, bootparams and linuximage
 * addkcmdline, ...) that the boot writers put into file names and boot-loader lines. They are
 * checked here, where they are used, and not only by `node set`: `table restore`, a bundle or a
 * hand-edited database can hold anything, and a MAC of `../../x` would otherwise name a GRUB
 * link outside tftpdir, a newline in addkcmdline would add an iPXE command. A bad value fails
 * that node (exit 1, the other nodes still boot), never the files of another.
 */
export class BootValueError extends DataError {}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
/** Host names and IPv4/IPv6 addresses, as xcatmaster, tftpserver and nfsserver hold them. */
const HOST = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
/**
 * What ends or rewrites a line in one of the loaders: GRUB's script lexer treats ; & | < >
 * as operators, expands $ and unquotes ' " \ ; { } open and close blocks; iPXE expands ${...};
 * # starts a comment. None occurs in a kernel argument xCAT or xcimg writes, so they are refused
 * for every loader rather than quoted per loader.
 */
const LINE_BREAKERS = /[;&|<>$`\\'"{}#]/;

/** 52:54:00:AB:cd:01, lower-cased: the only form that may become grub.cfg-01-<mac> or 01-<mac>. */
export function safeMac(mac: string, what = "mac"): string {
  if (!MAC.test(mac))
    throw new BootValueError(`${what} '${printable(mac)}' is not a MAC address like 52:54:00:12:34:56`, {
      hint: "fix the node's mac table entry ('xcimg node set <node> mac=...')",
    });
  return mac.toLowerCase();
}

export function safeIp(ip: string, what = "ip"): string {
  if (!IPV4.test(ip))
    throw new BootValueError(`${what} '${printable(ip)}' is not an IPv4 address like 10.0.0.11`, {
      hint: "fix the node's hosts table entry ('xcimg node set <node> ip=...')",
    });
  return ip;
}

/** A server as the node reaches it; MYIPFN stands for "the management node facing the node". */
export function safeHost(what: string, host: string): string {
  if (host !== MYIPFN && !HOST.test(host)) throw new BootValueError(`${what} '${printable(host)}' is not a host name or IP address`, { hint: `fix ${what}` });
  return host;
}

const BOOT_LINE_HINT = "kernel arguments are separated by spaces and may not contain ; & | < > $ ` \\ ' \" { } #";

/** Why a value cannot be part of a boot-loader line, or null (also used by node set and table restore). */
export function bootLineProblem(value: string): string | null {
  if (CONTROL_CHARS.test(value)) return "it contains a control character (newline, tab, ...), which would add lines to the boot file";
  const bad = LINE_BREAKERS.exec(value);
  return bad ? `it contains '${bad[0]}', which GRUB, iPXE or pxelinux would interpret (${BOOT_LINE_HINT})` : null;
}

/** A (part of a) kernel command line or boot-loader line: printable, nothing a loader interprets. */
export function safeBootLine(what: string, value: string): string {
  const problem = bootLineProblem(value);
  if (problem) throw new BootValueError(`${what} '${printable(value)}': ${problem}`, { hint: `fix ${what}; ${BOOT_LINE_HINT}` });
  return value;
}

/** serialport, serialspeed: digits only, they go into console=ttyS<port>,<speed>. */
export function safeDigits(what: string, v: string): string {
  if (!/^\d{1,12}$/.test(v)) throw new BootValueError(`${what} '${printable(v)}' is not a number`, { hint: `fix ${what} in the nodehm table` });
  return v;
}
