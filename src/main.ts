#!/usr/bin/env bun
import { basename } from "node:path";
import { main } from "./cli/main";
import { MULTI_CALL_NAMES } from "./cli/xcat/commands";
import { hasRunawayWorker } from "./core/noderange/interruptible";

// multi-call: a `packimage -> xcimg` symlink runs `xcimg packimage`, so a site's scripts run unchanged
const invoked = basename(process.argv0 ?? "");
const args = process.argv.slice(2);
process.exitCode = await main(MULTI_CALL_NAMES.includes(invoked) ? [invoked, ...args] : args);
// a worker stopped in the middle of a regular-expression match keeps running until the match
// ends (core/noderange/interruptible.ts); leave now instead of waiting for it
if (hasRunawayWorker()) process.exit(process.exitCode);
