// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { ImportProgress, ImportResult } from "../aiTypes";
import { deferred, FakeAiApi, flush } from "./aiFake";
import { ModelManager } from "./modelManager";

function q<T extends HTMLElement = HTMLElement>(root: ParentNode, id: string): T {
  const el = root.querySelector<T>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`no ${id}`);
  return el;
}

async function setup(api = new FakeAiApi()) {
  const mm = new ModelManager({ api });
  document.body.replaceChildren(mm.el);
  await flush();
  return { api, mm, el: mm.el };
}

describe("model manager", () => {
  it("lists models with their status; invalid ones show their message", async () => {
    const api = new FakeAiApi();
    api.models = [
      { kind: "medgemma", name: "medgemma-4b-it", path: "/m/medgemma-4b-it", source: "hf-cache", format: "hf", status: "ok", bytes: 8_600_000_000, weights_in_memory: 17_200_000_000 },
      { kind: "medsiglip", name: "broken.gguf", path: "/m/broken.gguf", source: "models", format: "gguf", status: "invalid", message: "truncated: 12 of 400 tensors", bytes: 0, weights_in_memory: 0 },
    ];
    const { el } = await setup(api);
    const rows = [...q(el, "model-list").querySelectorAll<HTMLElement>('[data-testid="model-row"]')];
    expect(rows.map((r) => r.dataset.status)).toEqual(["ok", "invalid"]);
    const bad = q(rows[1]!, "model-status");
    expect(bad.dataset.status).toBe("invalid");
    expect(bad.textContent).toBe("invalid: truncated: 12 of 400 tensors");
    expect(q(rows[0]!, "model-status").textContent).toBe("ok");
    // What the weights take once loaded, before loading (an HF folder is held as f32).
    expect(q(rows[0]!, "model-memory").textContent).toBe("16.0 GiB in memory once loaded");
    expect(q(rows[0]!, "model-memory").dataset.bytes).toBe("17200000000");
    expect(rows[1]!.querySelector('[data-testid="model-memory"]')).toBeNull();
    expect(rows[0]!.textContent).toContain("Hugging Face cache");
    // An ok HF model can be sent to the importer.
    q<HTMLButtonElement>(rows[0]!, "model-quantize").click();
    expect(q<HTMLInputElement>(el, "model-import-path").value).toBe("/m/medgemma-4b-it");
  });

  it("shows the GPU adapter, memory and the CPU fallback notice", async () => {
    const api = new FakeAiApi();
    api.gpu = { adapter: "llvmpipe", backend: "cpu", notice: "No GPU found: running on the CPU (slow)." };
    const { el } = await setup(api);
    expect(q(el, "gpu-info").textContent).toContain("llvmpipe");
    expect(q(el, "gpu-notice").hidden).toBe(false);
    expect(q(el, "gpu-notice").textContent).toBe("No GPU found: running on the CPU (slow).");
    const { el: el2 } = await setup(new FakeAiApi());
    expect(q(el2, "gpu-info").textContent).toBe("GPU: Fake GPU (vulkan) · 8.0 GiB");
    expect(q(el2, "gpu-info").dataset.memoryBytes).toBe(String(8 * 1024 ** 3));
    expect(q(el2, "gpu-notice").hidden).toBe(true);
  });

  it("adding an invalid model lists it with the reason", async () => {
    const { api, el } = await setup();
    expect(q(el, "model-list").textContent).toBe("No models found.");
    q<HTMLInputElement>(el, "model-add-path").value = "/tmp/notes.txt";
    q<HTMLButtonElement>(el, "model-add").click();
    await flush();
    expect(api.argsOf("models_add")).toEqual([["/tmp/notes.txt"]]);
    const row = q(el, "model-row");
    expect(row.dataset.status).toBe("invalid");
    expect(q(row, "model-status").textContent).toBe("invalid: not a GGUF file (bad magic)");
    expect(q(el, "model-add-result").textContent).toContain("not a GGUF file");
  });

  it("import progress from the channel updates the bar", async () => {
    const api = new FakeAiApi();
    const done = deferred<ImportResult>();
    let report: (p: ImportProgress) => void = () => {};
    api.importer = (_path, _quant, onProgress) => {
      report = onProgress;
      return done.promise;
    };
    const { el } = await setup(api);
    q<HTMLInputElement>(el, "model-import-path").value = "/m/medgemma-4b-it";
    const quant = q<HTMLSelectElement>(el, "model-import-quant");
    quant.value = "q8_0";
    q<HTMLButtonElement>(el, "model-import").click();
    await flush();
    expect(api.argsOf("models_import")).toEqual([["/m/medgemma-4b-it", "q8_0"]]);
    const bar = q<HTMLProgressElement>(el, "model-import-progress");
    expect(bar.hidden).toBe(false);
    expect(q<HTMLButtonElement>(el, "model-import").disabled).toBe(true);
    report({ done: 3, total: 10, tensor: "blk.0.attn_q.weight" });
    expect(bar.max).toBe(10);
    expect(bar.value).toBe(3);
    expect(q(el, "model-import-label").textContent).toBe("3/10 blk.0.attn_q.weight");
    report({ done: 9, total: 10, tensor: "output.weight" });
    expect(bar.value).toBe(9);
    const scans = api.count("models_scan");
    done.resolve({ output: "/models/medgemma-4b-it-q8_0.gguf" });
    await flush();
    expect(q(el, "model-import-result").textContent).toBe("Wrote /models/medgemma-4b-it-q8_0.gguf");
    expect(bar.value).toBe(10);
    expect(api.count("models_scan")).toBe(scans + 1);
    expect(q<HTMLButtonElement>(el, "model-import").disabled).toBe(false);
  });

  it("model paths come from native dialogs", async () => {
    const api = new FakeAiApi();
    const { el } = await setup(api);
    api.chosen = "/models/medgemma-4b-it-Q4_K_M.gguf";
    q<HTMLButtonElement>(el, "model-add-choose-file").click();
    await flush();
    expect(q<HTMLInputElement>(el, "model-add-path").value).toBe("/models/medgemma-4b-it-Q4_K_M.gguf");
    api.chosen = "/models/medsiglip-448";
    q<HTMLButtonElement>(el, "model-import-choose").click();
    await flush();
    expect(q<HTMLInputElement>(el, "model-import-path").value).toBe("/models/medsiglip-448");
    expect(api.argsOf("choose_path")).toEqual([
      [false, "Model file (GGUF)"],
      [true, "Hugging Face model folder"],
    ]);
  });

  it("an import failure is shown inline", async () => {
    const api = new FakeAiApi();
    api.importer = async () => Promise.reject("unsupported architecture");
    const { el } = await setup(api);
    q<HTMLInputElement>(el, "model-import-path").value = "/m/x";
    q<HTMLButtonElement>(el, "model-import").click();
    await flush();
    expect(q(el, "model-error").textContent).toBe("Import failed: unsupported architecture");
    expect(q(el, "model-import-progress").hidden).toBe(true);
  });
});
