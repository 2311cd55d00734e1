// Keyboard map of the viewport: a pure function from a key event to an action.

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
  | { type: "reset" };

export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  shiftKey?: boolean;
}

export const KEY_HELP: ReadonlyArray<[string, string]> = [
  ["↑ ↓ ← → / wheel", "previous / next slice"],
  ["PgUp PgDn", "10 slices"],
  ["Home End", "first / last slice"],
  ["1–9", "window presets"],
  ["W", "next window from the file"],
  ["A", "auto window"],
  ["I", "invert"],
  ["+ − / Ctrl+wheel", "zoom"],
  ["F", "fit"],
  ["0", "1:1"],
  ["Space", "cine play / stop"],
  ["T", "tag browser"],
  ["R", "reset view"],
  ["Ctrl+E", "export PNG"],
  ["Ctrl+O", "open"],
];

export function keyAction(e: KeyLike): KeyAction | null {
  const mod = !!(e.ctrlKey || e.metaKey);
  if (e.altKey) return null;
  if (mod) {
    switch (e.key.toLowerCase()) {
      case "e":
        return { type: "export" };
      case "o":
        return { type: "open" };
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
    case "r":
      return { type: "reset" };
  }
  return null;
}
