// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";
import type { FindingsRequest } from "../aiTypes";
import { ImageContextFeed } from "../imageContext";
import { memoryDir } from "./aiCommon";
import { FakeAiApi, flush, PROVENANCE } from "./aiFake";
import { DRAFT_BANNER, FindingsPanel, parseSampling } from "./findingsPanel";

const CTX = { path: "/data/ct/slice-010.dcm", frame: 2, window: { center: 40, width: 400 }, sopInstanceUid: "1.2.3.4" };

function q<T extends HTMLElement = HTMLElement>(root: HTMLElement, id: string): T {
  const el = root.querySelector<T>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`no ${id}`);
  return el;
}

async function setup(opts: { context?: boolean; now?: () => number } = {}) {
  const api = new FakeAiApi();
  const feed = new ImageContextFeed();
  if (opts.context !== false) feed.publish(CTX);
  const dir = memoryDir("/exports");
  const copied: string[] = [];
  const panel = new FindingsPanel({
    api,
    context: feed,
    exportDir: dir,
    clipboard: { writeText: async (s: string) => void copied.push(s) },
    random: () => 0.5,
    ...(opts.now ? { now: opts.now } : {}),
  });
  document.body.replaceChildren(panel.el);
  await flush();
  const el = panel.el;
  const btn = (id: string) => q<HTMLButtonElement>(el, id);
  return { api, feed, dir, copied, panel, el, btn, text: () => q(el, "findings-text").textContent };
}

const banner = (el: HTMLElement) => {
  const b = q(el, "findings-draft-banner");
  return b.isConnected && !b.hidden && b.textContent === DRAFT_BANNER;
};

describe("findings panel", () => {
  it("fills the prompts from the first template and sends the image context", async () => {
    const { api, btn } = await setup();
    btn("findings-generate").click();
    await flush();
    const [req] = api.argsOf("findings_start")[0] as [FindingsRequest];
    expect(req).toEqual({
      path: CTX.path,
      frame: 2,
      window: { center: 40, width: 400 },
      template: "Chest X-ray report",
      prompt: "Describe the chest X-ray.",
      system: "You are a radiologist.",
      sampling: { greedy: true, temperature: 0.7, top_k: 64, top_p: 0.95, seed: 42, max_tokens: 512 },
    });
  });

  it("streams tokens in order, then shows timings, thumbnail and final text", async () => {
    const { api, el, btn, text } = await setup();
    expect(banner(el)).toBe(true);
    btn("findings-generate").click();
    await flush();
    api.start!.resolve({ job: 3 });
    await flush();
    expect(el.dataset.state).toBe("running");
    expect(banner(el)).toBe(true);
    api.emit({ type: "started", thumbnail_png_base64: "iVBORw0KGgo=", prompt_tokens: 271 });
    const thumb = q<HTMLImageElement>(el, "findings-thumbnail");
    expect(thumb.hidden).toBe(false);
    expect(thumb.getAttribute("src")).toBe("data:image/png;base64,iVBORw0KGgo=");
    const parts = ["No", " acute", " cardiopulmonary", " abnormality", "."];
    parts.forEach((t, i) => {
      api.emit({ type: "token", text: t, index: i });
      expect(text()).toBe(parts.slice(0, i + 1).join(""));
    });
    expect(btn("findings-stop").disabled).toBe(false);
    expect(btn("findings-generate").disabled).toBe(true);
    expect(btn("findings-export-md").disabled).toBe(true);
    api.emit({
      type: "done",
      text: parts.join(""),
      tokens: 5,
      timings: { ttft_ms: 812.4, tokens_per_s: 23.456, total_ms: 1030 },
      provenance: PROVENANCE,
    });
    expect(text()).toBe("No acute cardiopulmonary abnormality.");
    expect(q(el, "findings-ttft").dataset.value).toBe("812.4");
    expect(q(el, "findings-ttft").textContent).toContain("812 ms");
    expect(q(el, "findings-tps").dataset.value).toBe("23.456");
    expect(q(el, "findings-tps").textContent).toContain("23.5");
    expect(el.dataset.state).toBe("idle");
    expect(btn("findings-stop").disabled).toBe(true);
    expect(btn("findings-export-json").disabled).toBe(false);
    expect(banner(el)).toBe(true);
  });

  it("shows live time to first token and tokens/s while tokens stream, then the back end's figures", async () => {
    let clock = 1000;
    const { api, el, btn } = await setup({ now: () => clock });
    btn("findings-generate").click(); // request sent at 1000 ms
    await flush();
    api.start!.resolve({ job: 4 });
    await flush();
    const ttft = q(el, "findings-ttft");
    const tps = q(el, "findings-tps");
    expect(ttft.textContent).toBe("");
    clock = 1640;
    api.emit({ type: "token", text: "No", index: 0 });
    expect(ttft.textContent).toBe("First token 640 ms");
    expect(ttft.dataset.live).toBe("640");
    expect(tps.textContent).toBe("… tokens/s · 1 token so far");
    expect(tps.dataset.live).toBeUndefined();
    for (let i = 1; i <= 8; i++) {
      clock = 1640 + i * 50; // 20 tokens/s after the first
      api.emit({ type: "token", text: " x", index: i });
    }
    expect(tps.textContent).toBe("20.0 tokens/s · 9 tokens so far");
    expect(Number(tps.dataset.live)).toBeCloseTo(20, 10);
    // The e2e tests take data-value as "finished": it stays unset while streaming.
    expect(tps.dataset.value).toBeUndefined();
    expect(ttft.dataset.value).toBeUndefined();
    api.emit({ type: "done", text: "No x", tokens: 9, timings: { ttft_ms: 630, tokens_per_s: 19.8, total_ms: 1050 }, provenance: PROVENANCE });
    expect(ttft.textContent).toBe("First token 630 ms");
    expect(tps.textContent).toBe("19.8 tokens/s");
    expect(tps.dataset.value).toBe("19.8");
    // A new run starts from blank figures.
    btn("findings-generate").click();
    await flush();
    expect(ttft.textContent).toBe("");
    expect(tps.textContent).toBe("");
    expect(tps.dataset.live).toBeUndefined();
    expect(tps.dataset.value).toBeUndefined();
  });

  it("says which stage runs before the first token, counting its seconds", async () => {
    vi.useFakeTimers();
    try {
      let t = 0;
      const { api, btn, el } = await setup({ now: () => t });
      btn("findings-generate").click();
      await flush();
      const status = () => q(el, "findings-status").textContent;
      api.emit({ type: "stage", stage: "load" });
      expect(status()).toBe("Loading the model… 0 s");
      t = 2500;
      vi.advanceTimersByTime(1000);
      expect(status()).toBe("Loading the model… 2 s");
      // The loader's progress, in tensors read, while the load stage lasts.
      api.emit({ type: "load_progress", done: 412, total: 883 });
      expect(status()).toBe("Loading the model… 412/883 tensors, 2 s");
      t = 3500;
      vi.advanceTimersByTime(1000);
      expect(status()).toBe("Loading the model… 412/883 tensors, 3 s");
      api.emit({ type: "started", thumbnail_png_base64: "iVBORw0KGgo=", prompt_tokens: 271 });
      api.emit({ type: "stage", stage: "vision" });
      t = 9000;
      vi.advanceTimersByTime(1000);
      expect(status()).toBe("Encoding the image… 5 s");
      api.emit({ type: "stage", stage: "prefill" });
      expect(status()).toBe("Reading the prompt… 0 s");
      api.emit({ type: "token", text: "No", index: 0 });
      expect(status()).toBe("Generating…");
      // The ticker stopped with the stage: the status stays.
      t = 20000;
      vi.advanceTimersByTime(5000);
      expect(status()).toBe("Generating…");
      expect(q(el, "findings-status").dataset.stages).toBe("load vision prefill");
      api.emit({ type: "stopped" });
      expect(status()).toBe("Stopped");
    } finally {
      vi.useRealTimers();
    }
  });

  it("a stopped run keeps the measured figures as its final ones", async () => {
    let clock = 0;
    const { api, el, btn } = await setup({ now: () => clock });
    btn("findings-generate").click();
    await flush();
    api.start!.resolve({ job: 5 });
    await flush();
    clock = 300;
    api.emit({ type: "token", text: "A", index: 0 });
    clock = 400;
    api.emit({ type: "token", text: "B", index: 1 });
    clock = 500;
    api.emit({ type: "token", text: "C", index: 2 });
    api.emit({ type: "stopped" });
    expect(q(el, "findings-ttft").textContent).toBe("First token 300 ms");
    expect(q(el, "findings-tps").textContent).toBe("10.0 tokens/s · 3 tokens");
    expect(q(el, "findings-tps").dataset.value).toBeUndefined();
  });

  it("Stop calls findings_stop with the job id; the panel goes idle on 'stopped'", async () => {
    const { api, el, btn, text } = await setup();
    expect(btn("findings-stop").disabled).toBe(true);
    btn("findings-generate").click();
    await flush();
    api.start!.resolve({ job: 17 });
    await flush();
    api.emit({ type: "token", text: "Partial", index: 0 });
    btn("findings-stop").click();
    await flush();
    expect(api.argsOf("findings_stop")).toEqual([[17]]);
    // Still running until the back end confirms.
    expect(el.dataset.state).toBe("running");
    expect(btn("findings-generate").disabled).toBe(true);
    expect(btn("findings-stop").disabled).toBe(true);
    api.emit({ type: "stopped" });
    expect(el.dataset.state).toBe("idle");
    expect(btn("findings-generate").disabled).toBe(false);
    expect(btn("findings-stop").disabled).toBe(true);
    expect(q(el, "findings-status").textContent).toBe("Stopped");
    expect(text()).toBe("Partial");
    // No provenance: nothing to export.
    expect(btn("findings-export-md").disabled).toBe(true);
    // Late tokens of the stopped run are ignored.
    api.emit({ type: "token", text: " more", index: 1 });
    expect(text()).toBe("Partial");
    expect(banner(el)).toBe(true);
  });

  it("a Stop before the job id is known is sent once findings_start answers", async () => {
    const { api, btn } = await setup();
    btn("findings-generate").click();
    await flush();
    btn("findings-stop").click();
    await flush();
    expect(api.count("findings_stop")).toBe(0);
    api.start!.resolve({ job: 5 });
    await flush();
    expect(api.argsOf("findings_stop")).toEqual([[5]]);
  });

  it("shows errors inline and stays usable", async () => {
    const { api, el, btn } = await setup();
    btn("findings-generate").click();
    await flush();
    api.start!.resolve({ job: 1 });
    await flush();
    api.emit({ type: "error", message: "MedGemma is not installed" });
    const err = q(el, "findings-error");
    expect(err.hidden).toBe(false);
    expect(err.textContent).toBe("MedGemma is not installed");
    expect(el.dataset.state).toBe("idle");
    expect(banner(el)).toBe(true);
    // findings_start itself failing.
    btn("findings-generate").click();
    await flush();
    expect(err.hidden).toBe(true);
    api.start!.reject("no model");
    await flush();
    expect(err.textContent).toContain("no model");
    expect(btn("findings-generate").disabled).toBe(false);
    expect(banner(el)).toBe(true);
  });

  it("a GPU failure offers the CPU: one click switches the device and generates again", async () => {
    const { api, el, btn } = await setup();
    btn("findings-generate").click();
    await flush();
    api.start!.resolve({ job: 1 });
    await flush();
    // Any other error offers nothing.
    api.emit({ type: "error", message: "MedGemma is not installed" });
    expect(btn("findings-run-cpu").hidden).toBe(true);
    btn("findings-generate").click();
    await flush();
    api.start!.resolve({ job: 2 });
    await flush();
    const oom = "the GPU ran out of memory (out of device memory allocating 4294967296 bytes); the model can run on the CPU instead";
    api.emit({ type: "error", message: oom, offer_cpu: true });
    expect(q(el, "findings-error").textContent).toBe(oom);
    expect(el.dataset.state).toBe("idle");
    expect(btn("findings-run-cpu").hidden).toBe(false);
    btn("findings-run-cpu").click();
    await flush();
    expect(api.count("ai_use_cpu")).toBe(1);
    expect(api.count("findings_start")).toBe(3);
    expect(btn("findings-run-cpu").hidden).toBe(true);
    expect(q(el, "findings-error").hidden).toBe(true);
    const calls = api.calls.map((c) => c.name);
    expect(calls.lastIndexOf("ai_use_cpu")).toBeLessThan(calls.lastIndexOf("findings_start"));
  });

  it("a draft that missed the audit log says so; the export folder comes from a dialog", async () => {
    const { api, el, btn, dir } = await setup();
    btn("findings-generate").click();
    await flush();
    api.start!.resolve({ job: 1 });
    await flush();
    const audit_error = "audit log /data/audit.jsonl: Permission denied (os error 13)";
    api.emit({ type: "done", text: "Normal.", tokens: 2, timings: { ttft_ms: 1, tokens_per_s: 2, total_ms: 3 }, provenance: PROVENANCE, audit_error });
    expect(el.dataset.state).toBe("idle");
    expect(q(el, "findings-error").textContent).toBe(`Not in the audit log: ${audit_error}`);
    api.chosen = null; // cancelled: nothing changes
    btn("findings-export-choose").click();
    await flush();
    expect(q<HTMLInputElement>(el, "findings-export-dir").value).toBe("/exports");
    api.chosen = "/home/u/reports";
    btn("findings-export-choose").click();
    await flush();
    expect(q<HTMLInputElement>(el, "findings-export-dir").value).toBe("/home/u/reports");
    expect(dir.get()).toBe("/home/u/reports");
    expect(api.argsOf("choose_path")).toEqual([[true, "Export folder"], [true, "Export folder"]]);
  });

  it("needs an open image and valid sampling", async () => {
    const { api, el, btn } = await setup({ context: false });
    expect(q(el, "findings-target").textContent).toBe("No image open");
    btn("findings-generate").click();
    await flush();
    expect(q(el, "findings-error").textContent).toBe("Open an image first.");
    expect(api.count("findings_start")).toBe(0);
    expect(banner(el)).toBe(true);
  });

  it("re-runs with a new seed, copies and exports with provenance", async () => {
    const { api, el, btn, dir, copied } = await setup();
    expect(btn("findings-rerun").disabled).toBe(true);
    btn("findings-generate").click();
    await flush();
    api.start!.resolve({ job: 1 });
    await flush();
    api.emit({ type: "done", text: "Normal.", tokens: 2, timings: { ttft_ms: 1, tokens_per_s: 2, total_ms: 3 }, provenance: PROVENANCE });
    btn("findings-copy").click();
    await flush();
    expect(copied).toEqual(["Normal."]);
    const dirInput = q<HTMLInputElement>(el, "findings-export-dir");
    expect(dirInput.value).toBe("/exports");
    dirInput.value = "/tmp/out";
    btn("findings-export-sr").click();
    await flush();
    expect(api.argsOf("findings_export")).toEqual([[{ format: "sr", dir: "/tmp/out", text: "Normal.", provenance: PROVENANCE }]]);
    expect(dir.get()).toBe("/tmp/out");
    expect(q(el, "findings-export-result").textContent).toBe("Saved /tmp/out/findings.dcm");
    btn("findings-rerun").click();
    await flush();
    const reqs = api.argsOf("findings_start").map((a) => (a[0] as FindingsRequest).sampling.seed);
    expect(reqs).toEqual([42, 2 ** 30]);
    expect(q<HTMLInputElement>(el, "findings-seed").value).toBe(String(2 ** 30));
  });

  it("template choice replaces the editable prompts", async () => {
    const { el } = await setup();
    const sel = q<HTMLSelectElement>(el, "findings-template");
    sel.value = "CT slice";
    sel.dispatchEvent(new Event("change"));
    expect(q<HTMLTextAreaElement>(el, "findings-prompt").value).toBe("Describe this CT slice.");
    expect(q<HTMLTextAreaElement>(el, "findings-system").value).toBe("You read CT.");
  });
});

describe("sampling validation", () => {
  const ok = { greedy: false, temperature: "0.7", top_k: "40", top_p: "0.9", seed: "7", max_tokens: "256" };
  it("parses numbers", () => {
    expect(parseSampling(ok)).toEqual({ greedy: false, temperature: 0.7, top_k: 40, top_p: 0.9, seed: 7, max_tokens: 256 });
  });
  it("rejects bad values with a reason", () => {
    expect(parseSampling({ ...ok, temperature: "-1" })).toMatch(/Temperature/);
    expect(parseSampling({ ...ok, top_k: "1.5" })).toMatch(/Top-k/);
    expect(parseSampling({ ...ok, top_p: "0" })).toMatch(/Top-p/);
    expect(parseSampling({ ...ok, seed: "" })).toMatch(/Seed/);
    expect(parseSampling({ ...ok, max_tokens: "0" })).toMatch(/Max tokens/);
    expect(parseSampling({ ...ok, max_tokens: "8192" })).toMatchObject({ max_tokens: 8192 });
    expect(parseSampling({ ...ok, max_tokens: "8193" })).toMatch(/from 1 to 8192/);
  });
});
