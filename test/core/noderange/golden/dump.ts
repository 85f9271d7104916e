// Prints the noderange fixture and cases as JSON for generate.pl (see there).
import { FIXTURE, GOLDEN_CASES } from "../noderange-fixture";

console.log(JSON.stringify({ fixture: FIXTURE, cases: GOLDEN_CASES }));
