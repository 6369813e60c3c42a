// Reading scores.json: what the similarity step hands to the planner.
import { MethodInputError, describeValue, expectCount, expectFiniteNumber, expectObject } from "./errors.js";
import { layerOrder, parseLayerName, type LayerName } from "./layers.js";
import type { LayerScore, ScoresFile } from "./scores.js";
import { parseSensitivity } from "./sensitivity.js";

/**
 * Validates a parsed scores.json: γ in [-1, 1], at least one layer, names in
 * strict block order, integer counts, score = reward − penalty, finite means.
 * Extra fields are allowed and dropped.
 *
 * @example
 * parseScores(JSON.parse(text)).layers.length // 64 for a 32-block model
 */
export function parseScores(value: unknown): ScoresFile {
  const root = expectObject(value, "scores");
  const gamma = expectFiniteNumber(root["gamma"], "scores.gamma");
  if (gamma < -1 || gamma > 1) throw new MethodInputError(`scores.gamma must be between -1 and 1 (got ${describeValue(gamma)})`);
  const list = root["layers"];
  if (!Array.isArray(list)) throw new MethodInputError(`scores.layers must be an array (got ${describeValue(list)})`);
  if (list.length === 0) throw new MethodInputError("no layers to plan (L = 0): scores.layers is empty");
  let previous = -1;
  const layers = list.map((entry: unknown, i): LayerScore => {
    const what = `scores.layers[${i}]`;
    const o = expectObject(entry, what);
    parseLayerName(o["name"], `${what}.name`);
    const name = o["name"] as LayerName;
    const order = layerOrder(name);
    if (order <= previous) throw new MethodInputError(`${what}.name must come after the previous layer in block order (got ${describeValue(name)})`);
    previous = order;
    const reward = expectCount(o["reward"], `${what}.reward`);
    const penalty = expectCount(o["penalty"], `${what}.penalty`);
    const score = expectFiniteNumber(o["score"], `${what}.score`);
    if (score !== reward - penalty) {
      throw new MethodInputError(`${what}.score must equal reward − penalty = ${reward - penalty} (got ${describeValue(score)})`);
    }
    const meanOneMinusCos = expectFiniteNumber(o["meanOneMinusCos"], `${what}.meanOneMinusCos`);
    return { name, reward, penalty, score, meanOneMinusCos };
  });
  return root["sensitivity"] === undefined ? { gamma, layers } : { gamma, layers, sensitivity: parseSensitivity(root["sensitivity"], "scores.sensitivity") };
}
