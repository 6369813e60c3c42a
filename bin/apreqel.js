#!/usr/bin/env node
// The `apreqel` command: the compiled CLI lives in dist/ (built by `npm run build:ts`).
import("../dist/cli/main.js").then(
  (cli) => cli.main(process.argv.slice(2), { signal: cli.interruptSignal() }).then((code) => { process.exitCode = code; }),
  (e) => {
    if (e && e.code === "ERR_MODULE_NOT_FOUND") {
      console.error("apreqel: dist/ is missing; run `npm run build:ts` in the apreqel folder");
      process.exitCode = 2;
    } else {
      throw e;
    }
  },
);
