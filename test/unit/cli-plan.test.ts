import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../lib/cli/main.js";
import { plan } from "../../lib/method/index.js";
import { tempDir } from "../helpers/tmp.js";
import { FIVE_TYPES, blockOrder } from "./method/helpers.js";

const dir = tempDir("apreqel-plan-");
const profileFile = path.join(dir, "profile.json");
const scoresFile = path.join(dir, "scores.json");
const layers = blockOrder(4).map((name, i) => {
  const reward = [5, 1, 7, 2, 3, 8, 0, 4][i] as number;
  return { name, reward, penalty: 8 - reward, score: 2 * reward - 8, meanOneMinusCos: 0.01 * (i + 1) };
});
const scores = { gamma: 0.9, layers };
writeFileSync(profileFile, JSON.stringify(FIVE_TYPES));
writeFileSync(scoresFile, JSON.stringify(scores));

let out: string[];
let err: string[];
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, "log").mockImplementation((s: unknown) => void out.push(String(s)));
  vi.spyOn(console, "error").mockImplementation((s: unknown) => void err.push(String(s)));
});
afterEach(() => vi.restoreAllMocks());

const base = ["plan", "--profile", profileFile, "--scores", scoresFile];

// the same model as an apreqel profile whose prefill latency runs the other way (q3_K slowest per prompt token)
const provenance = { hardware: { cpu: "x", cores: 2, memoryBytes: 1, platform: "linux", arch: "x64", gpus: [] }, build: {}, settings: {} };
const prefillMs: Record<string, number> = { q8_0: 2, q6_K: 2.5, q5_K: 3, q4_K: 3.5, q3_K: 4 };
const appFile = path.join(dir, "apreqel-profile.json");
writeFileSync(
  appFile,
  JSON.stringify({
    model: { sha256: "1".repeat(64), name: "m.gguf" },
    types: Object.fromEntries(
      Object.entries(FIVE_TYPES.types).map(([t, e]) => [t, { ...e, promptMsPerToken: { median: prefillMs[t], low: prefillMs[t]! - 0.1, high: prefillMs[t]! + 0.1, coverage: 0.96875, samples: 6 }, measuredWith: { memory: provenance, latency: provenance, accuracy: provenance } }]),
    ),
  }),
);

describe("apreqel plan --latency", () => {
  it("prefill plans on the profile's prompt latency", async () => {
    expect(await main(["plan", "--profile", appFile, "--scores", scoresFile, "--priority", "latency", "--latency", "prefill", "--json"])).toBe(0);
    const json = JSON.parse(out[0] as string) as Record<string, unknown>;
    const prefill = { types: Object.fromEntries(Object.entries(FIVE_TYPES.types).map(([t, e]) => [t, { ...e, latencyMsPerToken: prefillMs[t]! }])) };
    expect(json).toEqual({ ...plan({ profile: prefill, scores, weights: { memory: 0.1, latency: 0.8, accuracy: 0.1 } }), priority: { name: "latency", weighting: "latency-0.8" } });
    // and decode (the default) is the profile's decode latency
    out.length = 0;
    expect(await main(["plan", "--profile", appFile, "--scores", scoresFile, "--priority", "latency", "--json"])).toBe(0);
    expect((JSON.parse(out[0] as string) as { estimate: unknown }).estimate).toEqual(plan({ profile: FIVE_TYPES, scores, weights: { memory: 0.1, latency: 0.8, accuracy: 0.1 } }).estimate);
  });

  it("refuses prefill on a bare profile, and an unknown criterion", async () => {
    expect(await main([...base, "--latency", "prefill"])).toBe(2);
    expect(err).toEqual(["apreqel plan: --latency prefill needs profiles written by `apreqel profile` (a bare profile has no prefill latency) (see apreqel plan --help)"]);
    err.length = 0;
    expect(await main([...base, "--latency", "decod"])).toBe(2);
    expect(err[0]).toContain('unknown latency criterion "decod" for option --latency; did you mean "decode"?');
  });
});

describe("apreqel plan", () => {
  it("prints the contract JSON, and only that, with --json", async () => {
    expect(await main([...base, "--weights", "0.1,0.8,0.1", "--json"])).toBe(0);
    expect(err).toEqual([]);
    expect(out).toHaveLength(1);
    const json = JSON.parse(out[0] as string) as Record<string, unknown>;
    expect(Object.keys(json).slice(0, 6)).toEqual(["weights", "candidates", "distribution", "estimate", "score", "allocation"]);
    const expected = plan({ profile: FIVE_TYPES, scores, weights: { memory: 0.1, latency: 0.8, accuracy: 0.1 } });
    expect(json).toEqual({ ...expected });
    expect(json["candidates"]).toBe(495); // C(8 + 5 − 1, 5 − 1)
  });

  it("uses the paper's 0.8 weighting for a priority and says so", async () => {
    expect(await main([...base, "--priority", "memory", "--json"])).toBe(0);
    const json = JSON.parse(out[0] as string) as Record<string, unknown>;
    expect(json["weights"]).toEqual({ memory: 0.8, latency: 0.1, accuracy: 0.1 });
    expect(json["priority"]).toEqual({ name: "memory", weighting: "memory-0.8" });
  });

  it("applies constraints with units", async () => {
    expect(await main([...base, "--priority", "accuracy", "--max-memory", "5GB", "--json"])).toBe(0);
    const json = JSON.parse(out[0] as string) as { estimate: { memoryBytes: number }; candidates: number };
    expect(json.estimate.memoryBytes).toBeLessThanOrEqual(5e9);
    expect(json.candidates).toBeLessThan(495);
  });

  it("prints a readable summary without --json", async () => {
    expect(await main([...base, "--priority", "latency", "--types", "q8_0,q4_K"])).toBe(0);
    const text = out.join("\n");
    expect(text).toContain("weights: memory 0.1, latency 0.8, accuracy 0.1 (--priority latency: the paper's latency-0.8)");
    expect(text).toContain("searched 9 splits with the linear estimator; 9 meet the constraints");
    expect(text).toMatch(/allocation: {2}block {2}attn {4}ffn\n {13} {4}0 {2}q\d_[0K]/);
  });

  const errors: [string, string[], string][] = [
    ["an unknown option", ["--weight", "1,0,0"], "apreqel plan: unknown option --weight; did you mean --weights? (see apreqel plan --help)"],
    ["weights not summing to 1", ["--weights", "0.5,0.7,0"], "apreqel plan: --weights: weights must sum to 1 (got 1.2) (see apreqel plan --help)"],
    ["a bad size", ["--max-memory", "2XB"], 'apreqel plan: expected a size like 2GB or 512MiB for option --max-memory but received "2XB" (see apreqel plan --help)'],
    ["a missing scores file", ["--scores", path.join(dir, "nope.json")], `apreqel plan: --scores: file not found: ${path.join(dir, "nope.json")}`],
    ["a type the profile lacks", ["--types", "q8_0,q2_K"], 'apreqel plan: profile has no measurements for type "q2_K" (it has q8_0, q6_K, q5_K, q4_K, q3_K)'],
  ];
  for (const [what, args, line] of errors) {
    it(`exits 2 with one line for ${what}`, async () => {
      const argv = args[0] === "--scores" ? ["plan", "--profile", profileFile, ...args] : [...base, ...args];
      expect(await main(argv)).toBe(2);
      expect(out).toEqual([]);
      expect(err).toEqual([line]);
    });
  }

  it("exits 2 naming the constraint when none can be met", async () => {
    expect(await main([...base, "--max-memory", "1GB"])).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^apreqel plan: no distribution meets the constraints: maxMemoryBytes = 1000000000 cannot be met/);
  });

  it("requires --profile and --scores", async () => {
    expect(await main(["plan", "--scores", scoresFile])).toBe(2);
    expect(err).toEqual(["apreqel plan: --profile is required (see apreqel plan --help)"]);
  });
});

describe("apreqel plan --method", () => {
  it("runs the paper's method with --method paper, the same plan as without it", async () => {
    expect(await main([...base, "--weights", "0.1,0.8,0.1", "--json"])).toBe(0);
    const without = out[0];
    out.length = 0;
    expect(await main([...base, "--weights", "0.1,0.8,0.1", "--method", "paper", "--json"])).toBe(0);
    expect(out).toEqual([without]);
  });

  it("refuses --method front, naming the command that plans on the front", async () => {
    expect(await main([...base, "--method", "front"])).toBe(2);
    expect(out).toEqual([]);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^apreqel plan: --method front needs the model: .*`apreqel quantize MODEL --method front --no-measure`/);
  });

  it("refuses a misspelt method with the usual suggestion", async () => {
    expect(await main([...base, "--method", "papr"])).toBe(2);
    expect(err[0]).toContain('unknown method "papr" for option --method; did you mean "paper"?');
  });
});
