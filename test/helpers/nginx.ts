import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Sandbox } from "./sandbox";

/**
 * A real nginx serving a sandbox as docs/boot.md's server block does — /tftpboot, /install and
 * the per-node snippet `xcimg boot` writes (its overlays, answer files, +post scripts and the
 * installed nodes' WebDAV markers) — with its workers as www-data and an access log tests read.
 * The sandbox directory must be traversable by www-data (chmod 0755).
 */
export interface Nginx {
  port: number;
  /** The access log so far: one `"METHOD /path HTTP/1.x" status` line per request. */
  log(): string;
  stop(): Promise<void>;
}

export async function startNginx(sb: Sandbox, port: number): Promise<Nginx> {
  const dir = join(sb.dir, "nginx");
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, "nginx.conf");
  const access = join(dir, "access.log");
  writeFileSync(
    conf,
    `user www-data; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events {}
http {
  log_format req '"$request" $status';
  access_log ${access} req;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location /tftpboot/ { alias ${sb.tftpdir}/; }
    include ${join(sb.dir, "db", "nginx-node-files.conf")};
    location /install/  { alias ${sb.installdir}/; location ~ /\\. { deny all; } }
  }
}
`,
  );
  const check = Bun.spawnSync(["nginx", "-t", "-c", conf, "-p", dir], { stderr: "pipe" });
  if (check.exitCode !== 0) throw new Error(`nginx -t: ${check.stderr.toString()}`);
  const proc = Bun.spawn(["nginx", "-c", conf, "-p", dir], { stdout: "ignore", stderr: "ignore" });
  for (let i = 0; ; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch {
      if (i > 200) throw new Error("nginx did not start");
      await Bun.sleep(20);
    }
  }
  return {
    port,
    log: () => {
      try {
        return readFileSync(access, "utf8");
      } catch {
        return "";
      }
    },
    async stop() {
      proc.kill("SIGQUIT");
      await proc.exited;
    },
  };
}
