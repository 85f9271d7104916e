import type { CaptureRequest } from "./capture";
import type { CaptureType } from "./plan";

/**
 * The provmethod operation receives the command's parsed flags as a loose record (the
 * registry's shape is shared by every provmethod); this turns it into a typed request.
 */
export function captureRequest(req: Record<string, unknown>, type: CaptureType): CaptureRequest {
  const str = (k: string) => (typeof req[k] === "string" && req[k] !== "" ? (req[k] as string) : undefined);
  const list = (k: string) => (Array.isArray(req[k]) ? (req[k] as unknown[]).map(String) : []);
  return {
    node: String(req.node),
    type,
    image: str("image") ?? str("osimage"),
    profile: str("profile"),
    excludes: list("exclude"),
    excludeFile: str("excludeFile"),
    rootdir: str("rootdir"),
    keepIdentity: Boolean(req.keepIdentity),
    ssh: { port: str("port"), user: str("user"), identity: str("identity"), acceptNewHostkey: Boolean(req.acceptNewHostkey) },
  };
}
