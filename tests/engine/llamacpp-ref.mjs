// Greedy continuations from llama.cpp (node-llama-cpp 3.21.1) for the engine's comparison tests.
// usage: node llamacpp-ref.mjs MODEL.gguf cpu|vulkan N_TOKENS prompts.json > out.json
// Each prompt: BOS + tokenize(prompt); per step the chosen token and the top-2 candidates with
// their probabilities (log-prob difference = logit margin at temperature 1).
import {getLlama} from "node-llama-cpp";
import fs from "node:fs";

const [modelPath, gpu, nTok, promptsFile] = process.argv.slice(2);
const prompts = JSON.parse(fs.readFileSync(promptsFile, "utf8"));
if (gpu === "vulkan") process.env.GGML_VK_VISIBLE_DEVICES ??= "0";
const llama = await getLlama({gpu: gpu === "vulkan" ? "vulkan" : false, build: "never"});
const model = await llama.loadModel({modelPath, gpuLayers: gpu === "vulkan" ? "max" : 0});
const out = {backend: gpu, gpu: llama.gpu, results: []};
for (const prompt of prompts) {
  const context = await model.createContext({contextSize: 512, batchSize: 512, sequences: 1, threads: Number(process.env.LLAMA_THREADS ?? 1)});
  const seq = context.getSequence();
  const ids = [model.tokens.bos, ...model.tokenize(prompt)];
  const tokens = [], top2 = [];
  const t0 = performance.now();
  let first = null;
  const it = seq.evaluateWithMetadata(ids, {probabilities: true}, {temperature: 1, topK: 0, topP: 1, minP: 0});
  let r = await it.next();
  while (!r.done) {
    if (first === null) first = performance.now();
    let best = -1, bp = -1, second = -1, sp = -1;
    for (const [id, p] of r.value.probabilities) {
      if (p > bp) { second = best; sp = bp; best = id; bp = p; } else if (p > sp) { second = id; sp = p; }
    }
    tokens.push(best);
    top2.push([[best, Math.log(bp)], [second, Math.log(sp)]]);
    if (tokens.length >= Number(nTok)) break;
    r = await it.next(best); // greedy: feed the most probable token, not the sampled one
  }
  await it.return();
  const t1 = performance.now();
  out.results.push({prompt, prompt_ids: ids, tokens, top2, text: model.detokenize(tokens), prefill_ms: first - t0, decode_ms: t1 - first});
  await context.dispose();
}
console.log(JSON.stringify(out));
await model.dispose();
