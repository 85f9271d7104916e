import { expect } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export const FIXTURES = join(import.meta.dir, "..", "fixtures");

/**
 * Compare `actual` with a checked-in golden file. UPDATE_GOLDEN=1 rewrites the file instead
 * (review the diff before committing it).
 */
export function expectGolden(actual: string, rel: string): void {
  const file = join(FIXTURES, rel);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) {
    if (process.env.UPDATE_GOLDEN !== "1") throw new Error(`golden file ${rel} is missing; run with UPDATE_GOLDEN=1 to create it`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  expect(actual).toBe(readFileSync(file, "utf8"));
}
