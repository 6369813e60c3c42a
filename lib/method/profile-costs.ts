// A bridge until measured per-unit costs exist (issue 14's Δ table, the
// latency issue's ℓ): the cost table that today's `weighted` and
// `sensitivity` estimators imply. Both are already sums over sub-layers:
//   memory   = memory_ref − Σ_u bytes_ref(u) + Σ_u bytes_t(u)(u)
//   latency  = Σ_u p_u · latency_t(u)              p_u: the unit's parameter share
//   accuracy = Σ_u s_u · acc_t(u) = acc_ref + Σ_u s_u · (acc_t(u) − acc_ref)
// (s_u = p_u for `weighted`, the unit's share of mean 1 − cos for
// `sensitivity`), so the table gives every mix exactly the estimate plan()
// gives it, and the front searches all M^L mixes where plan() searches the
// splits that Algorithm 1 allocates by the ranking. The accuracy column holds
// the profile's accuracy metric (perplexity or KLD, whichever the profile
// measured); fixed.bytes includes the reference model's runtime overhead.
import { MethodInputError } from "./errors.js";
import type { CostTable } from "./cost-table.js";
import type { LayerName } from "./layers.js";
import { parseProfile, profileEntry, type Profile } from "./profile.js";
import { parseScores } from "./scores-file.js";
import type { ScoresFile } from "./scores.js";
import { DEFAULT_TYPES, bitsPerWeight, orderTypes, type GgmlType } from "./types.js";

/** Input of {@link costTableFromProfile}. */
export interface ProfileCostsInput {
  /** Needs `layerBytes` for every type. */
  readonly profile: Profile;
  /** Defaults to {@link DEFAULT_TYPES}. */
  readonly types?: readonly GgmlType[];
  /** With scores, accuracy is spread by mean (1 − cos) (`sensitivity`); without, by parameter share (`weighted`). */
  readonly scores?: ScoresFile;
}

/**
 * The per-sub-layer cost table of today's estimators (see the module comment).
 *
 * @example
 * const table = costTableFromProfile({ profile, scores });
 * paretoFront(table).points.length // every non-dominated mix of the sub-layers
 */
export function costTableFromProfile(input: ProfileCostsInput): CostTable {
  const profile = parseProfile(input.profile);
  const types = orderTypes(input.types ?? DEFAULT_TYPES);
  const base = types[0] as GgmlType;
  const entries = types.map((t) => profileEntry(profile, t));
  const bytes = types.map((t, j) => {
    const map = entries[j]?.layerBytes;
    if (map === undefined) throw new MethodInputError(`a cost table needs profile.types.${t}.layerBytes`);
    return map;
  });
  const layers = Object.keys(bytes[0] as object) as LayerName[];
  for (const [j, map] of bytes.entries()) {
    for (const layer of layers) {
      if (map[layer] === undefined) throw new MethodInputError(`profile.types.${types[j]}.layerBytes has no entry for ${JSON.stringify(layer)}`);
    }
    if (Object.keys(map).length !== layers.length) {
      throw new MethodInputError(`profile.types.${types[j]}.layerBytes must list the same layers as profile.types.${base}.layerBytes`);
    }
  }
  const baseBytes = bytes[0] as Readonly<Partial<Record<LayerName, number>>>;
  const params = layers.map((layer) => {
    const p = profile.layerParams?.[layer] ?? Math.round(((baseBytes[layer] as number) * 8) / bitsPerWeight(base));
    if (!(p > 0)) throw new MethodInputError(`layer ${JSON.stringify(layer)} has no parameters`);
    return p;
  });
  // The estimators' parameter share: layerParams, else the reference type's bytes (∝ parameters).
  const shareWeights = profile.layerParams === undefined ? layers.map((layer) => baseBytes[layer] as number) : params;
  const totalShare = shareWeights.reduce((a, b) => a + b, 0);
  let accuracyWeights = shareWeights;
  if (input.scores !== undefined) {
    const byName = new Map(parseScores(input.scores).layers.map((l) => [l.name, l.meanOneMinusCos]));
    accuracyWeights = layers.map((layer) => {
      const v = byName.get(layer);
      if (v === undefined) throw new MethodInputError(`the scores have no entry for ${JSON.stringify(layer)}`);
      return v;
    });
  }
  const accuracyTotal = accuracyWeights.reduce((a, b) => a + b, 0);
  if (!(accuracyTotal > 0)) throw new MethodInputError("the layers' accuracy weights (mean 1 − cos) are all 0; give no scores to spread accuracy by parameters");
  const reference = entries[0] as (typeof entries)[number];
  const fixedBytes = reference.memoryBytes - layers.reduce((s, layer) => s + (baseBytes[layer] as number), 0);
  if (!(fixedBytes >= 0)) throw new MethodInputError(`profile.types.${base}.memoryBytes is smaller than its layers' bytes`);
  return {
    types,
    units: layers.map((layer, u) => ({
      name: layer,
      params: params[u] as number,
      costs: Object.fromEntries(
        types.map((t, j) => [
          t,
          {
            bytes: (bytes[j] as Readonly<Partial<Record<LayerName, number>>>)[layer] as number,
            latencyMs: ((shareWeights[u] as number) / totalShare) * (entries[j]?.latencyMsPerToken as number),
            kld: ((accuracyWeights[u] as number) / accuracyTotal) * ((entries[j]?.perplexity as number) - reference.perplexity),
          },
        ]),
      ),
    })),
    fixed: { bytes: Math.round(fixedBytes), latencyMs: 0, kld: reference.perplexity },
  };
}
