import { dirname } from "node:path";
import { type DirectiveState, substituteLine } from "./directives";
import { ReadBudget } from "./files";
import { type ExpandContext, loadLines } from "./source";
import type { RenderRequest } from "./types";

export type { RenderRequest } from "./types";
export { TemplateError, TemplatePolicyError } from "./types";

/**
 * Render an install template for one node, as xCAT's Template.pm subvars() does: includes
 * first (with the file/line of every resulting line kept), then every directive in one pass.
 * Throws TemplateError (node, file, line) for a missing value, an unreadable include, a
 * disabled #COMMAND#, ...; returns the kickstart/AutoYaST/preseed text.
 */
export function renderTemplate(req: RenderRequest): string {
  const lookupVar = (name: string): string | undefined => {
    if (Object.hasOwn(req.vars, name)) return req.vars[name];
    const v = req.env[name];
    if (v !== undefined) return v;
    return name === "XCATROOT" ? "/opt/xcat" : undefined; // Template.pm envvar()'s default
  };
  const pkglists = (req.pkglist ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  let packages: string | undefined;
  const st: DirectiveState = {
    req,
    lookupVar,
    preseedPackages: () => {
      packages ??= pkglists
        .flatMap((f) => loadLines(f, "plain", cx))
        .filter((l) => !/^\s*#/.test(l.text))
        .flatMap((l) => l.text.split(/[\s,]+/))
        .filter((name) => name !== "" && !/^[@-]/.test(name)) // RPM-style @group / -package lines mean nothing to apt
        .join(" ");
      return packages;
    },
  };
  const cx: ExpandContext = {
    node: req.node,
    rootDir: dirname(req.template),
    lookupVar,
    pkglists,
    expandPath: (path, at) => substituteLine({ ...at, text: path }, st),
    policy: req.files,
    budget: new ReadBudget(req.fileCache),
    ownVars: new Set(Object.keys(req.vars)),
  };
  const lines = loadLines(req.template, "plain", cx);
  return `${lines.map((l) => substituteLine(l, st)).join("\n")}\n`;
}
