import { describe, expect, test } from "bun:test";
import { chooseBackend } from "../../../src/core/dhcp/backend";
import { parseNetwork } from "../../../src/core/dhcp/networks";
import { inSubnet, isHostname, isIfname, isIpv4, isMac, prefixOf } from "../../../src/core/dhcp/values";
import { DataError } from "../../../src/core/errors";

/** The checks every value passes before it reaches a DHCP configuration line. */
describe("values that reach configuration lines", () => {
  test("MACs, addresses, host and interface names accept only their own characters", () => {
    expect(isMac("52:54:00:12:34:01")).toBe(true);
    expect(isMac("52-54-00-12-34-01")).toBe(true);
    for (const bad of ["52:54:00:12:34:01\ndhcp-script=/x", "52:54:00:12:34", "52:54:00:12:34:0g", "52:54:00:12:34:01,set:x"]) expect(isMac(bad)).toBe(false);
    expect(isIpv4("10.0.0.11")).toBe(true);
    for (const bad of ["10.0.0.256", "10.0.0.1\n", "10.0.0.1;", "010.0.0.1", "10.0.0"]) expect(isIpv4(bad)).toBe(false);
    expect(isHostname("cn01.cluster.test")).toBe(true);
    for (const bad of ["cn01\nenable-ra", 'cn01"', "cn01;", "-cn01", "cn_01", "cn01 x", "a".repeat(64)]) expect(isHostname(bad)).toBe(false);
    expect(isIfname("eth1.100")).toBe(true);
    for (const bad of ["eth1\n", "eth/1", "a".repeat(16), "eth 1"]) expect(isIfname(bad)).toBe(false);
  });

  test("masks: dotted or prefix length; non-contiguous masks refused", () => {
    expect(prefixOf("255.255.255.0")).toBe(24);
    expect(prefixOf("16")).toBe(16);
    expect(prefixOf("255.0.255.0")).toBeNull();
    expect(prefixOf("33")).toBeNull();
    expect(inSubnet("10.0.3.4", "10.0.0.0", 16)).toBe(true);
    expect(inSubnet("10.1.3.4", "10.0.0.0", 16)).toBe(false);
  });

  test("a networks row with a bad value is refused with the row and column named", () => {
    const row = { netname: "mgmt", net: "10.0.0.0", mask: "255.255.255.0" };
    expect(parseNetwork({ ...row, gateway: "<xcatmaster>" }).gateway).toBeUndefined();
    const cases: [Record<string, string>, RegExp][] = [
      [{ gateway: "10.0.0.254\ndhcp-option=3,1.2.3.4" }, /networks mgmt gateway: '10\.0\.0\.254\\ndhcp-option=3,1\.2\.3\.4' is not a valid IPv4 address/],
      [{ nameservers: "10.0.0.1,evil\n" }, /networks mgmt nameservers/],
      [{ mgtifname: "eth1\ninterface=eth0" }, /networks mgmt mgtifname/],
      [{ net: "10.0.0.1" }, /host bits set/],
      [{ dynamicrange: "10.0.0.200-10.0.0.100" }, /ends before it starts/],
      [{ mtu: "9000\n" }, /is not an MTU/],
      [{ netname: 'a"b' }, /netname/],
    ];
    for (const [extra, msg] of cases) {
      let err: unknown;
      try {
        parseNetwork({ ...row, ...extra });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DataError);
      expect((err as Error).message).toMatch(msg);
    }
  });

  test("auto picks the first installed server, dnsmasq first", () => {
    if (process.env.CI === "true" || Bun.which("dnsmasq", { PATH: "/usr/sbin:/usr/bin" })) expect(chooseBackend("auto").info.name).toBe("dnsmasq");
  });
});
