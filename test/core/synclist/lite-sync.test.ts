import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Sandbox } from "../../helpers/sandbox";
import { makeImageRoot } from "../../helpers/statelite-fixture";

/** lite (xCAT liteimg) applies the image's synclists into the tree too; --nosyncfiles skips them. */
const sb = new Sandbox("lite-sync");
afterAll(() => sb.cleanup());

test("lite syncs xCAT's default synclist (<installdir>/custom/netboot/<platform>/<profile>.synclist)", async () => {
  const dir = join(sb.dir, "images", "sl");
  expect((await sb.run("image", "set", "sl", "provmethod=statelite", "osvers=rhels9.4", "osarch=x86_64", "profile=compute", `rootimgdir=${dir}`)).code).toBe(0);
  const root = join(dir, "rootimg");
  makeImageRoot(root);
  const src = join(sb.dir, "site-motd");
  writeFileSync(src, "welcome to the cluster\n");
  const listDir = join(sb.installdir, "custom/netboot/rh");
  mkdirSync(listDir, { recursive: true });
  writeFileSync(join(listDir, "compute.synclist"), `${src} -> /etc/motd.site\n`);
  let r = await sb.run("lite", "sl", "--nosyncfiles");
  expect(r.code, r.stderr).toBe(0);
  expect(existsSync(join(root, "etc/motd.site"))).toBe(false);
  r = await sb.run("lite", "sl");
  expect(r.code, r.stderr).toBe(0);
  expect(readFileSync(join(root, "etc/motd.site"), "utf8")).toBe("welcome to the cluster\n");
  expect(r.stderr).toContain(`synclist ${join(listDir, "compute.synclist")}: 1 file(s) synced`);
}, 60000);
