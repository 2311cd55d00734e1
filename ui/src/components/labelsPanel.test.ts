// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LabelsRequest, LabelsResult } from "../aiTypes";
import { ImageContextFeed } from "../imageContext";
import { memoryDir } from "./aiCommon";
import { deferred, FakeAiApi, flush, type Deferred } from "./aiFake";
import { LABELS_DEBOUNCE_MS, LabelsPanel, parseLabels, sortScores } from "./labelsPanel";

const ctx = (frame: number, center = 40, width = 400) => ({ path: "/data/ct.dcm", frame, window: { center, width }, sopInstanceUid: "1.2.3" });

function q<T extends HTMLElement = HTMLElement>(root: HTMLElement, id: string): T {
  const el = root.querySelector<T>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`no ${id}`);
  return el;
}

const bars = (el: HTMLElement) =>
  [...el.querySelectorAll<HTMLElement>('[data-testid="labels-bar"]')].map((b) => ({ label: b.dataset.label, probability: Number(b.dataset.probability) }));

async function setup(api = new FakeAiApi(), confirm: (m: string) => boolean = () => false) {
  const feed = new ImageContextFeed();
  feed.publish(ctx(0));
  const panel = new LabelsPanel({ api, context: feed, exportDir: memoryDir("/exports"), confirm });
  document.body.replaceChildren(panel.el);
  await flush(); // label sets load, first set applied
  return { api, feed, panel, el: panel.el };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("labels panel", () => {
  it("loads the first set and shows bars sorted descending with the exact probabilities", async () => {
    const api = new FakeAiApi();
    const scores = [
      { label: "effusion", probability: 0.123456789 },
      { label: "pneumothorax", probability: 0.9876 },
      { label: "normal", probability: 0.5 },
    ];
    api.labels = async () => ({ scores, cached: true, ms: 12.3 });
    const { el } = await setup(api);
    expect(q<HTMLTextAreaElement>(el, "labels-editor").value).toBe("effusion\npneumothorax\nnormal");
    expect(api.count("labels_compute")).toBe(0);
    await vi.advanceTimersByTimeAsync(LABELS_DEBOUNCE_MS);
    expect(api.count("labels_compute")).toBe(1);
    expect(bars(el)).toEqual([scores[1], scores[2], scores[0]]);
    const first = el.querySelector<HTMLElement>('[data-testid="labels-bar"]')!;
    expect(first.dataset.probability).toBe("0.9876");
    expect(first.textContent).toContain("98.8%");
    expect(q(el, "labels-status").textContent).toContain("cached");
  });

  it("debounces rapid context changes into one call with the latest frame and window", async () => {
    const { api, feed, el } = await setup();
    await vi.advanceTimersByTimeAsync(LABELS_DEBOUNCE_MS);
    api.calls.length = 0;
    for (let f = 1; f <= 6; f++) {
      feed.publish(ctx(f, 40 + f, 400 + f));
      await vi.advanceTimersByTimeAsync(50);
    }
    expect(api.count("labels_compute")).toBe(0);
    await vi.advanceTimersByTimeAsync(LABELS_DEBOUNCE_MS);
    const reqs = api.argsOf("labels_compute").map((a) => a[0] as LabelsRequest);
    expect(reqs.length).toBe(1);
    expect(reqs[0]).toEqual({ path: "/data/ct.dcm", frame: 6, window: { center: 46, width: 406 }, labels: ["effusion", "pneumothorax", "normal"], mode: "sigmoid" });
    expect(bars(el).length).toBe(3);
  });

  it("ignores a stale response that arrives after a newer one", async () => {
    const api = new FakeAiApi();
    const pending: Deferred<LabelsResult>[] = [];
    api.labels = () => {
      const d = deferred<LabelsResult>();
      pending.push(d);
      return d.promise;
    };
    const { feed, el } = await setup(api);
    await vi.advanceTimersByTimeAsync(LABELS_DEBOUNCE_MS); // request for frame 0
    feed.publish(ctx(1));
    await vi.advanceTimersByTimeAsync(LABELS_DEBOUNCE_MS); // request for frame 1
    expect(pending.length).toBe(2);
    pending[1]!.resolve({ scores: [{ label: "new", probability: 0.7 }], cached: false, ms: 1 });
    await flush();
    pending[0]!.resolve({ scores: [{ label: "old", probability: 0.9 }], cached: false, ms: 1 });
    await flush();
    expect(bars(el)).toEqual([{ label: "new", probability: 0.7 }]);
    // An old failure does not clobber the newer result either.
    feed.publish(ctx(2));
    await vi.advanceTimersByTimeAsync(LABELS_DEBOUNCE_MS);
    feed.publish(ctx(3));
    await vi.advanceTimersByTimeAsync(LABELS_DEBOUNCE_MS);
    pending[3]!.resolve({ scores: [{ label: "latest", probability: 0.2 }], cached: false, ms: 1 });
    pending[2]!.reject("boom");
    await flush();
    expect(bars(el)).toEqual([{ label: "latest", probability: 0.2 }]);
    expect(q(el, "labels-error").hidden).toBe(true);
  });

  it("recomputes on mode and label edits; errors inline", async () => {
    const { api, el } = await setup();
    await vi.advanceTimersByTimeAsync(LABELS_DEBOUNCE_MS);
    const mode = q<HTMLSelectElement>(el, "labels-mode");
    mode.value = "softmax";
    mode.dispatchEvent(new Event("change"));
    await vi.advanceTimersByTimeAsync(LABELS_DEBOUNCE_MS);
    expect((api.argsOf("labels_compute").at(-1)![0] as LabelsRequest).mode).toBe("softmax");
    const editor = q<HTMLTextAreaElement>(el, "labels-editor");
    editor.value = "a\n\n b \na\nc";
    editor.dispatchEvent(new Event("input"));
    api.labels = async () => Promise.reject(new Error("MedSigLIP not installed"));
    await vi.advanceTimersByTimeAsync(LABELS_DEBOUNCE_MS);
    expect((api.argsOf("labels_compute").at(-1)![0] as LabelsRequest).labels).toEqual(["a", "b", "c"]);
    expect(q(el, "labels-error").textContent).toContain("MedSigLIP not installed");
    expect(bars(el)).toEqual([]);
  });

  it("a GPU failure offers the CPU; any other error does not", async () => {
    const { api, el } = await setup();
    await vi.advanceTimersByTimeAsync(LABELS_DEBOUNCE_MS);
    const cpu = q<HTMLButtonElement>(el, "labels-run-cpu");
    api.labels = async () => Promise.reject("MedSigLIP not installed");
    q(el, "labels-compute").click();
    await vi.advanceTimersByTimeAsync(0);
    expect(cpu.hidden).toBe(true);
    api.labels = async () => Promise.reject("the GPU ran out of memory (can't allocate buffer of size: 274877906944); the model can run on the CPU instead");
    q(el, "labels-compute").click();
    await vi.advanceTimersByTimeAsync(0);
    expect(q(el, "labels-error").textContent).toContain("the GPU ran out of memory");
    expect(cpu.hidden).toBe(false);
    const calls = api.count("labels_compute");
    api.labels = async (req) => ({ scores: req.labels.map((label) => ({ label, probability: 0.5 })), cached: false, ms: 1 });
    cpu.click();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.count("ai_use_cpu")).toBe(1);
    expect(api.count("labels_compute")).toBe(calls + 1);
    expect(cpu.hidden).toBe(true);
    expect(bars(el).length).toBeGreaterThan(0);
  });

  it("exports the shown scores as CSV and saves a named set", async () => {
    const { api, el } = await setup();
    expect(q<HTMLButtonElement>(el, "labels-export-csv").disabled).toBe(true);
    await vi.advanceTimersByTimeAsync(LABELS_DEBOUNCE_MS);
    q<HTMLButtonElement>(el, "labels-export-csv").click();
    await flush();
    const [req] = api.argsOf("labels_export_csv")[0] as [{ dir: string; rows: unknown[]; path: string }];
    expect(req.dir).toBe("/exports");
    expect(req.path).toBe("/data/ct.dcm");
    expect(req.rows).toEqual(bars(el));
    q<HTMLInputElement>(el, "labels-set-name").value = "Mine";
    q<HTMLButtonElement>(el, "labels-save").click();
    await flush();
    expect(api.argsOf("label_sets_save")).toEqual([["Mine", ["effusion", "pneumothorax", "normal"], false]]);
    expect(q<HTMLSelectElement>(el, "labels-set").value).toBe("Mine");
  });

  it("replaces a saved set only after the user confirms", async () => {
    const answers = [false, true];
    const asked: string[] = [];
    const { api, el } = await setup(new FakeAiApi(), (m) => (asked.push(m), answers.shift()!));
    const save = async (labels: string) => {
      q<HTMLInputElement>(el, "labels-set-name").value = "Mine";
      q<HTMLTextAreaElement>(el, "labels-editor").value = labels;
      q<HTMLButtonElement>(el, "labels-save").click();
      await flush();
    };
    await save("a\nb");
    expect(asked).toEqual([]);
    await save("c"); // declined: nothing sent
    expect(asked).toEqual(['Replace the saved label set "Mine"?']);
    expect(api.argsOf("label_sets_save")).toEqual([["Mine", ["a", "b"], false]]);
    await save("c"); // confirmed: sent with overwrite
    expect(api.argsOf("label_sets_save")).toEqual([["Mine", ["a", "b"], false], ["Mine", ["c"], true]]);
    expect(q(el, "labels-error").hidden).toBe(true);
  });

  it("the export folder comes from a dialog; an audit log failure is shown", async () => {
    const api = new FakeAiApi();
    api.chosen = "/media/usb/exports";
    api.labels = async (req) => ({ scores: req.labels.map((label) => ({ label, probability: 0.5 })), cached: false, ms: 1, audit_error: "audit log /d/audit.jsonl: No space left on device" });
    const { el } = await setup(api);
    q<HTMLButtonElement>(el, "labels-export-choose").click();
    await flush();
    expect(api.argsOf("choose_path")).toEqual([[true, "Export folder"]]);
    expect(q<HTMLInputElement>(el, "labels-export-dir").value).toBe("/media/usb/exports");
    await vi.advanceTimersByTimeAsync(LABELS_DEBOUNCE_MS);
    expect(bars(el).length).toBe(3);
    expect(q(el, "labels-error").textContent).toBe("Not in the audit log: audit log /d/audit.jsonl: No space left on device");
  });
});

describe("label helpers", () => {
  it("parses one label per line", () => {
    expect(parseLabels(" x \r\ny\n\nx\n")).toEqual(["x", "y"]);
  });
  it("sorts descending, stable for ties", () => {
    expect(sortScores([{ label: "a", probability: 0.1 }, { label: "b", probability: 0.5 }, { label: "c", probability: 0.1 }]).map((s) => s.label)).toEqual(["b", "a", "c"]);
  });
});
