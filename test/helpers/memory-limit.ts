// Moved to scripts/shared/memory-limit.ts: the benchmarks use it too, and scripts import nothing from test/.
export * from "../../scripts/shared/memory-limit.js";
