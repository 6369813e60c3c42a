import { describe, expect, it } from "vitest";
import { parseCostTable, quantizeRecipe, type CostTable } from "../../../lib/method/index.js";
import { TINY } from "./helpers.js";

const PATHS = { input: "model-f16.gguf", output: "model-mix.gguf", recipeFile: "model-mix.txt" };

describe("quantizeRecipe", () => {
  it("writes one anchored, escaped line per tensor and the exact command", () => {
    const dense = parseCostTable(TINY);
    const recipe = quantizeRecipe(dense, [1, 2, 2], PATHS);
    expect(recipe.text).toBe("^blk\\.0\\.attn_q\\.weight$=q6_K\n^blk\\.0\\.attn_k\\.weight$=q4_K\n^blk\\.0\\.ffn_down\\.weight$=q4_K\n");
    // q4_K holds 4 + 8 bytes, q6_K 6: the file type is Q4_K (llama-quantize's alias of Q4_K_M).
    expect(recipe.baseType).toBe("q4_K");
    expect(recipe.argv).toEqual(["llama-quantize", "--pure", "--tensor-type-file", "model-mix.txt", "model-f16.gguf", "model-mix.gguf", "Q4_K"]);
    expect(recipe.command).toBe("llama-quantize --pure --tensor-type-file model-mix.txt model-f16.gguf model-mix.gguf Q4_K");
    // Each line is a regular expression matching its own tensor and no other (blk.0 must not match blk.10).
    for (const line of recipe.text.trim().split("\n")) {
      const [pattern, type] = line.split("=") as [string, string];
      const re = new RegExp(pattern);
      const own = Object.entries(recipe.tensorTypes).filter(([name]) => re.test(name));
      expect(own).toHaveLength(1);
      expect(own[0]?.[1]).toBe(type);
      expect(re.test((own[0]?.[0] as string).replace("blk.0", "blk.10"))).toBe(false);
    }
  });

  it("imatrix, threads, pinned tensors, a chosen base type and quoting", () => {
    const dense = parseCostTable(TINY);
    const recipe = quantizeRecipe(dense, [0, 0, 0], {
      ...PATHS,
      input: "my model.gguf",
      imatrix: "imatrix.gguf",
      threads: 4,
      baseType: "q6_K",
      fixedTypes: { "token_embd.weight": "q4_K", "output.weight": "q6_K" },
    });
    expect(recipe.text.split("\n").slice(3)).toEqual(["^token_embd\\.weight$=q4_K", "^output\\.weight$=q6_K", ""]);
    expect(recipe.command).toBe("llama-quantize --pure --tensor-type-file model-mix.txt --imatrix imatrix.gguf 'my model.gguf' model-mix.gguf Q6_K 4");
  });

  it("refuses what llama-quantize would not do as written", () => {
    const dense = parseCostTable(TINY);
    expect(() => quantizeRecipe(dense, [0, 0, 0], { ...PATHS, baseType: "f16" })).toThrow(
      'options.baseType must be a quantized type (got "f16"): llama-quantize ignores --tensor-type entries when the file type is f16',
    );
    const iq: CostTable = { ...TINY, types: ["q8_0", "iq2_xs"], units: TINY.units.map((u) => ({ ...u, costs: { q8_0: u.costs.q8_0, iq2_xs: u.costs.q4_K } })) };
    expect(() => quantizeRecipe(parseCostTable(iq), [1, 0, 0], PATHS)).toThrow(
      'llama-quantize needs an importance matrix for iq2_xs (tensor "blk.0.attn_q.weight"); give options.imatrix',
    );
    expect(quantizeRecipe(parseCostTable(iq), [1, 0, 0], { ...PATHS, imatrix: "i.gguf" }).argv).toContain("--imatrix");
    const noNames: CostTable = { ...TINY, units: TINY.units.map(({ tensors: _, ...u }) => u) };
    expect(() => quantizeRecipe(parseCostTable(noNames), [0, 0, 0], PATHS)).toThrow('unit "a" has no tensor names; a recipe needs them');
    expect(() => quantizeRecipe(dense, [0, 0, 0], { ...PATHS, fixedTypes: { "blk.0.attn_q.weight": "q8_0" } })).toThrow(
      'options.fixedTypes names "blk.0.attn_q.weight", which a unit already covers',
    );
    expect(() => quantizeRecipe(dense, [0, 3, 0], PATHS)).toThrow('unit "b" cannot take type index 3');
    expect(() => quantizeRecipe(dense, [0, 0, 0], { ...PATHS, output: "" })).toThrow("options.output must be a non-empty path (got \"\")");
    const upper: CostTable = { ...TINY, units: TINY.units.map((u, i) => (i === 0 ? { ...u, tensors: ["Blk.0.attn_q.weight"] } : u)) };
    expect(() => quantizeRecipe(parseCostTable(upper), [0, 0, 0], PATHS)).toThrow(
      'tensor "Blk.0.attn_q.weight" has upper-case letters; llama-quantize lower-cases --tensor-type names, so it cannot be matched',
    );
  });
});

describe("parseCostTable: validation names the field", () => {
  const unit = TINY.units[0] as CostTable["units"][number];
  const bad = (patch: Record<string, unknown>): unknown => ({ ...TINY, ...patch });
  it.each([
    [bad({ types: [] }), "types must list at least one type (got none)"],
    [bad({ types: ["q4_k"] }), 'unknown type "q4_k"; did you mean "q4_K"?'],
    [bad({ units: [] }), "table.units must be a non-empty array (got none)"],
    [bad({ units: [unit, unit] }), 'table.units lists "a" twice'],
    [bad({ units: [{ ...unit, params: 0 }] }), "table.units[0].params must be a positive integer (got 0)"],
    [bad({ units: [{ ...unit, costs: {} }] }), "table.units[0].costs must list at least one type (got none)"],
    [bad({ units: [{ ...unit, costs: { q5_K: { bytes: 1, kld: 0, latencyMs: 0 } } }] }), 'table.units[0].costs has "q5_K", which is not in table.types (q8_0, q6_K, q4_K)'],
    [bad({ units: [{ ...unit, costs: { q8_0: { bytes: 1.5, kld: 0, latencyMs: 0 } } }] }), "table.units[0].costs.q8_0.bytes must be a non-negative integer (got 1.5)"],
    [bad({ units: [{ ...unit, costs: { q8_0: { bytes: 1, kld: Number.NaN, latencyMs: 0 } } }] }), "table.units[0].costs.q8_0.kld must be a finite number (got NaN)"],
    [bad({ units: [{ ...unit, costs: { q8_0: { bytes: 1, kld: 0, latencyMs: -1 } } }] }), "table.units[0].costs.q8_0.latencyMs must be ≥ 0 (got -1)"],
    [bad({ units: [{ ...unit, costs: { q8_0: { bytes: 1, kld: 0, latencyMs: 0, nll: 0.1 } } }] }), "table.units[0].costs.q8_0.nll is given but fixed.perplexity is not; give both or neither"],
    [bad({ fixed: { ...TINY.fixed, perplexity: 10 } }), "table.units[0].costs.q8_0.nll is missing; a table with fixed.perplexity needs nll on every cost"],
    [bad({ fixed: { bytes: 1, latencyMs: 0 } }), "table.fixed.kld must be a number (got undefined)"],
    [bad({ units: [unit, { ...TINY.units[1], tensors: unit.tensors }] }), 'tensor "blk.0.attn_q.weight" is in both "a" and "b"'],
    [bad({ units: [{ ...unit, tensors: ["blk.0 attn"] }] }), 'table.units[0].tensors[0] must be a GGUF tensor name of letters, digits, "_", "." or "-" (got "blk.0 attn")'],
  ])("%#", (table, message) => {
    expect(() => parseCostTable(table)).toThrow(message);
  });
});
