// Right-hand AI panels. Models are not bundled; other issues fill these in.
import { h } from "../dom";

function panel(id: string, title: string, model: string, what: string) {
  return h(
    `section.ai-panel#${id}` as "section",
    {},
    h("h3", {}, title),
    h("p.status", {}, "Model not installed."),
    h("p.hint", {}, `${what} To install ${model}, put its weights under models/ (see models/README.md) and restart Medlens. Everything runs offline.`),
  );
}

export function aiPanels(): HTMLElement {
  return h(
    "div.ai",
    {},
    panel("ai-findings", "Draft findings", "MedGemma", "Draft findings for the current series will appear here."),
    panel("ai-labels", "Zero-shot labels", "MedSigLIP", "Zero-shot labels for the current image will appear here."),
  );
}
