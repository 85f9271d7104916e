/** The node-side runner (runner.sh), carried in each netboot/statelite overlay and sent by updatenode. */
import script from "./runner.sh" with { type: "text" };

export const RUNNER_SCRIPT: string = script;
/** Where the runner lives on the node. */
export const RUNNER_PATH = "/etc/xcimg/postscripts.sh";
export const STATUS_FILE = "/run/xcimg/postscripts.status";
