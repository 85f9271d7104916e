import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Db } from "../../../src/core/db/open";
import { setNodes } from "../../../src/core/defs/node";
import { NotFoundError } from "../../../src/core/errors";
import { imagesOf, servedNodes } from "../../../src/core/sn/served";
import { openTestDb } from "../../helpers/test-db";

/** Which nodes a service node serves, as xCAT resolves noderes.servicenode and xcatmaster. */
const dir = mkdtempSync(join(tmpdir(), "xcimg-sn-served-"));
let db: Db;

beforeAll(() => {
  db = openTestDb(join(dir, "x.db"));
  setNodes(db, ["a01", "a02"], { groups: "rack1,all", provmethod: "img-a" });
  setNodes(db, ["b01"], { groups: "all", servicenode: "sn2,SN1", provmethod: "img-b" });
  setNodes(db, ["c01"], { groups: "all", xcatmaster: "sn1", servicenode: "sn3", provmethod: "img-a" });
  setNodes(db, ["d01"], { groups: "all", servicenode: "sn1", provmethod: "netboot" });
  setNodes(db, ["e01"], { groups: "all", servicenode: "sn10", provmethod: "img-a" });
  db.write(() => db.run("INSERT INTO noderes (node, servicenode) VALUES ('rack1', 'sn1')"));
});
afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("servedNodes", () => {
  test("servicenode (own or a group's, pools, any case) or xcatmaster naming the SN; names only, not prefixes", () => {
    const s = servedNodes(db, ["sn1"]);
    expect([...s.nodes.keys()].sort()).toEqual(["a01", "a02", "b01", "c01"]);
    expect(s.noImage).toEqual(["d01"]);
    expect([...imagesOf(s)]).toEqual([
      ["img-a", ["a01", "a02", "c01"]],
      ["img-b", ["b01"]],
    ]);
  });

  test("every SN of a pool serves the node", () => {
    expect([...servedNodes(db, ["sn2"]).nodes.keys()]).toEqual(["b01"]);
  });

  test("an SN nobody names: a not-found error saying how to name it", () => {
    expect(() => servedNodes(db, ["sn9"])).toThrow(NotFoundError);
    expect(() => servedNodes(db, ["sn9"])).toThrow("no node names this service node (sn9)");
  });
});
