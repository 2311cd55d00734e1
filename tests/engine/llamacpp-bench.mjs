// Prefill and decode speed of llama.cpp (node-llama-cpp 3.21.1) on a GGUF, the reference the
// engine's `medlens bench --model` figures are compared with.
// usage: node llamacpp-bench.mjs MODEL.gguf cpu|vulkan PROMPT_TOKENS GEN_TOKENS > out.json
// The prompt is an English paragraph tokenized and cut (or repeated) to PROMPT_TOKENS; decoding
// is greedy. Prefill time runs from the evaluate call to the first generated token.
// LLAMA_THREADS sets llama.cpp's CPU threads (default: every core).
import {getLlama} from "node-llama-cpp";
import os from "node:os";

const [modelPath, gpu, nPrompt, nGen] = process.argv.slice(2);
if (gpu === "vulkan") process.env.GGML_VK_VISIBLE_DEVICES ??= "0";
const llama = await getLlama({gpu: gpu === "vulkan" ? "vulkan" : false, build: "never"});
const model = await llama.loadModel({modelPath, gpuLayers: gpu === "vulkan" ? "max" : 0});
const threads = Number(process.env.LLAMA_THREADS ?? os.cpus().length);
const text = "The chest radiograph shows clear lungs without focal consolidation, effusion or pneumothorax. "
  + "The cardiomediastinal silhouette is within normal limits and the osseous structures are intact. ";
let ids = [];
while (ids.length < Number(nPrompt) - 1) ids.push(...model.tokenize(text));
ids = [model.tokens.bos, ...ids.slice(0, Number(nPrompt) - 1)];
const run = async () => {
  const context = await model.createContext({contextSize: 1024, batchSize: 512, sequences: 1, threads});
  const seq = context.getSequence();
  const t0 = performance.now();
  let first = null, n = 0;
  for await (const _tok of seq.evaluate(ids, {temperature: 0})) {
    if (first === null) first = performance.now();
    if (++n >= Number(nGen) + 1) break; // the first token comes from the prefill
  }
  const t1 = performance.now();
  await context.dispose();
  return {prefill_s: (first - t0) / 1000, decode_s: (t1 - first) / 1000};
};
await run(); // warm-up (Vulkan pipelines)
const r = await run();
console.log(JSON.stringify({
  backend: gpu, gpu: llama.gpu, threads, prompt_tokens: ids.length, gen_tokens: Number(nGen),
  prefill_tokens_per_s: ids.length / r.prefill_s, decode_tokens_per_s: Number(nGen) / r.decode_s,
}));
await model.dispose();
