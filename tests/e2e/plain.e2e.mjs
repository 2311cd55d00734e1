// End-to-end: plain images (16-bit TIFF, multi-page TIFF, BMP, WebP) dropped on the real app
// window open as their own series, display the values Pillow reads from them (the fixtures
// and Pillow's arrays in tests/dicom/plain/, made by tests/dicom/make_plain_fixtures.py),
// window from their min/max, and W/L changes what is drawn. Run by tests/suites/30-viewer.sh.
// Env: MEDLENS_APP (app binary), E2E_ARTIFACTS (screenshots), WEBDRIVER_PORT.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Key } from "webdriverio";
import { openApp, shot, waitFor } from "./lib.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIX = path.join(repo, "tests/dicom/plain");
const APP = process.env.MEDLENS_APP;
assert.ok(APP && fs.existsSync(APP), `MEDLENS_APP must name the built app (got ${APP})`);

// The dropped folder: the four kinds the issue names, under new names (the content decides).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medlens-plain-e2e-"));
const files = {
  grey16: ["tiff_grey16_deflate.tif", "a_grey16.tif"],
  stack: ["tiff_multipage_grey16_lzw.tif", "stack.tif"],
  bmp: ["bmp_rgb24.bmp", "b_colour.bmp"],
  webp: ["webp_lossless.webp", "c_colour.webp"],
};
for (const [src, dst] of Object.values(files)) fs.copyFileSync(path.join(FIX, src), path.join(dir, dst));
const at = (k) => path.join(dir, files[k][1]);

/** Pillow's values of a fixture (manifest.json + .raw), as numbers. */
function reference(name) {
  const m = JSON.parse(fs.readFileSync(path.join(FIX, "manifest.json"), "utf8")).find((r) => r.file === name);
  const raw = fs.readFileSync(path.join(FIX, m.raw));
  const values =
    m.dtype === "u16"
      ? Array.from({ length: raw.length / 2 }, (_, i) => raw.readUInt16LE(2 * i))
      : Array.from(raw);
  return { ...m, values };
}

/** PS3.3 C.11.2.1.2.1 LINEAR to 8 bits. */
function linear(x, c, w) {
  if (x <= c - 0.5 - (w - 1) / 2) return 0;
  if (x > c - 0.5 + (w - 1) / 2) return 255;
  return Math.floor(((x - (c - 0.5)) / (w - 1) + 0.5) * 255 + 0.5);
}

let browser;
const info = () => browser.execute(() => window.__medlens.info());

async function readGrey() {
  const r = await browser.execute(() => window.__medlens.readGrey());
  return { width: r.width, height: r.height, grey: Buffer.from(r.grey, "base64") };
}

/** Every drawn pixel against `expect(i)` (±1); returns the number that differ from `other`. */
function assertDrawn(shown, m, expect, what) {
  assert.equal(shown.width, m.columns, `${what}: width`);
  assert.equal(shown.height, m.rows, `${what}: height`);
  let bad = 0;
  let first = "";
  for (let i = 0; i < m.rows * m.columns; i++) {
    const d = Math.abs(shown.grey[i] - expect(i));
    if (d > 1) {
      if (!bad) first = `pixel ${i}: drawn ${shown.grey[i]}, expected ${expect(i)}`;
      bad++;
    }
  }
  assert.equal(bad, 0, `${what}: ${bad} pixels differ by more than 1 (${first})`);
}

/** Drops paths on the window as viewer.e2e.mjs does: WebDriver cannot make a native drop,
 * so through the app's stand-in `test_drop` (MEDLENS_TEST_DROPS=1); an app without that
 * command took the tauri://drag-drop event instead. Runs in the page. */
async function drop(paths) {
  try {
    await window.__TAURI_INTERNALS__.invoke("test_drop", { paths });
    return "test_drop";
  } catch (e) {
    if (!/not found/i.test(String(e))) return `error: ${e}`;
    await window.__TAURI_INTERNALS__.invoke("plugin:event|emit", {
      event: "tauri://drag-drop",
      payload: { paths, position: { x: 400, y: 300 } },
    });
    return "tauri://drag-drop";
  }
}

async function openFile(p) {
  assert.ok(await browser.execute((p) => window.__medlens.openAt(p), p), `open ${p}`);
  return waitFor(`${p} on screen`, async () => {
    const x = await info();
    if (x.viewError) throw new Error(x.viewError);
    return x.path === p ? x : null;
  });
}

before(async () => {
  browser = await openApp(APP);
  await waitFor("the sample study", async () => (await info()).path);
});

after(async () => {
  if (browser) await browser.deleteSession().catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a dropped folder of plain images opens as its own series", async () => {
  const how = await browser.execute(drop, [dir]);
  assert.ok(!how.startsWith("error"), `drop: ${how}`);
  const mine = await waitFor("the plain series", async () => {
    const x = await info();
    if (x.indexing) return null;
    const list = await browser.execute(() => window.__medlens.seriesList());
    const ours = list.filter((s) => s.paths.every((p) => p.startsWith(dir)));
    return ours.length >= 2 ? ours : null;
  });
  assert.equal(mine.length, 2, "the folder's single images, and the multi-page file");
  const singles = mine.find((s) => s.paths.length === 3);
  const stack = mine.find((s) => s.paths.length === 1);
  assert.deepEqual(singles.paths, [at("grey16"), at("bmp"), at("webp")], "sorted by name");
  assert.equal(singles.images, 3);
  assert.deepEqual(stack.paths, [at("stack")]);
  assert.equal(stack.images, 4, "four pages, four frames");
  for (const s of mine) assert.equal(s.modality, "OT");
  const errors = (await info()).errors.filter((e) => e.path.startsWith(dir));
  assert.deepEqual(errors, [], "no errors for these files");
  const browserText = await browser.execute(() => document.querySelector("#study-browser").textContent);
  assert.match(browserText, /\(plain images\)/, "the study browser says they are not DICOM");
  await shot("plain-01-dropped");
});

test("a 16-bit TIFF displays its values through the min/max window, and W/L changes the drawn pixels", async () => {
  const m = reference(files.grey16[0]);
  const x = await openFile(at("grey16"));
  const width = m.max - m.min + 1;
  assert.deepEqual(
    { center: x.window.center, width: x.window.width },
    { center: m.min + width / 2, width },
    "the default window spans min..max",
  );
  const shown = await readGrey();
  assertDrawn(shown, m, (i) => linear(m.values[i], m.min + width / 2, width), "16-bit TIFF, default window");
  await shot("plain-02-grey16-tiff");
  // W/L: a narrow window on the upper half of the values.
  const c = Math.round((m.min + 3 * m.max) / 4);
  const w = Math.round((m.max - m.min) / 5);
  await browser.execute((c, w) => window.__medlens.setWindow(c, w), c, w);
  await waitFor("the new window", async () => (await info()).window.center === c);
  const windowed = await readGrey();
  assertDrawn(windowed, m, (i) => linear(m.values[i], c, w), `16-bit TIFF, window ${c}/${w}`);
  let changed = 0;
  for (let i = 0; i < shown.grey.length; i++) if (shown.grey[i] !== windowed.grey[i]) changed++;
  assert.ok(changed > shown.grey.length / 4, `W/L changed ${changed} of ${shown.grey.length} pixels`);
  await shot("plain-03-grey16-tiff-windowed");
});

test("BMP and WebP display their colours as stored", async () => {
  for (const k of ["bmp", "webp"]) {
    const m = reference(files[k][0]);
    await openFile(at(k));
    const shown = await readGrey();
    assertDrawn(shown, m, (i) => m.values[i * 3], `${files[k][0]} (red channel)`);
    await shot(`plain-04-${k}`);
  }
});

test("a multi-page TIFF scrolls through its pages", async () => {
  const m = reference(files.stack[0]);
  const x0 = await openFile(at("stack"));
  assert.equal(x0.sliceCount, 4);
  const width = m.max - m.min + 1;
  assert.deepEqual({ center: x0.window.center, width: x0.window.width }, { center: m.min + width / 2, width }, "one window for the whole stack: its min..max");
  await browser.keys([Key.Home]);
  await browser.keys([Key.ArrowDown]);
  await browser.keys([Key.ArrowDown]);
  const x = await waitFor("page 3", async () => {
    const i = await info();
    return i.frame === 2 && i.path === at("stack") ? i : null;
  });
  const n = m.rows * m.columns;
  const shown = await readGrey();
  assertDrawn(shown, m, (i) => linear(m.values[2 * n + i], x.window.center, x.window.width), "page 3 of the stack");
  await shot("plain-05-stack-page-3");
});

const AI = process.env.MEDLENS_AI_TINY_SIGLIP && process.env.HF_HOME && process.env.MEDLENS_BIN;
test("both models take a plain image: labels equal medlens labels on the file, findings run", { skip: AI ? false : "run through tests/suites/30-viewer.sh (tiny models)" }, async () => {
  const tid = (id) => `[data-testid="${id}"]`;
  const attr = (sel, name) => browser.execute((s, n) => document.querySelector(s)?.getAttribute(n) ?? null, sel, name);
  await openFile(at("grey16"));
  const ctx = await waitFor("the AI context on the TIFF", async () => {
    const c = await browser.execute(() => window.__medlens.aiContext());
    return c?.path === at("grey16") ? c : null;
  });
  // The label bars, once they are this image's, equal the CLI's labels for the same file,
  // frame and window (both read the TIFF through medlens_dicom::load_rgb).
  const bars = () =>
    browser.execute(() => [...document.querySelectorAll('[data-testid="labels-bar"]')].map((e) => ({ label: e.dataset.label, p: Number(e.dataset.probability) })));
  const labels = (await waitFor("label bars", async () => ((await bars()).length >= 3 ? bars() : null), 60000)).map((b) => b.label);
  const out = execFileSync(
    process.env.MEDLENS_BIN,
    ["labels", "--model", process.env.MEDLENS_AI_TINY_SIGLIP, at("grey16"), "--frame", String(ctx.frame), "--window", `${ctx.window.center},${ctx.window.width}`, "--labels", labels.join(";"), "--mode", "sigmoid", "--device", "cpu", "--json"],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  const cli = JSON.parse(out).results[0].scores;
  const worst = await waitFor(
    "label bars equal to the CLI's",
    async () => {
      if ((await attr(tid("labels-panel"), "data-state")) !== "idle") return null;
      const b = await bars();
      const w = Math.max(...b.map((x) => Math.abs(cli.find((c) => c.label === x.label).probability - x.p)));
      return w < 1e-5 ? { w } : null;
    },
    60000,
  );
  console.log(`plain TIFF labels: max |app − CLI| = ${worst.w.toExponential(2)}`);
  // Findings: a few greedy tokens from the tiny MedGemma, with the image's thumbnail.
  await browser.execute((s) => {
    const set = (id, v) => {
      const el = document.querySelector(`[data-testid="${id}"]`);
      if (el.type === "checkbox") el.checked = v;
      else el.value = v;
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
    };
    set("findings-greedy", true);
    set("findings-max-tokens", "4");
    document.querySelector('[data-testid="findings-generate"]').click();
  });
  await waitFor(
    "a finished draft",
    async () => (await attr(tid("findings-panel"), "data-state")) === "idle" && (await attr(tid("findings-tps"), "data-value")) !== null,
    120000,
  );
  assert.ok((await attr(tid("findings-thumbnail"), "src"))?.startsWith("data:image/png;base64,"), "the TIFF's pixels were sent");
  await shot("plain-06-ai-panels");
});
