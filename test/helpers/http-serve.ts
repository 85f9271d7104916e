import { statSync } from "node:fs";
import { join, normalize } from "node:path";

/**
 * A static file server on 127.0.0.1 standing in for the management node's nginx/httpd:
 * it maps URL prefixes to directories exactly as docs/boot.md configures them (/tftpboot →
 * tftpdir, /install → installdir). A qemu guest on user-mode networking reaches it as
 * 10.0.2.2:<port>. Not xcimg: nodes must boot with no xcimg process serving them.
 */
export interface StaticServer {
  port: number;
  /** Paths requested, in order (for asserting what a node fetched). */
  log: string[];
  stop(): void;
}

export function serveStatic(mounts: Record<string, string>, port = 0): StaticServer {
  const log: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
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
