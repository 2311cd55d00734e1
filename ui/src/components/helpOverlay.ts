// The shortcut overlay (`?`): every key and mouse gesture of the viewer, grouped, from the one
// table in keymap.ts (SHORTCUTS), which keymap.test.ts checks against the handlers. A modal
// dialog: focus moves into it and back to where it was on close; `?` or Esc closes it, as do
// its Close button and a click outside. `?` does nothing while typing in a field.
import { h } from "../dom";
import { helpKey, SHORTCUT_GROUPS, SHORTCUTS, type Shortcut } from "../keymap";

/** Whether a key event aimed at `t` is text entry (a text-like input, textarea, select, or editable content). */
export function isTyping(t: EventTarget | null): boolean {
  if (!t || typeof (t as Element).tagName !== "string") return false;
  const el = t as HTMLElement;
  const tag = el.tagName.toLowerCase();
  if (tag === "textarea" || tag === "select") return true;
  if (tag === "input") return !["checkbox", "radio", "button", "submit", "reset", "range", "color", "file", "image"].includes((el as HTMLInputElement).type);
  return el.isContentEditable === true || el.getAttribute("contenteditable") === "true";
}

export class HelpOverlay {
  /** The backdrop with the dialog in it; hidden while closed. */
  readonly el: HTMLElement;
  private readonly dialog: HTMLElement;
  private readonly closeBtn: HTMLButtonElement;
  private returnFocus: HTMLElement | null = null;

  constructor(shortcuts: readonly Shortcut[] = SHORTCUTS) {
    this.closeBtn = h("button.help-close", { type: "button", "data-testid": "help-close", title: "Close (Esc)", onClick: () => this.hide() }, "Close");
    const groups = SHORTCUT_GROUPS.map((g) => ({ g, items: shortcuts.filter((s) => s.group === g) })).filter((x) => x.items.length > 0);
    this.dialog = h(
      "div.help-dialog",
      { role: "dialog", "aria-modal": "true", "aria-labelledby": "help-title", tabindex: "-1", "data-testid": "help-dialog" },
      h("header", {}, h("h2#help-title", {}, "Keyboard shortcuts and mouse"), this.closeBtn),
      h(
        "div.help-groups",
        {},
        groups.map(({ g, items }) =>
          h(
            "section.help-group",
            { "data-group": g },
            h("h3", {}, g),
            h(
              "dl",
              {},
              items.flatMap((s) => [
                h("dt", { "data-via": s.via }, joinKbd(s.label)),
                h("dd", {}, s.does),
              ]),
            ),
          ),
        ),
      ),
      h("p.help-note", {}, "Viewer keys act while the image has focus (click it). Ctrl means ⌘ on macOS."),
    );
    this.el = h("div.help-overlay", { hidden: true, "data-testid": "help-overlay", onMousedown: (e: MouseEvent) => e.target === this.el && this.hide() }, this.dialog);
    this.dialog.addEventListener("keydown", (e) => {
      if (e.key !== "Tab") return;
      // Keep focus inside the dialog: its only control is the Close button.
      e.preventDefault();
      this.closeBtn.focus();
    });
  }

  get open(): boolean {
    return !this.el.hidden;
  }

  show(): void {
    if (this.open) return;
    const active = this.el.ownerDocument.activeElement;
    this.returnFocus = active instanceof HTMLElement && active !== this.el.ownerDocument.body ? active : null;
    this.el.hidden = false;
    this.dialog.focus();
  }

  hide(): void {
    if (!this.open) return;
    this.el.hidden = true;
    const back = this.returnFocus;
    this.returnFocus = null;
    if (back?.isConnected) back.focus();
  }

  toggle(): void {
    if (this.open) this.hide();
    else this.show();
  }

  /** A document keydown: `?` toggles (not while typing, not when another handler took it), Esc closes. */
  onKey(e: KeyboardEvent): void {
    const k = helpKey(e);
    if (!k) return;
    if (k === "close") {
      if (!this.open) return;
      e.preventDefault();
      this.hide();
      return;
    }
    if (e.defaultPrevented || (!this.open && isTyping(e.target))) return;
    e.preventDefault();
    this.toggle();
  }

  /** Listen for the overlay's keys on `target` (the document); returns the function that stops. */
  attach(target: Pick<Document, "addEventListener" | "removeEventListener">): () => void {
    const f = (e: Event) => this.onKey(e as KeyboardEvent);
    target.addEventListener("keydown", f);
    return () => target.removeEventListener("keydown", f);
  }
}

function joinKbd(alternatives: readonly string[]): (Node | string)[] {
  return alternatives.flatMap((k, i) => (i === 0 ? [h("kbd", {}, k)] : [" or ", h("kbd", {}, k)]));
}
