// Moved to scripts/shared/shared.ts: the benchmarks use it too, and scripts import nothing from test/.
export * from "../../scripts/shared/shared.js";
