#!/usr/bin/env bun
import { main } from "./cli/main";
import { hasRunawayWorker } from "./core/noderange/interruptible";

process.exitCode = await main(process.argv.slice(2));
// a worker stopped in the middle of a regular-expression match keeps running until the match
// ends (core/noderange/interruptible.ts); leave now instead of waiting for it
if (hasRunawayWorker()) process.exit(process.exitCode);
