/** `apreqel worker --redis URL --store DIR`: take the fleet's jobs until stopped (Ctrl-C). */
import { OptionError } from "../core/errors.js";
import { parseInteger } from "../core/validate.js";
import { parse, type CommandContext } from "./args.js";

export const usage = `usage: apreqel worker --redis URL --store DIR [--device-class NAME] [--concurrency N] [options]
  Takes jobs from a fleet's queues in Redis (uniform files, calibration passes, probe batches; latency
  jobs of its device class) and runs each in a child process, until Ctrl-C. See README: Run on a fleet.
  --redis URL           redis://[user:password@]host:port[/db], or rediss://… for TLS
  --store DIR           the folder the coordinator and every worker share (models in, results out)
  --device-class NAME   which latency jobs it takes (default: this machine's fingerprint, cpu-… or gpu-…)
  --latency-only        take only the latency jobs of its device class (a device measuring latency
                        should run nothing else meanwhile)
  --concurrency N       jobs at a time from the shared queue (default 1; each job uses --threads of
                        the coordinator's command)
  --name NAME           this worker's name in the coordinator's report (default host:pid)
  --cache-dir DIR       this worker's cache (default: $APREQEL_CACHE_DIR or ~/.cache/apreqel)
  --stall-ms N          a job whose worker stops renewing its lock this long is handed to another
                        worker (default 30000)`;

export async function run(argv: readonly string[], context: CommandContext = {}): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      redis: { type: "string" },
      store: { type: "string" },
      "device-class": { type: "string" },
      concurrency: { type: "string" },
      name: { type: "string" },
      "cache-dir": { type: "string" },
      "stall-ms": { type: "string" },
      "latency-only": { type: "boolean" },
    },
    false,
  );
  if (positionals.length > 0) throw new OptionError("arguments", "worker takes no positional arguments");
  if (values.redis === undefined) throw new OptionError("--redis", "--redis URL is required: the Redis the coordinator queues jobs on");
  if (values.store === undefined) throw new OptionError("--store", "--store DIR is required: the folder the coordinator and workers share");
  if (values["latency-only"] && values.concurrency !== undefined) throw new OptionError("--concurrency", "--concurrency is for the shared queue, which a --latency-only worker does not take from");
  const concurrency = values.concurrency === undefined ? 1 : parseInteger(values.concurrency, "--concurrency", 1);
  const stallMs = values["stall-ms"] === undefined ? undefined : parseInteger(values["stall-ms"], "--stall-ms", 1000);
  const { requireRedis } = await import("../fleet/redis.js");
  await requireRedis(values.redis);
  const deviceClass = values["device-class"] ?? (await defaultDeviceClass());
  const { startWorker } = await import("../fleet/worker.js");
  const worker = await startWorker({
    redis: values.redis,
    store: values.store,
    deviceClass,
    concurrency,
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(values["cache-dir"] !== undefined ? { cacheDir: values["cache-dir"] } : {}),
    ...(stallMs !== undefined ? { stallMs } : {}),
    ...(values["latency-only"] ? { latencyOnly: true } : {}),
    log: (line) => console.log(line),
  });
  console.log(`${worker.name}: device class ${deviceClass}; waiting for jobs on ${worker.queues.join(", ")} (Ctrl-C stops)`);
  await new Promise<void>((resolve) => {
    if (context.signal === undefined) return; // a library caller without a signal: runs until the process ends
    if (context.signal.aborted) resolve();
    context.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  console.log(`${worker.name}: stopping (the jobs in hand finish first)`);
  await worker.close();
  return 0;
}

/** This machine's device class: its hardware + build fingerprint (what the cache keys latencies by). */
async function defaultDeviceClass(): Promise<string> {
  const { buildInfo } = await import("../ops/build-info.js");
  const { describeBuild, describeHardware, fingerprint } = await import("../pipeline/hardware.js");
  const backend = buildInfo();
  const hardware = describeHardware(backend);
  return `${hardware.gpus.length > 0 ? "gpu" : "cpu"}-${fingerprint({ hardware, build: describeBuild(backend) }).slice(0, 12)}`;
}
