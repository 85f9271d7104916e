import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../../src/core/config/load";
import { openDb } from "../../../src/core/db/open";
import { DataError, NotFoundError } from "../../../src/core/errors";
import { nodeColumn, renderNodeData, stateliteNodeData, substituteVars } from "../../../src/provmethods/statelite/node-data";
import { Sandbox } from "../../helpers/sandbox";

/**
 * The per-node statelite file: lite's applied list (not the live table), litetree in numeric
 * priority order with xCAT's variables substituted, statelite.statemnt/mntopts resolved node
 * first then groups.
 */
const sb = new Sandbox("node-data");
const IMG = "rhels9-x86_64-statelite-compute";
const rootimg = join(sb.dir, "img", "rootimg");

beforeAll(async () => {
  const run = async (...a: string[]) => expect((await sb.run(...a)).code).toBe(0);
  await run(
    "image",
    "set",
    IMG,
    "provmethod=statelite",
    "osvers=rhels9",
    "osarch=x86_64",
    "profile=compute",
    `rootimgdir=${join(sb.dir, "img")}`,
    "groups=hpc",
  );
  await run("node", "set", "cn001", "groups=rack1,compute");
  await run("node", "set", "cn002", "groups=compute");
  await run("table", "set", "noderes", "node=rack1", "nfsserver=10.1.0.1");
  await run("table", "set", "noderes", "node=compute", "nfsserver=10.0.0.1");
  await run("table", "set", "statelite", "node=compute", "statemnt=$noderes.nfsserver:/nodedata", "mntopts=nolock,tcp");
  await run("table", "set", "statelite", "node=cn002", "statemnt=10.9.9.9:/special");
  await run("table", "set", "litetree", "priority=10", "image=ALL", "directory=$noderes.nfsserver:/statelite/$node", "mntopts=nolock");
  await run("table", "set", "litetree", "priority=2", "image=hpc", "directory=/local/tree");
  await run("table", "set", "litetree", "priority=1.5", "image=other", "directory=/not/for/us");
  await run("table", "set", "litetree", "priority=9", `image=${IMG}`, "directory=10.0.0.5:/x", "disable=1");
  mkdirSync(join(rootimg, ".statelite"), { recursive: true });
  writeFileSync(
    join(rootimg, ".statelite", "litefile.save"),
    [
      `${IMG}: link          /etc/hosts`,
      `${IMG}: link          /root/`,
      `${IMG}: link,persistent /root/.ssh/`,
      `${IMG}: link          /root/.ssh/known_hosts`,
      "",
    ].join("\n"),
  );
  // the live table differs: the node follows what lite applied to the image
  await run("table", "set", "litefile", "image=ALL,file=/not/applied", "options=tmpfs");
});
afterAll(() => sb.cleanup());

const cfg = () => loadConfig({ file: sb.config, env: {} });

describe("per-node statelite data", () => {
  test("rendered file for a node in two groups", () => {
    const db = openDb(sb.dbPath);
    try {
      expect(renderNodeData(stateliteNodeData(db, cfg(), "cn001", IMG, rootimg))).toBe(
        [
          `# xcimg statelite configuration for node cn001, image ${IMG}`,
          "node cn001",
          "statemnt 10.1.0.1:/nodedata", // statelite row of group compute, variable from group rack1 (first group)
          "mntopts nolock,tcp",
          "tree 2 /local/tree", // image=hpc (osimage.groups), priority 2 before 10
          "tree 10 10.1.0.1:/statelite/cn001 nolock",
          "entry link /etc/hosts",
          "entry link /root/",
          "child link,persistent /root/.ssh/ link",
          "child link /root/.ssh/known_hosts link", // top-level ancestor's option
          "",
        ].join("\n"),
      );
    } finally {
      db.close();
    }
  });

  test("a node's own statelite row wins over its group's", () => {
    const db = openDb(sb.dbPath);
    try {
      const d = stateliteNodeData(db, cfg(), "cn002", IMG, rootimg);
      expect(d.statemnt).toBe("10.9.9.9:/special");
      expect(d.mntopts).toBe("nolock,tcp"); // not set on the node row: from the group
      expect(nodeColumn(db, "statelite", "statemnt", "nobody")).toBeNull();
    } finally {
      db.close();
    }
  });

  test("variables: $node, $table.column, site values, several joined with '.'; #CMD= and unset values refused", () => {
    const db = openDb(sb.dbPath);
    try {
      const c = cfg();
      expect(substituteVars(db, c, "cn001", "/statelite/$node/x", "d")).toBe("/statelite/cn001/x");
      expect(substituteVars(db, c, "cn001", "/data/pre$node$noderes.nfsserver", "d")).toBe("/data/precn001.10.1.0.1");
      expect(substituteVars(db, c, "cn001", "/i/$site.installdir", "d")).toBe(`/i${sb.installdir}`);
      expect(() => substituteVars(db, c, "cn001", "/x/#CMD=hostname#", "litetree")).toThrow(DataError);
      expect(() => substituteVars(db, c, "cn001", "/$noderes.tftpserver/x", "statemnt")).toThrow("$noderes.tftpserver has no value for node cn001");
    } finally {
      db.close();
    }
  });

  test("an image lite never prepared has no data for nodes", () => {
    const db = openDb(sb.dbPath);
    try {
      expect(() => stateliteNodeData(db, cfg(), "cn001", IMG, join(sb.dir, "nowhere"))).toThrow(NotFoundError);
    } finally {
      db.close();
    }
  });
});
