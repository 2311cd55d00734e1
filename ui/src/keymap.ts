// Keyboard and mouse map of the viewer: pure functions from input events to actions, and
// SHORTCUTS, the one table of every key and gesture they handle. The help overlay (`?`,
// components/helpOverlay.ts) lists exactly that table, and keymap.test.ts checks it against
// keyAction, helpKey, dragMode and wheelAction both ways (every listed chord does what the
// table says; every key, modifier, button and wheel combination they act on is listed).
// Add a shortcut here, in the table, or the test fails.
import type { Tool } from "./measure";

export type KeyAction =
  | { type: "slice"; delta: number }
  | { type: "sliceTo"; where: "first" | "last" }
  | { type: "preset"; index: number }
  | { type: "fileWindow" }
  | { type: "autoWindow" }
  | { type: "invert" }
  | { type: "zoom"; factor: number }
  | { type: "fit" }
  | { type: "oneToOne" }
  | { type: "cine" }
  | { type: "tags" }
  | { type: "export" }
  | { type: "open" }
  | { type: "openFolder" }
  | { type: "reset" }
  | { type: "flip"; axis: "h" | "v" }
  | { type: "rotate"; quarters: 1 | -1 }
  /** Open or close the MPR view of the open series. */
  | { type: "mpr" }
  | { type: "tool"; tool: Tool }
  | { type: "cancelMeasure" }
  | { type: "deleteMeasurement" }
  /** The measurements toolbar's Export (no key). */
  | { type: "exportMeasurements" }
  | { type: "clearMeasurements" };

export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  shiftKey?: boolean;
}

/** The viewport's keys (its keydown handler). Shift is ignored except in Ctrl+Shift+O. */
export function keyAction(e: KeyLike): KeyAction | null {
  const mod = !!(e.ctrlKey || e.metaKey);
  if (e.altKey) return null;
  if (mod) {
    switch (e.key.toLowerCase()) {
      case "e":
        return { type: "export" };
      case "o":
        return e.shiftKey ? { type: "openFolder" } : { type: "open" };
      case "=":
      case "+":
        return { type: "zoom", factor: 1.25 };
      case "-":
        return { type: "zoom", factor: 0.8 };
      case "0":
        return { type: "oneToOne" };
      default:
        return null;
    }
  }
  switch (e.key) {
    case "ArrowUp":
    case "ArrowLeft":
      return { type: "slice", delta: -1 };
    case "ArrowDown":
    case "ArrowRight":
      return { type: "slice", delta: 1 };
    case "PageUp":
      return { type: "slice", delta: -10 };
    case "PageDown":
      return { type: "slice", delta: 10 };
    case "Home":
      return { type: "sliceTo", where: "first" };
    case "End":
      return { type: "sliceTo", where: "last" };
    case "+":
    case "=":
      return { type: "zoom", factor: 1.25 };
    case "-":
    case "_":
      return { type: "zoom", factor: 0.8 };
    case "0":
      return { type: "oneToOne" };
    case " ":
      return { type: "cine" };
    case "Escape":
      return { type: "cancelMeasure" };
    case "Delete":
      return { type: "deleteMeasurement" };
  }
  if (/^[1-9]$/.test(e.key)) return { type: "preset", index: Number(e.key) - 1 };
  switch (e.key.toLowerCase()) {
    case "w":
      return { type: "fileWindow" };
    case "a":
      return { type: "autoWindow" };
    case "i":
      return { type: "invert" };
    case "f":
      return { type: "fit" };
    case "t":
      return { type: "tags" };
    case "m":
      return { type: "mpr" };
    case "r":
      return { type: "reset" };
    case "h":
      return { type: "flip", axis: "h" };
    case "j":
      return { type: "flip", axis: "v" };
    case "[":
      return { type: "rotate", quarters: -1 };
    case "]":
      return { type: "rotate", quarters: 1 };
    case "v":
      return { type: "tool", tool: "wl" };
    case "l":
      return { type: "tool", tool: "length" };
    case "g":
      return { type: "tool", tool: "angle" };
    case "e":
      return { type: "tool", tool: "ellipse" };
    case "b":
      return { type: "tool", tool: "rect" };
    case "d":
      return { type: "tool", tool: "freehand" };
  }
  return null;
}

/** The help overlay's keys (a document-level handler): `?` (Shift+/ where the key arrives
 *  as "/") toggles it, Escape closes it. */
export function helpKey(e: KeyLike): "toggle" | "close" | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  if (e.key === "?" || (e.key === "/" && e.shiftKey)) return "toggle";
  if (e.key === "Escape") return "close";
  return null;
}

/** What a mouse drag on the viewport does, by the button pressed (0 left, 1 middle, 2 right);
 *  with a measurement tool chosen (`measuring`) the left button places its points. */
export function dragMode(e: { button: number; shiftKey: boolean }, measuring = false): "wl" | "pan" | "measure" | null {
  if (e.button === 1 || e.button === 2 || (e.button === 0 && e.shiftKey)) return "pan";
  if (e.button === 0) return measuring ? "measure" : "wl";
  return null;
}

/** What a wheel step on the viewport does: Ctrl/⌘ zooms at the cursor, otherwise slices. */
export function wheelAction(e: { ctrlKey: boolean; metaKey: boolean; deltaY: number }): { type: "zoom"; zoomIn: boolean } | { type: "slice"; delta: number } | null {
  if (e.ctrlKey || e.metaKey) return e.deltaY === 0 ? null : { type: "zoom", zoomIn: e.deltaY < 0 };
  return e.deltaY === 0 ? null : { type: "slice", delta: e.deltaY > 0 ? 1 : -1 };
}

export type ShortcutGroup = "Navigation" | "Window / level" | "Zoom and pan" | "Measure" | "View and panels" | "Files" | "Help";

/** KeyboardEvent.key values with Ctrl (or ⌘) held or not; `shift` undefined: either. Alt: never. */
export interface KeyChord {
  keys: readonly string[];
  mod: boolean;
  shift?: boolean;
}

/** A drag's `tool`: only with the W/L tool ("wl"), only with a measurement tool ("measure"),
 *  or with any (absent). */
export type Gesture =
  | { input: "drag"; button: 0 | 1 | 2; shift: boolean; does: "wl" | "pan" | "measure"; tool?: "wl" | "measure" }
  | { input: "wheel"; mod: boolean; does: "slice" | "zoom" };

interface ShortcutBase {
  group: ShortcutGroup;
  /** What the user presses, as shown: alternatives, each in its own <kbd>. */
  label: readonly string[];
  does: string;
}

export type Shortcut =
  | (ShortcutBase & { via: "key"; chords: readonly KeyChord[]; action: KeyAction | ((key: string) => KeyAction) })
  | (ShortcutBase & { via: "help"; chords: readonly KeyChord[]; action: "toggle" | "close" })
  | (ShortcutBase & { via: "mouse"; gestures: readonly Gesture[] });

const bothCases = (k: string) => [k.toLowerCase(), k.toUpperCase()];
const key = (group: ShortcutGroup, label: string[], does: string, chords: KeyChord[], action: KeyAction | ((key: string) => KeyAction)): Shortcut => ({
  group,
  label,
  does,
  via: "key",
  chords,
  action,
});
const letter = (group: ShortcutGroup, k: string, does: string, action: KeyAction): Shortcut => key(group, [k.toUpperCase()], does, [{ keys: bothCases(k), mod: false }], action);

/** Every key and gesture of the viewer (viewport keys and mouse, the overlay's own keys).
 *  The viewport's keys act while it has focus (click the image); `?` works anywhere but in a
 *  text field. Ctrl+O, Ctrl+Shift+O and Ctrl+E are also the native menu's accelerators. */
export const SHORTCUTS: readonly Shortcut[] = [
  key("Navigation", ["↑", "←"], "previous slice", [{ keys: ["ArrowUp", "ArrowLeft"], mod: false }], { type: "slice", delta: -1 }),
  key("Navigation", ["↓", "→"], "next slice", [{ keys: ["ArrowDown", "ArrowRight"], mod: false }], { type: "slice", delta: 1 }),
  { group: "Navigation", label: ["Wheel"], does: "previous / next slice", via: "mouse", gestures: [{ input: "wheel", mod: false, does: "slice" }] },
  key("Navigation", ["PgUp"], "10 slices back", [{ keys: ["PageUp"], mod: false }], { type: "slice", delta: -10 }),
  key("Navigation", ["PgDn"], "10 slices forward", [{ keys: ["PageDown"], mod: false }], { type: "slice", delta: 10 }),
  key("Navigation", ["Home"], "first slice", [{ keys: ["Home"], mod: false }], { type: "sliceTo", where: "first" }),
  key("Navigation", ["End"], "last slice", [{ keys: ["End"], mod: false }], { type: "sliceTo", where: "last" }),
  key("Navigation", ["Space"], "cine play / stop (fps in the toolbar)", [{ keys: [" "], mod: false }], { type: "cine" }),
  {
    group: "Window / level",
    label: ["Left drag"],
    does: "window: right = wider, down = higher level (W/L tool)",
    via: "mouse",
    gestures: [{ input: "drag", button: 0, shift: false, does: "wl", tool: "wl" }],
  },
  key("Window / level", ["1 … 9"], "window presets (CT)", [{ keys: ["1", "2", "3", "4", "5", "6", "7", "8", "9"], mod: false }], (k) => ({
    type: "preset",
    index: Number(k) - 1,
  })),
  letter("Window / level", "w", "next window (then VOI LUT) from the file", { type: "fileWindow" }),
  letter("Window / level", "a", "auto window", { type: "autoWindow" }),
  letter("Window / level", "i", "invert", { type: "invert" }),
  key(
    "Zoom and pan",
    ["+", "Ctrl++"],
    "zoom in",
    [
      { keys: ["+", "="], mod: false },
      { keys: ["+", "="], mod: true },
    ],
    { type: "zoom", factor: 1.25 },
  ),
  key(
    "Zoom and pan",
    ["−", "Ctrl+−"],
    "zoom out",
    [
      { keys: ["-", "_"], mod: false },
      { keys: ["-"], mod: true },
    ],
    { type: "zoom", factor: 0.8 },
  ),
  {
    group: "Zoom and pan",
    label: ["Ctrl+wheel"],
    does: "zoom at the cursor",
    via: "mouse",
    gestures: [{ input: "wheel", mod: true, does: "zoom" }],
  },
  letter("Zoom and pan", "f", "fit to the window", { type: "fit" }),
  key(
    "Zoom and pan",
    ["0", "Ctrl+0"],
    "1:1 (one image pixel per screen pixel)",
    [
      { keys: ["0"], mod: false },
      { keys: ["0"], mod: true },
    ],
    { type: "oneToOne" },
  ),
  {
    group: "Zoom and pan",
    label: ["Right drag", "Middle drag", "Shift+drag"],
    does: "pan",
    via: "mouse",
    gestures: [
      { input: "drag", button: 2, shift: false, does: "pan" },
      { input: "drag", button: 2, shift: true, does: "pan" },
      { input: "drag", button: 1, shift: false, does: "pan" },
      { input: "drag", button: 1, shift: true, does: "pan" },
      { input: "drag", button: 0, shift: true, does: "pan" },
    ],
  },
  letter("Zoom and pan", "r", "reset the view (fit, no pan, not inverted, not turned or mirrored)", { type: "reset" }),
  letter("Zoom and pan", "h", "mirror left–right (markers follow)", { type: "flip", axis: "h" }),
  letter("Zoom and pan", "j", "mirror top–bottom (markers follow)", { type: "flip", axis: "v" }),
  key("Zoom and pan", ["]"], "turn 90° clockwise (markers follow)", [{ keys: ["]"], mod: false }], { type: "rotate", quarters: 1 }),
  key("Zoom and pan", ["["], "turn 90° anticlockwise (markers follow)", [{ keys: ["["], mod: false }], { type: "rotate", quarters: -1 }),
  letter("Measure", "v", "W/L tool (left drag sets the window)", { type: "tool", tool: "wl" }),
  letter("Measure", "l", "length tool (mm; px when uncalibrated)", { type: "tool", tool: "length" }),
  letter("Measure", "g", "angle tool (arm end, vertex, arm end)", { type: "tool", tool: "angle" }),
  letter("Measure", "e", "ellipse ROI tool (area, mean, SD, min, max)", { type: "tool", tool: "ellipse" }),
  letter("Measure", "b", "rectangle (box) ROI tool (area, mean, SD, min, max)", { type: "tool", tool: "rect" }),
  letter("Measure", "d", "freehand ROI tool: draw the outline with the button held", { type: "tool", tool: "freehand" }),
  {
    group: "Measure",
    label: ["Left click", "Left drag"],
    does: "place a measurement's points (a drag places two)",
    via: "mouse",
    gestures: [{ input: "drag", button: 0, shift: false, does: "measure", tool: "measure" }],
  },
  {
    group: "Measure",
    label: ["Left drag on a point"],
    does: "select that measurement and move the point (any tool)",
    via: "mouse",
    gestures: [],
  },
  key("Measure", ["Esc"], "cancel the measurement being drawn, else deselect, else back to W/L (image focused)", [{ keys: ["Escape"], mod: false }], { type: "cancelMeasure" }),
  key("Measure", ["Delete"], "delete the selected measurement, else clear this image's", [{ keys: ["Delete"], mod: false }], { type: "deleteMeasurement" }),
  letter("View and panels", "t", "tag browser", { type: "tags" }),
  letter("View and panels", "m", "MPR: axial, coronal and sagittal reformats of the series (again: back)", { type: "mpr" }),
  {
    group: "View and panels",
    label: ["Left click (MPR)"],
    does: "move the crosshair there; the other planes follow (W/L tool)",
    via: "mouse",
    gestures: [],
  },
  key("Files", ["Ctrl+O"], "open files", [{ keys: bothCases("o"), mod: true, shift: false }], { type: "open" }),
  key("Files", ["Ctrl+Shift+O"], "open a folder", [{ keys: bothCases("o"), mod: true, shift: true }], { type: "openFolder" }),
  key("Files", ["Ctrl+E"], "export the image as PNG (current window)", [{ keys: bothCases("e"), mod: true }], { type: "export" }),
  { group: "Help", label: ["?"], does: "this list (not while typing in a field)", via: "help", chords: [{ keys: ["?"], mod: false }, { keys: ["/"], mod: false, shift: true }], action: "toggle" },
  { group: "Help", label: ["Esc"], does: "close this list", via: "help", chords: [{ keys: ["Escape"], mod: false }], action: "close" },
];

export const SHORTCUT_GROUPS: readonly ShortcutGroup[] = ["Navigation", "Window / level", "Zoom and pan", "Measure", "View and panels", "Files", "Help"];
