// Loads a GGUF with node-llama-cpp (its own published prebuilt binary, not ours) and generates a
// few tokens; prints one JSON line. Run in a child process by test/native/interop.test.ts.
import { getLlama, LlamaCompletion } from "node-llama-cpp";

const llama = await getLlama({ gpu: false, build: "never", progressLogs: false, logLevel: "error" });
const model = await llama.loadModel({ modelPath: process.argv[2] });
const context = await model.createContext({ contextSize: 256 });
const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
const text = await completion.generateCompletion("Once upon a time", { maxTokens: 8 });
console.log(JSON.stringify({ text, tokens: model.tokenize(text).length }));
await context.dispose();
await model.dispose();
await llama.dispose();
