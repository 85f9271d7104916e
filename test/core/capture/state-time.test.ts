import { afterAll, expect, test } from "bun:test";
import { linkSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localChange, touchTreeState, treePaths } from "../../../src/core/capture/tree";

/**
 * After a failed capture attempt, its hard-link work has changed the ctimes of the live tree's
 * files; touchTreeState moves the tree's state past them so the next capture stays incremental
 * (localChange: `find -cnewer <state>`). It used to set the state's time from a JavaScript Date,
 * cut to the millisecond: a ctime stamped in the same millisecond was then newer than the state,
 * and the next capture went full (capture-hostile failed so in CI). Many tries in a row, each
 * touching right after the link work, as the failed attempt does.
 */
const dir = mkdtempSync(join(tmpdir(), "xcimg-state-time-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the tree's state is never older than the ctimes its failed attempt left", async () => {
  const p = treePaths(join(dir, "rootimg"));
  mkdirSync(p.tree, { recursive: true });
  mkdirSync(p.work, { recursive: true });
  const files = Array.from({ length: 20 }, (_, i) => join(p.tree, `f${i}`));
  for (const f of files) writeFileSync(f, "x\n");
  writeFileSync(join(p.work, "tree.json"), "{}\n");
  const signal = new AbortController().signal;
  const found: string[] = [];
  for (let i = 0; i < 150; i++) {
    // what a failed attempt's hard-link copy does to the live files: their link count, hence ctime
    for (const f of files) {
      linkSync(f, `${f}.l`);
      unlinkSync(`${f}.l`);
    }
    touchTreeState(p);
    const changed = await localChange(p, signal);
    if (changed) found.push(changed);
  }
  expect(found).toEqual([]);
}, 120_000);
