import { writeFileSync } from "node:fs";
import path from "node:path";

/**
 * Deterministic English-like text for fixture models (no shared data needed): `words` words drawn
 * by a linear congruential generator from `seed`, a sentence break every 11 words.
 */
export function syntheticText(words: number, seed = 7): string {
  const vocab = ["the", "model", "reads", "a", "quiet", "river", "and", "every", "small", "stone", "remembers", "light", "of", "morning", "while", "birds", "sing"];
  let x = seed;
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out.push(vocab[x % vocab.length]!);
    if (i % 11 === 10) out.push(".\n");
  }
  return out.join(" ");
}

/**
 * The calibration and evaluation files the end-to-end front tests use, written into `dir`: the
 * calibration long enough for the sensitivity probes (two chunks of --ctx 64).
 */
export function writePipelineTexts(dir: string): { readonly calibration: string; readonly evalText: string } {
  const calibration = path.join(dir, "calibration.txt");
  writeFileSync(calibration, `${"Explain why the sky is blue, and why sunsets are red. ".repeat(6)}\n\n${"Write a haiku about rivers and the stones in them. ".repeat(6)}\n\ndef add(a, b):\n    return a + b\n`);
  const evalText = path.join(dir, "eval.txt");
  writeFileSync(evalText, "The river remembers the morning light, and every stone keeps a little of the sun. ".repeat(40));
  return { calibration, evalText };
}
