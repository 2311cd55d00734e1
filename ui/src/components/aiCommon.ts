// Small pieces shared by the AI panels.
import { h } from "../dom";

/** Where exports go: remembers the last folder used (the App backs it with localStorage). */
export interface DirMemory {
  get(): string;
  set(dir: string): void;
}

export function memoryDir(initial = ""): DirMemory {
  let dir = initial;
  return { get: () => dir, set: (d) => void (dir = d) };
}

/** A DirMemory kept in `storage` under `key`; falls back to memory when storage is unavailable. */
export function storedDir(storage: Pick<Storage, "getItem" | "setItem"> | null, key = "medlens.exportDir"): DirMemory {
  const mem = memoryDir(safe(() => storage?.getItem(key) ?? "", ""));
  return {
    get: mem.get,
    set: (d) => {
      mem.set(d);
      safe(() => storage?.setItem(key, d), undefined);
    },
  };
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === "string") return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

/** Whether a back-end error is the GPU's own failure (out of memory, lost), which the
 *  engine words this way; the CPU can then run the same model. */
export function isGpuFailure(message: string): boolean {
  return /\bthe GPU (ran out of memory|was lost)\b/.test(message);
}

export function field(label: string, input: HTMLElement, title?: string): HTMLLabelElement {
  return h("label.field", { title }, h("span.flabel", {}, label), input);
}

export function testid(id: string): { "data-testid": string } {
  return { "data-testid": id };
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** An inline error line: shown with a message, hidden when cleared. */
export class InlineError {
  readonly el: HTMLElement;
  constructor(id: string) {
    this.el = h("div.ai-error", { ...testid(id), role: "alert", hidden: true });
  }
  show(message: string): void {
    this.el.textContent = message;
    this.el.hidden = false;
  }
  clear(): void {
    this.el.textContent = "";
    this.el.hidden = true;
  }
}
