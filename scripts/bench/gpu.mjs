#!/usr/bin/env node
// GPU checks and numbers for a CUDA build (`apreqel build --cuda`, plus --tools for llama-bench):
// on-device similarity equals the host reference with every layer offloaded, the bytes read back
// to the host, capture overhead, and tg/pp against llama-bench. Uses the compiled library (dist/).
//   node scripts/bench/gpu.mjs --model M.gguf [--stories stories260K.gguf] [--llama-bench PATH] [--out FILE.md]
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { bench, captureSimilarity } from "../../dist/ops/index.js";
import { binding } from "../../dist/native/binding.js";

const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const model = arg("--model");
if (!model) throw new Error("--model is required");
const lines = [];
const say = (s) => {
  console.log(s);
  lines.push(s);
};
const info = binding().buildInfo();
say(`build: ${info.cuda ? "CUDA" : "CPU"}; devices: ${info.devices.map((d) => `${d.name} (${d.description})`).join(", ")}; ${os.cpus()[0]?.model}`);

const texts = ["The quick brown fox jumps over the lazy dog. ".repeat(60), "def f(x):\n    return x * x\n".repeat(40)];
for (const m of [model, arg("--stories")].filter(Boolean)) {
  const device = await captureSimilarity({ model: m, texts, nCtx: 512, gpuLayers: -1 });
  const reference = await captureSimilarity({ model: m, texts, nCtx: 512, gpuLayers: -1, reference: true });
  let maxDiff = 0;
  for (let i = 0; i < device.cos.length; i++) maxDiff = Math.max(maxDiff, Math.abs(device.cos[i] - reference.cos[i]));
  say(`| ${m.split("/").pop()} | ${device.tokens} tokens × ${2 * device.blocks} sub-layers | max |Δcos| vs host reference ${maxDiff.toExponential(2)} | bytes read back: on-device ${device.bytesRead} (= ${device.tokens}·${2 * device.blocks}·4 = ${device.tokens * 2 * device.blocks * 4}), reference ${reference.bytesRead} |`);
}

const time = async (f) => {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
};
const big = [texts.join(" ").repeat(8)];
const plain = [];
const captured = [];
for (let r = 0; r < 3; r++) {
  plain.push(await time(() => binding().captureSimilarity({ model, texts: big, nCtx: 512, nBatch: 512, gpuLayers: -1, mode: "none" })));
  captured.push(await time(() => binding().captureSimilarity({ model, texts: big, nCtx: 512, nBatch: 512, gpuLayers: -1, mode: "device" })));
}
const med = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
say(`capture overhead on GPU (all layers offloaded): ${(med(captured) / med(plain)).toFixed(3)}× a plain forward pass (${med(captured).toFixed(0)} ms vs ${med(plain).toFixed(0)} ms, medians of 3)`);

const ours = await bench({ model, nGen: 128, nPrompt: 512, reps: 5, gpuLayers: -1 });
say(`apreqel bench (GPU): tg128 ${ours.tg.tokensPerSecond.mean.toFixed(1)} ± ${ours.tg.tokensPerSecond.sd.toFixed(1)} tok/s (${ours.tg.msPerToken.mean.toFixed(3)} ms/token), pp512 ${ours.pp.tokensPerSecond.mean.toFixed(0)} tok/s`);
const tool = arg("--llama-bench");
if (tool) {
  const json = JSON.parse(execFileSync(tool, ["-m", model, "-p", "512", "-n", "128", "-r", "5", "-ngl", "99", "-o", "json"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
  const tg = json.find((t) => t.n_gen > 0).avg_ts;
  const pp = json.find((t) => t.n_prompt > 0).avg_ts;
  say(`llama-bench (GPU): tg128 ${tg.toFixed(1)} tok/s, pp512 ${pp.toFixed(0)} tok/s → apreqel/llama-bench tg ${(ours.tg.tokensPerSecond.mean / tg).toFixed(3)}, pp ${(ours.pp.tokensPerSecond.mean / pp).toFixed(3)}`);
}
const out = arg("--out");
if (out) writeFileSync(out, lines.join("\n") + "\n");
