// Right-hand AI panels: draft findings (MedGemma), zero-shot labels (MedSigLIP) and the
// model manager. They get the API and the image on screen from the App; nothing global.
import type { AiApi } from "../aiApi";
import { h } from "../dom";
import type { ImageContextSource } from "../imageContext";
import type { DirMemory } from "./aiCommon";
import { FindingsPanel } from "./findingsPanel";
import { LabelsPanel } from "./labelsPanel";
import { ModelManager } from "./modelManager";

export interface AiPanelsDeps {
  api: AiApi;
  context: ImageContextSource;
  exportDir: DirMemory;
}

export class AiPanels {
  readonly el: HTMLElement;
  readonly findings: FindingsPanel;
  readonly labels: LabelsPanel;
  readonly models: ModelManager;

  constructor(deps: AiPanelsDeps) {
    this.findings = new FindingsPanel({ api: deps.api, context: deps.context, exportDir: deps.exportDir });
    this.labels = new LabelsPanel({ api: deps.api, context: deps.context, exportDir: deps.exportDir });
    this.models = new ModelManager({ api: deps.api });
    this.el = h("div.ai", { "data-testid": "ai-panels" }, this.findings.el, this.labels.el, this.models.el);
  }

  destroy(): void {
    this.findings.destroy();
    this.labels.destroy();
  }
}
