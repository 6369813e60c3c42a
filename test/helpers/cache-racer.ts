// Child process entry (run with vite-node): argv = cacheDir, barrierDir, modelSha256, label.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { race } from "./cache-race.js";

const [cacheDir, barrier, modelSha256, label] = process.argv.slice(2) as [string, string, string, string];
const result = await race(cacheDir, barrier, modelSha256, label);
writeFileSync(path.join(barrier, `result-${label}.json`), JSON.stringify(result));
