// Moved to scripts/shared/streaming-job.ts: the benchmarks use it too, and scripts import nothing from test/.
export * from "../../scripts/shared/streaming-job.js";
