// bunfig.toml [test] preload: tests that call core directly see the same provmethod facts the
// CLI registers at start-up (src/provmethods/register.ts).
import "../../src/provmethods/register";
