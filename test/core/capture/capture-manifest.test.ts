import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeRootTree } from "../../helpers/bundle-sites";
import { type CaptureEnv, captureEnv } from "../../helpers/capture-env";

/** capture over a real sshd records in the image manifest which node the tree came from. */
let env: CaptureEnv;
let golden: string;
beforeAll(async () => {
  env = await captureEnv("capture-manifest");
  golden = join(env.sb.dir, "golden");
  makeRootTree(golden, { xattrs: false });
  writeFileSync(join(golden, "etc/os-release"), 'ID=debian\nVERSION_ID="12"\n');
});
afterAll(async () => await env.stop());

describe("capture and the image manifest", () => {
  test("the manifest names the golden node, its address and the capture, and digests the captured tree", async () => {
    const r = await env.sb.run(
      "--json",
      "capture",
      "golden",
      "--rootdir",
      golden,
      "-t",
      "diskless",
      "-o",
      "debian12-x86_64-netboot-compute",
      "--keep-identity",
    );
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const m = JSON.parse(readFileSync(join(out.tree, "..", "xcimg-manifest.json"), "utf8"));
    expect(m.origin).toMatchObject({ how: "capture", node: "golden", address: "127.0.0.1", type: "diskless", level: "full", rootdir: golden });
    expect(m.identity.name).toBe("debian12-x86_64-netboot-compute");
    expect(m.tree.path).toBe("rootimg");
    expect(m.tree.entries).toBeGreaterThan(10);
    const show = await env.sb.run("image", "show", "debian12-x86_64-netboot-compute", "--manifest");
    expect(show.stdout).toContain(`origin:     captured from golden (127.0.0.1) ${golden}, diskless full`);
  });
});
