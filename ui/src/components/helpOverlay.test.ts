// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { h } from "../dom";
import { SHORTCUTS } from "../keymap";
import { HelpOverlay, isTyping } from "./helpOverlay";

function setup() {
  const overlay = new HelpOverlay();
  const viewport = h("div.viewport", { tabindex: "0" });
  const input = h("input", { type: "text" });
  const textarea = h("textarea");
  const select = h("select", {}, h("option", { value: "a" }, "a"));
  const checkbox = h("input", { type: "checkbox" });
  document.body.replaceChildren(viewport, input, textarea, select, checkbox, overlay.el);
  const detach = overlay.attach(document);
  const press = (target: HTMLElement, key: string, init: KeyboardEventInit = {}) => {
    const e = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...init });
    target.dispatchEvent(e);
    return e;
  };
  return { overlay, viewport, input, textarea, select, checkbox, detach, press };
}

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
});

describe("help overlay", () => {
  it("is a modal dialog, hidden until asked", () => {
    const { overlay, detach } = setup();
    cleanup = detach;
    expect(overlay.open).toBe(false);
    expect(overlay.el.hidden).toBe(true);
    const d = overlay.el.querySelector('[role="dialog"]')!;
    expect(d.getAttribute("aria-modal")).toBe("true");
    expect(document.getElementById(d.getAttribute("aria-labelledby")!)?.textContent).toMatch(/shortcuts/i);
  });

  it("lists every entry of SHORTCUTS, grouped", () => {
    const { overlay, detach } = setup();
    cleanup = detach;
    const rows = [...overlay.el.querySelectorAll("dt")].map((dt) => `${dt.textContent} = ${dt.nextElementSibling?.textContent}`);
    expect(rows).toEqual(
      // grouped in SHORTCUT_GROUPS order; within a group, table order
      [...SHORTCUTS]
        .sort((a, b) => groupIndex(a.group) - groupIndex(b.group))
        .map((s) => `${s.label.join(" or ")} = ${s.does}`),
    );
    const sections = [...overlay.el.querySelectorAll<HTMLElement>("section.help-group")].map((s) => s.dataset.group);
    expect(sections).toEqual(["Navigation", "Window / level", "Zoom and pan", "Measure", "View and panels", "Files", "Help"]);
    expect(overlay.el.textContent).toContain("Left drag");
    expect(overlay.el.textContent).toContain("Ctrl+wheel");
  });

  it("? opens it from the viewport, moves focus in, and ? or Esc closes it and gives focus back", () => {
    const { overlay, viewport, detach, press } = setup();
    cleanup = detach;
    viewport.focus();
    expect(press(viewport, "?", { shiftKey: true }).defaultPrevented).toBe(true);
    expect(overlay.open).toBe(true);
    const dialog = overlay.el.querySelector<HTMLElement>('[role="dialog"]')!;
    expect(dialog.contains(document.activeElement)).toBe(true);
    press(document.activeElement as HTMLElement, "?", { shiftKey: true });
    expect(overlay.open).toBe(false);
    expect(document.activeElement).toBe(viewport);
    press(viewport, "/", { shiftKey: true }); // where Shift+/ arrives as "/"
    expect(overlay.open).toBe(true);
    press(document.activeElement as HTMLElement, "Escape");
    expect(overlay.open).toBe(false);
    expect(document.activeElement).toBe(viewport);
  });

  it("does not open while typing in an input, textarea or select", () => {
    const { overlay, input, textarea, select, checkbox, detach, press } = setup();
    cleanup = detach;
    for (const el of [input, textarea, select]) {
      el.focus();
      expect(press(el, "?", { shiftKey: true }).defaultPrevented).toBe(false);
      expect(overlay.open).toBe(false);
    }
    checkbox.focus();
    press(checkbox, "?", { shiftKey: true });
    expect(overlay.open).toBe(true);
  });

  it("leaves a key another handler took, ignores / and Ctrl+?, and Esc when closed", () => {
    const { overlay, viewport, detach, press } = setup();
    cleanup = detach;
    viewport.addEventListener("keydown", (e) => e.key === "?" && e.preventDefault(), { once: true });
    press(viewport, "?", { shiftKey: true });
    expect(overlay.open).toBe(false);
    press(viewport, "/");
    press(viewport, "?", { ctrlKey: true });
    expect(overlay.open).toBe(false);
    expect(press(viewport, "Escape").defaultPrevented).toBe(false);
  });

  it("keeps Tab inside, closes on Close and on a click outside the dialog; detach stops listening", () => {
    const { overlay, viewport, detach, press } = setup();
    viewport.focus();
    overlay.show();
    const close = overlay.el.querySelector<HTMLButtonElement>('[data-testid="help-close"]')!;
    expect(press(document.activeElement as HTMLElement, "Tab").defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(close);
    close.click();
    expect(overlay.open).toBe(false);
    expect(document.activeElement).toBe(viewport);
    overlay.show();
    overlay.el.dispatchEvent(new MouseEvent("mousedown", { bubbles: true }));
    expect(overlay.open).toBe(false);
    detach();
    press(viewport, "?", { shiftKey: true });
    expect(overlay.open).toBe(false);
  });

  it("isTyping", () => {
    expect(isTyping(null)).toBe(false);
    expect(isTyping(h("input", { type: "number" }))).toBe(true);
    expect(isTyping(h("input", { type: "search" }))).toBe(true);
    expect(isTyping(h("input", { type: "radio" }))).toBe(false);
    expect(isTyping(h("div", { contenteditable: "true" }))).toBe(true);
    expect(isTyping(h("button"))).toBe(false);
  });
});

const ORDER = ["Navigation", "Window / level", "Zoom and pan", "Measure", "View and panels", "Files", "Help"];
const groupIndex = (g: string) => ORDER.indexOf(g);
