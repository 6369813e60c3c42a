// Moved to scripts/shared/tools.ts: the benchmarks use it too, and scripts import nothing from test/.
export * from "../../scripts/shared/tools.js";
