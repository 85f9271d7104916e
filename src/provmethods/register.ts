import { registerMethodFacts } from "../core/provmethod/facts";
import { facts as install } from "./install/facts";
import { facts as netboot } from "./netboot/facts";
import { facts as statelite } from "./statelite/facts";
import { facts as sysclone } from "./sysclone/facts";

/**
 * Importing this module hands every provmethod's facts to core (src/core/provmethod/facts.ts).
 * Facts are plain data and small functions, so this is cheap at start-up; the operations stay
 * lazily loaded by src/provmethods/registry.ts.
 */
registerMethodFacts([install, netboot, statelite, sysclone]);
