/** The demo's static web server (scripts/serve-static.ts), used by the boot tests as the MN's nginx. */
export { type StaticServer, serveStatic } from "../../scripts/serve-static";
