// Runs the apreqel CLI from source (for tests that need a separate process): vite-node test/helpers/run-cli.ts ARGS...
import { main } from "../../lib/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
