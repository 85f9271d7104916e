import { describe, expect, test } from "bun:test";
import { upsert } from "../../../src/core/db/rows";
import { readNodes, setNodes } from "../../../src/core/defs/node";
import { openTestDb } from "../../helpers/test-db";

describe("effective node attributes (xCAT Table.pm semantics)", () => {
  test("own row, then groups in nodelist.groups order; disabled rows ignored; membership not inherited", () => {
    const db = openTestDb(":memory:");
    setNodes(db, ["cn1", "cn2"], { groups: "rack1,compute" });
    upsert(db, "noderes", { node: "compute" }, { netboot: "pxe", xcatmaster: "10.0.0.1", tftpserver: "10.0.0.9" });
    upsert(db, "noderes", { node: "rack1" }, { netboot: "grub2" });
    upsert(db, "noderes", { node: "cn2" }, { netboot: "xnba" });
    upsert(db, "nodehm", { node: "rack1" }, { serialport: "1", disable: "1" });
    upsert(db, "nodehm", { node: "compute" }, { serialport: "0" });
    upsert(db, "nodelist", { node: "compute" }, { groups: "should-not-be-inherited" });
    const n = readNodes(db, ["cn1", "cn2", "ghost"]);
    expect(n.get("cn1")).toEqual({ groups: "rack1,compute", netboot: "grub2", serialport: "0", tftpserver: "10.0.0.9", xcatmaster: "10.0.0.1" });
    expect(n.get("cn2")?.netboot).toBe("xnba");
    expect(n.has("ghost")).toBe(false);
  });
});
