#!/usr/bin/env bun
/**
 * A static file server for the demo and the boot tests, standing in for the management
 * node's nginx/httpd with the URL layout docs/boot.md configures: /tftpboot → tftpdir,
 * /install → installdir. It is not xcimg: nodes boot with no xcimg process serving them.
 *
 *   bun scripts/serve-static.ts <port> /tftpboot=<dir> /install=<dir>
 */
import { statSync } from "node:fs";
import { join, normalize } from "node:path";

export interface StaticServer {
  port: number;
  /** Paths requested, in order (tests assert what a node fetched). */
  log: string[];
  stop(): void;
}

export function serveStatic(mounts: Record<string, string>, port = 0, hostname = "127.0.0.1"): StaticServer {
  const log: string[] = [];
  const server = Bun.serve({
    hostname,
    port,
    fetch(req) {
      const path = decodeURIComponent(new URL(req.url).pathname).replace(/\/+/g, "/");
      log.push(path);
      for (const [prefix, dir] of Object.entries(mounts)) {
        if (path !== prefix && !path.startsWith(`${prefix}/`)) continue;
        const rel = normalize(path.slice(prefix.length));
        if (rel.split("/").includes("..")) return new Response("forbidden", { status: 403 });
        const file = join(dir, rel);
        try {
          if (!statSync(file).isFile()) break;
        } catch {
          break;
        }
        return new Response(Bun.file(file));
      }
      return new Response("not found", { status: 404 });
    },
  });
  return { port: server.port as number, log, stop: () => server.stop(true) };
}

if (import.meta.main) {
  const [port, ...specs] = process.argv.slice(2);
  const mounts: Record<string, string> = {};
  for (const s of specs) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new Error(`expected /prefix=dir, got ${s}`);
    mounts[s.slice(0, eq)] = s.slice(eq + 1);
  }
  const srv = serveStatic(mounts, Number(port ?? 0));
  console.error(
    `serving ${Object.entries(mounts)
      .map(([p, d]) => `${p} → ${d}`)
      .join(", ")} on 127.0.0.1:${srv.port}`,
  );
}
