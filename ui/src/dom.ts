// A tiny DOM helper: h("div.cls#id", {attrs}, children). Components are plain classes
// that own an element and expose update methods; there is no global state.
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  sel: K | `${K}.${string}` | `${K}#${string}`,
  attrs: Record<string, unknown> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const { tag, id, classes } = parseSelector(sel);
  const el = document.createElement(tag as K);
  if (id) el.id = id;
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v as EventListener);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") (el as unknown as Record<string, unknown>)[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** "tag.a#id.b" (id and classes in any order) → its parts. */
export function parseSelector(sel: string): { tag: string; id: string; classes: string[] } {
  const tag = /^[a-z][a-z0-9-]*/i.exec(sel)?.[0] ?? "div";
  let id = "";
  const classes: string[] = [];
  for (const m of sel.slice(tag.length).matchAll(/([.#])([^.#]+)/g)) {
    if (m[1] === "#") id = m[2]!;
    else classes.push(m[2]!);
  }
  return { tag, id, classes };
}
