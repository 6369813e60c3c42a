/**
 * What a measurement ran on and with: the machine (CPU, cores, memory, accelerators) and the
 * build (CUDA or not, apreqel and llama.cpp versions). Profiles record both, and the cache keys
 * device-dependent entries by their fingerprint.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { canonicalJson } from "../core/json.js";
import { packageRoot, packageVersion } from "../core/package.js";

/** The machine a measurement ran on. */
export interface Hardware {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly platform: string;
  readonly arch: string;
  /** Accelerator descriptions (ggml backend devices other than the CPU); empty on a CPU build. */
  readonly gpus: readonly string[];
}

/** The software a measurement ran with. */
export interface BuildDescription {
  readonly cuda: boolean;
  readonly apreqelVersion: string;
  readonly llamaCppCommit: string;
}

/** The part of the addon's `buildInfo()` used here (passed in, so this module needs no addon). */
export interface BackendInfo {
  readonly cuda: boolean;
  readonly devices: readonly { readonly name: string; readonly description: string }[];
}

/**
 * Describes this machine; `backend` (the addon's `buildInfo()`) adds its accelerators.
 *
 * @example
 * describeHardware(binding().buildInfo()) // { cpu: "AMD EPYC", cores: 2, ..., gpus: [] }
 */
export function describeHardware(backend?: BackendInfo): Hardware {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    platform: process.platform,
    arch: process.arch,
    gpus: (backend?.devices ?? []).filter((d) => d.name !== "CPU").map((d) => `${d.name}: ${d.description}`),
  };
}

/**
 * Describes the build: `backend.cuda`, the package version and the pinned llama.cpp commit
 * (vendor/llama.cpp.pin.json; "unknown" when the package ships without it).
 *
 * @example
 * describeBuild(binding().buildInfo()) // { cuda: false, apreqelVersion: "0.1.0", llamaCppCommit: "de3ff81…" }
 */
export function describeBuild(backend: Pick<BackendInfo, "cuda">, root = packageRoot): BuildDescription {
  return { cuda: backend.cuda, apreqelVersion: packageVersion(root), llamaCppCommit: readLlamaCommit(root) };
}

/**
 * A short stable id of a hardware/build description (or anything JSON-like), for cache keys.
 *
 * @example
 * fingerprint({ hardware, build }) // "3f9a0c1d2e4b5a69"
 */
export function fingerprint(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 16);
}


function readLlamaCommit(root: string): string {
  let text: string;
  try {
    text = readFileSync(path.join(root, "vendor", "llama.cpp.pin.json"), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "unknown";
    throw e;
  }
  const pin = JSON.parse(text) as { llamaCppCommit?: unknown };
  return typeof pin.llamaCppCommit === "string" ? pin.llamaCppCommit : "unknown";
}
