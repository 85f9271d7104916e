import type { Db } from "../db/open";
import { enabledRow } from "../db/rows";
import type { Attrs } from "./object";

/**
 * chdef's special case for the postscripts table (perl-xCAT/xCAT/DBobjUtils.pm setobjdefs): a
 * node's postscripts or postbootscripts that the `xcatdefaults` row already runs are not stored
 * again, each with xCAT's warning "<node>: postscripts '<s>' is already included in the
 * 'xcatdefaults'." (xCAT-test/autotest/testcase/chdef/cases0, chdef_t_node).
 */
export function withoutXcatDefaults(db: Db): (node: string, attrs: Attrs, warn: (msg: string) => void) => Attrs {
  const defaults = enabledRow(db, "postscripts", { node: "xcatdefaults" }) ?? {};
  const lists = {
    postscripts: new Set((defaults.postscripts ?? "").split(",").filter(Boolean)),
    postbootscripts: new Set((defaults.postbootscripts ?? "").split(",").filter(Boolean)),
  };
  return (node, attrs, warn) => {
    if (node === "xcatdefaults") return attrs;
    let out = attrs;
    for (const col of ["postscripts", "postbootscripts"] as const) {
      const v = attrs[col];
      if (!v) continue;
      const kept = v.split(",").filter((s) => {
        if (!lists[col].has(s)) return true;
        warn(`${node}: ${col} '${s}' is already included in the 'xcatdefaults'.`);
        return false;
      });
      out = { ...out, [col]: kept.join(",") };
    }
    return out;
  };
}
