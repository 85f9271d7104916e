import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/core/config/load";
import { type Db, openDb } from "../../../src/core/db/open";
import { upsert } from "../../../src/core/db/rows";
import { nodeScriptFiles, sharedScriptData } from "../../../src/core/postscripts/node-files";

/**
 * `xcimg boot` reads the site-wide part of every node's postscript files (site, networks, nics,
 * the xcatdefaults row, which scripts exist, the image's package lists) once per run and hands it to nodeScriptFiles for
 * each node. What a node gets must be exactly what the per-node lookups gave: its own nics row,
 * not the first node's, and the same variables in the same order.
 */
let dir: string;
let db: Db;
const config = () => ({ ...loadConfig({ env: {} }), installdir: join(dir, "install"), master: "10.0.0.1" });
const input = (node: string, ip: string) => ({
  node,
  attrs: { ip, groups: "compute,all", postscripts: "setupib" },
  image: {
    name: "img",
    attrs: { osvers: "debian12", osarch: "x86_64", profile: "compute", postscripts: "syslog,missing1", pkglist: join(dir, "compute.pkglist") },
  },
  state: "netboot",
  master: "10.0.0.1",
  mac: "52:54:00:00:00:01",
  systemd: true,
});

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "xcimg-shared-lookups-"));
  mkdirSync(join(dir, "install", "postscripts"), { recursive: true });
  for (const s of ["syslog", "setupib", "confignetwork"]) writeFileSync(join(dir, "install", "postscripts", s), "#!/bin/sh\n");
  writeFileSync(join(dir, "compute.pkglist"), "# the image's packages\nopenssh-server\nchrony\n");
  db = openDb(join(dir, "xcat.sqlite"));
  upsert(db, "site", { key: "domain" }, { value: "cluster.example" });
  upsert(db, "site", { key: "master" }, { value: "10.0.0.254" });
  upsert(db, "networks", { netname: "n1" }, { net: "10.0.0.0", mask: "255.255.255.0" });
  upsert(db, "postscripts", { node: "xcatdefaults" }, { postscripts: "confignetwork,remoteshell" });
  upsert(db, "nics", { node: "cn01" }, { nicips: "ib0!10.1.0.1" });
  upsert(db, "nics", { node: "cn02" }, { nicips: "ib0!10.1.0.2" });
});
afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("postscript files with the site's lookups made once", () => {
  test("every node's files are byte for byte those of per-node lookups, its own nics row included", () => {
    const shared = sharedScriptData(config(), db);
    for (const [node, ip] of [
      ["cn01", "10.0.0.11"],
      ["cn02", "10.0.0.12"],
      ["cn03", "10.0.0.13"],
    ] as const) {
      const once = nodeScriptFiles(config(), db, input(node, ip), shared);
      const alone = nodeScriptFiles(config(), db, input(node, ip));
      expect(once.files).toEqual(alone.files);
      expect(once.warning).toBe(alone.warning);
      const my = String(once.files.find((f) => f.name === "xcatpost/mypostscript")?.data);
      expect(my).toContain("DOMAIN='cluster.example'\n");
      expect(my).toContain("SITEMASTER='10.0.0.254'\n");
      expect(my).toContain("NETWORKS_LINES='1'\n");
      expect(my).toContain("OSPKGS='openssh-server,chrony'\n");
      if (node === "cn03") expect(my).not.toContain("NICIPS=");
      else expect(my).toContain(`NICIPS='ib0!10.1.0.${node.slice(-1)}'\n`);
      // xcatdefaults, image, node: existing scripts listed, the missing one reported
      expect(String(once.files.find((f) => f.name === "xcatpost/xcimg-postscripts.list")?.data)).toBe("'confignetwork'\n'syslog'\n'setupib'\n");
      expect(once.scripts.missing).toEqual(["missing1"]);
    }
  });
});
