import { describe, expect, test } from "bun:test";
import { isPrescriptName, maxInstance, scriptsForAction } from "../../../src/core/prescripts/parse";

// the examples of xCAT's man5 prescripts page, and prescripts.pm's grep for MAX_INSTANCE
describe("xCAT's prescripts value", () => {
  test("parts with and without an action", () => {
    expect(scriptsForAction("myscript1,myscript2", "boot")).toEqual(["myscript1", "myscript2"]);
    expect(scriptsForAction("install:myscript1,myscript2|netboot:myscript3", "netboot")).toEqual(["myscript3"]);
    expect(scriptsForAction("install:myscript1,myscript2|netboot:myscript3", "osimage=rh9-netboot")).toEqual([]);
    expect(scriptsForAction("always|osimage:a, b |boot:c", "osimage=img")).toEqual(["always", "a", "b"]);
    expect(scriptsForAction(undefined, "boot")).toEqual([]);
    expect(scriptsForAction("", "boot")).toEqual([]);
  });

  test("MAX_INSTANCE as xCAT greps it: '#', then 'xCAT setting:', optional spaces", () => {
    expect(maxInstance("#!/bin/sh\n#xCAT setting:MAX_INSTANCE=4\n")).toBe(4);
    expect(maxInstance("##xCAT setting:   MAX_INSTANCE=16")).toBe(16);
    expect(maxInstance("# xCAT setting: MAX_INSTANCE=4")).toBe(0);
    expect(maxInstance("#!/bin/sh\necho hi\n")).toBe(0);
  });

  test("names: relative paths inside the prescripts directory, nothing else", () => {
    expect(isPrescriptName("setupswitch")).toBe(true);
    expect(isPrescriptName("site/ipmi-reset.sh")).toBe(true);
    for (const bad of ["../x", "a/../../b", "/etc/passwd", ".hidden", "a b", "$(id)", "x;y", ""]) expect(isPrescriptName(bad), bad).toBe(false);
  });
});
