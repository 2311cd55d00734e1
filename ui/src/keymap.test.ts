import { describe, expect, it } from "vitest";
import { dragMode, helpKey, keyAction, type KeyChord, type KeyLike, SHORTCUT_GROUPS, SHORTCUTS, wheelAction } from "./keymap";

describe("keyboard map", () => {
  it("arrows and pages scroll slices", () => {
    expect(keyAction({ key: "ArrowDown" })).toEqual({ type: "slice", delta: 1 });
    expect(keyAction({ key: "ArrowUp" })).toEqual({ type: "slice", delta: -1 });
    expect(keyAction({ key: "PageDown" })).toEqual({ type: "slice", delta: 10 });
    expect(keyAction({ key: "End" })).toEqual({ type: "sliceTo", where: "last" });
  });
  it("digits 1-9 pick presets, 0 is 1:1", () => {
    expect(keyAction({ key: "1" })).toEqual({ type: "preset", index: 0 });
    expect(keyAction({ key: "9" })).toEqual({ type: "preset", index: 8 });
    expect(keyAction({ key: "0" })).toEqual({ type: "oneToOne" });
  });
  it("letters, case-insensitive", () => {
    expect(keyAction({ key: "i" })).toEqual({ type: "invert" });
    expect(keyAction({ key: "A" })).toEqual({ type: "autoWindow" });
    expect(keyAction({ key: "f" })).toEqual({ type: "fit" });
    expect(keyAction({ key: " " })).toEqual({ type: "cine" });
  });
  it("ctrl shortcuts", () => {
    expect(keyAction({ key: "e", ctrlKey: true })).toEqual({ type: "export" });
    expect(keyAction({ key: "o", metaKey: true })).toEqual({ type: "open" });
    expect(keyAction({ key: "i", ctrlKey: true })).toBeNull();
    expect(keyAction({ key: "x" })).toBeNull();
    expect(keyAction({ key: "1", altKey: true })).toBeNull();
  });
});

describe("SHORTCUTS (the help overlay's list) against the handlers", () => {
  const keyEntries = SHORTCUTS.flatMap((s) => (s.via === "key" ? [s] : []));
  const helpEntries = SHORTCUTS.flatMap((s) => (s.via === "help" ? [s] : []));
  const mouseEntries = SHORTCUTS.flatMap((s) => (s.via === "mouse" ? [s] : []));
  const named = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "PageUp", "PageDown", "Home", "End", "Escape", "Enter", "Tab", "Backspace", "Delete", "Insert", "Shift", "Control", "Alt", "Meta", "ContextMenu", "Dead", "Unidentified"];
  const printable = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));
  const fkeys = Array.from({ length: 12 }, (_, i) => `F${i + 1}`);
  const allKeys = [...printable, ...named, ...fkeys, "−", "§", "é", "ß"];
  const mods = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map((m) => ({ ctrlKey: !!(m & 1), metaKey: !!(m & 2), altKey: !!(m & 4), shiftKey: !!(m & 8) }));
  const universe: KeyLike[] = allKeys.flatMap((key) => mods.map((m) => ({ key, ...m })));
  const matches = (c: KeyChord, e: KeyLike) =>
    !e.altKey && c.keys.includes(e.key) && c.mod === !!(e.ctrlKey || e.metaKey) && (c.shift === undefined || c.shift === !!e.shiftKey);
  /** The events a chord stands for: each key, Ctrl or ⌘ when mod, shift as the chord allows. */
  const eventsOf = (c: KeyChord): KeyLike[] =>
    c.keys.flatMap((key) =>
      (c.mod ? [{ ctrlKey: true }, { metaKey: true }] : [{}]).flatMap((m) => (c.shift === undefined ? [false, true] : [c.shift]).map((shiftKey) => ({ key, ...m, shiftKey }))),
    );
  const actionOf = (s: (typeof keyEntries)[number], key: string) => (typeof s.action === "function" ? s.action(key) : s.action);

  // A chord may belong to both handlers only where both lists say so (Esc: the overlay closes;
  // on the focused image a measurement being drawn is cancelled).
  const helpListed = (e: KeyLike) => helpEntries.find((s) => s.chords.some((c) => matches(c, e)))?.action ?? null;
  const keyListed = (e: KeyLike) => {
    const s = keyEntries.find((k) => k.chords.some((c) => matches(c, e)));
    return s ? actionOf(s, e.key) : null;
  };

  it("every listed key does what the list says", () => {
    for (const s of keyEntries)
      for (const c of s.chords)
        for (const e of eventsOf(c)) {
          expect(keyAction(e), `${s.label.join("/")} ${JSON.stringify(e)}`).toEqual(actionOf(s, e.key));
          expect(helpKey(e)).toBe(helpListed(e));
        }
    for (const s of helpEntries)
      for (const c of s.chords)
        for (const e of eventsOf(c)) {
          expect(helpKey(e), JSON.stringify(e)).toBe(s.action);
          expect(keyAction(e), JSON.stringify(e)).toEqual(keyListed(e));
        }
  });

  it("every key the handlers act on is listed, once", () => {
    let handled = 0;
    for (const e of universe) {
      const a = keyAction(e);
      const hk = helpKey(e);
      const keyHits = keyEntries.filter((s) => s.chords.some((c) => matches(c, e)));
      const helpHits = helpEntries.filter((s) => s.chords.some((c) => matches(c, e)));
      if (a) {
        handled++;
        expect(keyHits.length, `keyAction handles ${JSON.stringify(e)}: listed once`).toBe(1);
        expect(a).toEqual(actionOf(keyHits[0]!, e.key));
      } else expect(keyHits, `listed but not handled: ${JSON.stringify(e)}`).toEqual([]);
      if (hk) {
        expect(helpHits.length, `helpKey handles ${JSON.stringify(e)}: listed once`).toBe(1);
        expect(helpHits[0]!.action).toBe(hk);
      } else expect(helpHits, `listed but not handled: ${JSON.stringify(e)}`).toEqual([]);
    }
    expect(handled).toBeGreaterThan(50);
  });

  it("every drag and wheel gesture is listed with what it does, and nothing else", () => {
    for (const measuring of [false, true])
      for (const button of [0, 1, 2, 3, 4])
        for (const shiftKey of [false, true]) {
          const mode = dragMode({ button, shiftKey }, measuring);
          const tool = measuring ? "measure" : "wl";
          const hits = mouseEntries.flatMap((s) =>
            s.gestures.filter((g) => g.input === "drag" && g.button === button && g.shift === shiftKey && (g.tool === undefined || g.tool === tool)),
          );
          if (mode) expect(hits.map((g) => (g.input === "drag" ? g.does : null)), `button ${button} shift ${shiftKey} ${tool}`).toEqual([mode]);
          else expect(hits).toEqual([]);
        }
    for (const [ctrlKey, metaKey] of [
      [false, false],
      [true, false],
      [false, true],
    ] as const)
      for (const deltaY of [-3, 3]) {
        const w = wheelAction({ ctrlKey, metaKey, deltaY });
        const mod = ctrlKey || metaKey;
        const hits = mouseEntries.flatMap((s) => s.gestures.filter((g) => g.input === "wheel" && g.mod === mod));
        expect(hits.map((g) => (g.input === "wheel" ? g.does : null))).toEqual([w!.type]);
      }
    expect(wheelAction({ ctrlKey: false, metaKey: false, deltaY: 0 })).toBeNull();
    expect(wheelAction({ ctrlKey: false, metaKey: false, deltaY: 2 })).toEqual({ type: "slice", delta: 1 });
    expect(wheelAction({ ctrlKey: true, metaKey: false, deltaY: -2 })).toEqual({ type: "zoom", zoomIn: true });
  });

  it("groups: every entry's group is shown, in order", () => {
    for (const s of SHORTCUTS) expect(SHORTCUT_GROUPS).toContain(s.group);
  });

  it("? (or Shift+/) toggles the overlay, Esc closes it; not with Ctrl, ⌘ or Alt", () => {
    expect(helpKey({ key: "?", shiftKey: true })).toBe("toggle");
    expect(helpKey({ key: "/", shiftKey: true })).toBe("toggle");
    expect(helpKey({ key: "/" })).toBeNull();
    expect(helpKey({ key: "Escape" })).toBe("close");
    expect(helpKey({ key: "?", ctrlKey: true })).toBeNull();
    expect(helpKey({ key: "?", altKey: true })).toBeNull();
  });

  it("measurement tools: V, L, G, E, B, D pick a tool; Esc cancels; Delete clears; left drag measures only with a tool", () => {
    expect(keyAction({ key: "l" })).toEqual({ type: "tool", tool: "length" });
    expect(keyAction({ key: "G" })).toEqual({ type: "tool", tool: "angle" });
    expect(keyAction({ key: "e" })).toEqual({ type: "tool", tool: "ellipse" });
    expect(keyAction({ key: "b" })).toEqual({ type: "tool", tool: "rect" });
    expect(keyAction({ key: "B" })).toEqual({ type: "tool", tool: "rect" });
    expect(keyAction({ key: "d" })).toEqual({ type: "tool", tool: "freehand" });
    expect(keyAction({ key: "]" })).toEqual({ type: "rotate", quarters: 1 });
    expect(keyAction({ key: "[" })).toEqual({ type: "rotate", quarters: -1 });
    expect(keyAction({ key: "H" })).toEqual({ type: "flip", axis: "h" });
    expect(keyAction({ key: "j" })).toEqual({ type: "flip", axis: "v" });
    expect(keyAction({ key: "v" })).toEqual({ type: "tool", tool: "wl" });
    expect(keyAction({ key: "e", ctrlKey: true })).toEqual({ type: "export" });
    expect(keyAction({ key: "Escape" })).toEqual({ type: "cancelMeasure" });
    expect(keyAction({ key: "Delete" })).toEqual({ type: "deleteMeasurement" });
    expect(dragMode({ button: 0, shiftKey: false }, true)).toBe("measure");
    expect(dragMode({ button: 0, shiftKey: false }, false)).toBe("wl");
    expect(dragMode({ button: 0, shiftKey: true }, true)).toBe("pan");
    expect(dragMode({ button: 2, shiftKey: false }, true)).toBe("pan");
  });

  it("Ctrl+Shift+O opens a folder, as the menu's accelerator does", () => {
    expect(keyAction({ key: "O", ctrlKey: true, shiftKey: true })).toEqual({ type: "openFolder" });
    expect(keyAction({ key: "o", ctrlKey: true })).toEqual({ type: "open" });
  });
});
