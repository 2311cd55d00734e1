import { beforeEach, describe, expect, it, vi } from "vitest";

const invoked: { cmd: string; args: unknown }[] = [];
vi.mock("@tauri-apps/api/core", () => {
  class Channel<T> {
    onmessage: (m: T) => void = () => {};
  }
  return {
    Channel,
    invoke: vi.fn(async (cmd: string, args?: unknown) => {
      invoked.push({ cmd, args });
      return cmd === "findings_start" ? { job: 9 } : null;
    }),
  };
});

const { tauriAiApi } = await import("./aiApi");
const { PROVENANCE } = await import("./components/aiFake");

beforeEach(() => {
  invoked.length = 0;
});

describe("AI commands", () => {
  it("use the back end's command names and argument keys", async () => {
    const api = tauriAiApi;
    const labelsReq = { path: "/a.dcm", frame: 0, labels: ["x"], mode: "softmax" as const };
    await api.modelsScan();
    await api.modelsAdd("/m/x.gguf");
    await api.gpuInfo();
    await api.findingsTemplates();
    await api.findingsStop(4);
    await api.useCpu();
    await api.findingsExport({ format: "json", dir: "/out", text: "t", provenance: PROVENANCE });
    await api.labelsCompute(labelsReq);
    await api.labelSetsList();
    await api.labelSetsSave("Mine", ["a", "b"]);
    await api.labelSetsSave("Mine", ["c"], true);
    await api.labelsExportCsv({ dir: "/out", rows: [{ label: "x", probability: 0.5 }], path: "/a.dcm" });
    await api.choosePath(true, "Export folder");
    expect(invoked).toEqual([
      { cmd: "models_scan", args: undefined },
      { cmd: "models_add", args: { path: "/m/x.gguf" } },
      { cmd: "gpu_info", args: undefined },
      { cmd: "findings_templates", args: undefined },
      { cmd: "findings_stop", args: { job: 4 } },
      { cmd: "ai_use_cpu", args: undefined },
      { cmd: "findings_export", args: { req: { format: "json", dir: "/out", text: "t", provenance: PROVENANCE } } },
      { cmd: "labels_compute", args: { req: labelsReq } },
      { cmd: "label_sets_list", args: undefined },
      { cmd: "label_sets_save", args: { name: "Mine", labels: ["a", "b"], overwrite: false } },
      { cmd: "label_sets_save", args: { name: "Mine", labels: ["c"], overwrite: true } },
      { cmd: "labels_export_csv", args: { req: { dir: "/out", rows: [{ label: "x", probability: 0.5 }], path: "/a.dcm" } } },
      { cmd: "choose_path", args: { folder: true, title: "Export folder" } },
    ]);
  });

  it("stream on channels handed to the callbacks", async () => {
    const events: unknown[] = [];
    const req = {
      path: "/a.dcm",
      frame: 1,
      template: "CT slice",
      prompt: "p",
      sampling: { greedy: true, temperature: 1, top_k: 0, top_p: 1, seed: 0, max_tokens: 8 },
    };
    expect(await tauriAiApi.findingsStart(req, (e) => events.push(e))).toEqual({ job: 9 });
    const start = invoked[0]!.args as { req: unknown; onEvent: { onmessage(m: unknown): void } };
    expect(invoked[0]!.cmd).toBe("findings_start");
    expect(start.req).toEqual(req);
    start.onEvent.onmessage({ type: "stopped" });
    expect(events).toEqual([{ type: "stopped" }]);

    const progress: unknown[] = [];
    await tauriAiApi.modelsImport("/m/hf", "q4_k_m", (p) => progress.push(p));
    const imp = invoked[1]!.args as { path: string; quant: string; onProgress: { onmessage(m: unknown): void } };
    expect([invoked[1]!.cmd, imp.path, imp.quant]).toEqual(["models_import", "/m/hf", "q4_k_m"]);
    imp.onProgress.onmessage({ done: 1, total: 2, tensor: "t" });
    expect(progress).toEqual([{ done: 1, total: 2, tensor: "t" }]);
  });
});
