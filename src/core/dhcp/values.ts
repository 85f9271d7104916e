import { DataError } from "../errors";

/**
 * Every table value that ends up on a DHCP server's configuration line passes through one of
 * these: a MAC, an IPv4 address, a host or domain name, an interface name, a number. Each
 * accepts only the characters its kind can contain, so a newline, quote, brace, semicolon or
 * comma in a table value (a "mac" of `aa:..:ff\ndhcp-script=/tmp/x`) can never start a new
 * statement in dnsmasq, Kea's JSON or dhcpd's grammar.
 */
const MAC = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** RFC 1123 labels: letters, digits, hyphens inside; dots between labels. */
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** Linux interface names: up to 15 characters, no slash, no whitespace (dev_valid_name). */
const IFNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;

export const isMac = (v: string) => MAC.test(v);
export const isIpv4 = (v: string) => IPV4.test(v);
export const isHostname = (v: string) => HOSTNAME.test(v);
export const isIfname = (v: string) => IFNAME.test(v);

/** Lower case with colons: the one spelling every backend and the MAC-keyed boot names use. */
export function normMac(v: string): string {
  return v.toLowerCase().replaceAll("-", ":");
}

export function ipToInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** A dotted mask (255.255.255.0) or a prefix length (24) as a prefix length; null if neither. */
export function prefixOf(mask: string): number | null {
  if (/^\d{1,2}$/.test(mask)) return Number(mask) <= 32 ? Number(mask) : null;
  if (!isIpv4(mask)) return null;
  const bits = ipToInt(mask).toString(2).padStart(32, "0");
  const p = bits.indexOf("0");
  if (p < 0) return 32;
  return bits.slice(p).includes("1") ? null : p;
}

export function maskOf(prefix: number): string {
  return intToIp(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

export function inSubnet(ip: string, net: string, prefix: number): boolean {
  if (prefix === 0) return true;
  const m = (0xffffffff << (32 - prefix)) >>> 0;
  return (ipToInt(ip) & m) >>> 0 === (ipToInt(net) & m) >>> 0;
}

/** A checked value or a DataError naming where it came from (`networks 10.0.0.0 gateway`). */
export function checked(kind: "IPv4 address" | "host name" | "interface name", value: string, where: string): string {
  const ok = kind === "IPv4 address" ? isIpv4(value) : kind === "host name" ? isHostname(value) : isIfname(value);
  if (!ok)
    throw new DataError(`${where}: '${printableValue(value)}' is not a valid ${kind}`, {
      hint: "fix the value with 'xcimg table set' (DHCP configuration lines take only well-formed values)",
    });
  return value;
}

/** A comma- or space-separated list of addresses (xCAT's nameservers=10.0.0.1,10.0.0.2). */
export function addressList(value: string | undefined, where: string): string[] {
  if (!value) return [];
  return value
    .split(/[ ,]+/)
    .filter(Boolean)
    .map((a) => checked("IPv4 address", a, where));
}

/** Control characters shown escaped, so an error message cannot itself break a terminal line. */
export function printableValue(v: string): string {
  return JSON.stringify(v).slice(1, -1);
}
