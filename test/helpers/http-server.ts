import { existsSync, statSync } from "node:fs";
import { join, normalize } from "node:path";

/**
 * The management node's web server for boot tests: serves installdir at /install/ and tftpdir
 * at /tftpboot/ (xCAT's layout) on 127.0.0.1, which qemu's user-mode network shows to the
 * guest as 10.0.2.2. Every request is logged so a test can prove what the installer fetched.
 */
export interface TestHttpServer {
  port: number;
  requests: string[];
  stop(): void;
}

export function serveSite(roots: { installdir: string; tftpdir?: string }): TestHttpServer {
  const requests: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = decodeURIComponent(new URL(req.url).pathname);
      requests.push(`${req.method} ${path}`);
      const [prefix, root] = path.startsWith("/install/") ? ["/install/", roots.installdir] : path.startsWith("/tftpboot/") && roots.tftpdir ? ["/tftpboot/", roots.tftpdir] : [null, null];
      if (!prefix || !root) return new Response("not found\n", { status: 404 });
      const file = normalize(join(root, path.slice(prefix.length)));
      if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) return new Response("not found\n", { status: 404 });
      return new Response(Bun.file(file));
    },
  });
  return { port: server.port as number, requests, stop: () => server.stop(true) };
}
