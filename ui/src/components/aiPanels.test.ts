// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { ImageContextFeed } from "../imageContext";
import { memoryDir, storedDir } from "./aiCommon";
import { FakeAiApi, flush } from "./aiFake";
import { AiPanels } from "./aiPanels";

const IDS = [
  "findings-draft-banner",
  "findings-template",
  "findings-system",
  "findings-prompt",
  "findings-greedy",
  "findings-temperature",
  "findings-top-k",
  "findings-top-p",
  "findings-seed",
  "findings-max-tokens",
  "findings-generate",
  "findings-stop",
  "findings-rerun",
  "findings-text",
  "findings-ttft",
  "findings-tps",
  "findings-thumbnail",
  "findings-copy",
  "findings-export-dir",
  "findings-export-md",
  "findings-export-json",
  "findings-export-sr",
  "labels-set",
  "labels-editor",
  "labels-mode",
  "labels-bars",
  "labels-export-csv",
  "model-list",
  "gpu-info",
  "model-add-path",
  "model-add",
  "model-import",
  "model-import-progress",
];

describe("AI panels", () => {
  it("replace the placeholders with all three panels and their test ids", async () => {
    const panels = new AiPanels({ api: new FakeAiApi(), context: new ImageContextFeed(), exportDir: memoryDir() });
    document.body.replaceChildren(panels.el);
    await flush();
    for (const id of IDS) expect(document.querySelectorAll(`[data-testid="${id}"]`).length, id).toBe(1);
    expect(document.body.textContent).not.toContain("Model not installed");
    panels.destroy();
  });

  it("remember the export folder in storage", () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    storedDir(storage).set("/exports/a");
    expect(storedDir(storage).get()).toBe("/exports/a");
    const broken = { getItem: () => { throw new Error("denied"); }, setItem: () => { throw new Error("denied"); } };
    const d = storedDir(broken);
    d.set("/x");
    expect(d.get()).toBe("/x");
  });
});
