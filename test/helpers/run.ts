// Moved to scripts/shared/run.ts: the benchmarks use it too, and scripts import nothing from test/.
export * from "../../scripts/shared/run.js";
