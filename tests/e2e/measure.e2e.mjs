// End-to-end tests of the measurement tools in the real app (tauri-driver + WebKitWebDriver):
// a length, an angle and an ellipse ROI drawn with the mouse on a real CT (HU), on non-square
// pixels (mm, true angle) and on an uncalibrated image (px), compared with
// tests/dicom/measure/expected.json (pydicom + numpy: make_measure_reference.py; no Python
// here); the value probe; Esc, clear, per-image keeping across the stack, zoom and pan.
//
// Exact placement: each image is shown at a power-of-two zoom with its corner on a whole
// screen pixel (the app's setView hook), so every reference point lies under a whole screen
// pixel and the mouse puts it exactly there; the test checks the points the app recorded.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openApp, shot, showFile, waitFor } from "./lib.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const shared = path.resolve(repo, "../shared/dicom");
const geometryDir = path.join(repo, "tests/dicom/geometry");
const expected = JSON.parse(fs.readFileSync(path.join(repo, "tests/dicom/measure/expected.json"), "utf8"));
const APP = process.env.MEDLENS_APP;
assert.ok(APP && fs.existsSync(APP), `MEDLENS_APP must name the built app (got ${APP})`);

const ct = expected.cases.find((c) => c.file === "pydicom/CT_small.dcm");
const nonSquare = expected.cases.find((c) => c.file === "ps_nonsquare.dcm");
const uncalibrated = expected.cases.find((c) => c.file === "aspect_ratio.dcm");
const ctPath = path.join(shared, ct.file);

let browser;
const info = () => browser.execute(() => window.__medlens.info());
const measurements = () => browser.execute(() => window.__medlens.measurements());
const text = (sel) => browser.execute((s) => document.querySelector(s)?.textContent ?? null, sel);
const rects = () =>
  browser.execute(() => {
    const box = (el) => {
      const r = el.getBoundingClientRect();
      return { left: r.left, top: r.top, width: r.width, height: r.height };
    };
    return { canvas: box(document.querySelector("#viewport canvas.image")), viewport: box(document.getElementById("viewport")) };
  });

const show = (file) => showFile(browser, file, async () => (await rects()).canvas.width > 0);

/** Show the case's image at the largest power-of-two zoom that fits, its corner on a whole
 *  screen pixel; returns the mapping of image points to (whole) screen pixels. */
async function exactView(c) {
  const unit = Math.min(...c.pixel_size);
  const [sy, sx] = c.pixel_size.map((v) => v / unit);
  const { viewport } = await rects();
  const fit = Math.min((viewport.width - 40) / (c.columns * sx), (viewport.height - 40) / (c.rows * sy));
  const zoom = 2 ** Math.floor(Math.log2(fit));
  await browser.execute((z) => window.__medlens.setView(z, 0, 0), zoom);
  let { canvas } = await rects();
  await browser.execute((z, px, py) => window.__medlens.setView(z, px, py), zoom, Math.floor(canvas.left) - canvas.left, Math.floor(canvas.top) - canvas.top);
  ({ canvas } = await rects());
  assert.ok(Math.abs(canvas.left - Math.round(canvas.left)) < 1e-6 && Math.abs(canvas.top - Math.round(canvas.top)) < 1e-6, `image corner on a whole pixel: ${JSON.stringify(canvas)}`);
  const toScreen = ([x, y]) => {
    const X = canvas.left + (x / c.columns) * canvas.width;
    const Y = canvas.top + (y / c.rows) * canvas.height;
    assert.ok(Math.abs(X - Math.round(X)) < 1e-6 && Math.abs(Y - Math.round(Y)) < 1e-6, `(${x}, ${y}) lies under a whole screen pixel (${X}, ${Y}) at zoom ${zoom}`);
    return { x: Math.round(X), y: Math.round(Y) };
  };
  return { zoom, canvas, toScreen };
}

async function focusViewport() {
  await browser.execute(() => document.getElementById("viewport").focus());
}

async function drag(a, b) {
  await browser
    .action("pointer")
    .move({ x: a.x, y: a.y, origin: "viewport" })
    .down({ button: 0 })
    .move({ x: Math.round((a.x + b.x) / 2), y: Math.round((a.y + b.y) / 2), origin: "viewport", duration: 50 })
    .move({ x: b.x, y: b.y, origin: "viewport", duration: 50 })
    .up({ button: 0 })
    .perform();
}

async function click(p) {
  await browser.action("pointer").move({ x: p.x, y: p.y, origin: "viewport" }).down({ button: 0 }).up({ button: 0 }).perform();
}

async function hover(p) {
  await browser.action("pointer").move({ x: p.x, y: p.y, origin: "viewport" }).perform();
}

/** The label lines and the drawn shape of each measurement on screen, in layer pixels. */
const drawn = () =>
  browser.execute(() =>
    [...document.querySelectorAll("#measure-layer g.measurement:not(.draft)")].map((g) => ({
      kind: g.dataset.kind,
      lines: [...g.querySelectorAll("tspan")].map((t) => t.textContent),
      polyline: g.querySelector("polyline")?.getAttribute("points") ?? null,
      ellipse: g.querySelector("ellipse") ? ["cx", "cy", "rx", "ry"].map((k) => Number(g.querySelector("ellipse").getAttribute(k))) : null,
    })),
  );

const close = (got, want, rel, what) => assert.ok(Math.abs(got - want) <= rel * Math.max(1, Math.abs(want)), `${what}: ${got}, expected ${want}`);
const samePoints = (got, want, what) =>
  assert.ok(got.length === want.length && got.every((p, i) => Math.abs(p.x - want[i][0]) < 1e-9 && Math.abs(p.y - want[i][1]) < 1e-9), `${what}: placed ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);

/** A number shown with d decimals (a true minus sign allowed) agrees with `want` to its rounding. */
function shown(line, re, want, what) {
  const m = re.exec(line);
  assert.ok(m, `${what}: "${line}" matches ${re}`);
  const s = m[1].replace("−", "-");
  const d = s.includes(".") ? s.split(".")[1].length : 0;
  assert.ok(Math.abs(Number(s) - want) <= 0.5 * 10 ** -d + 1e-9, `${what}: shown ${s}, expected ${want}`);
}

before(async () => {
  browser = await openApp(APP);
  await waitFor("the sample series", async () => (await info()).path);
  const before = (await info()).series;
  assert.ok(fs.existsSync(ctPath), `${ctPath} (the shared corpus) is present`);
  await browser.execute(async (paths) => {
    const t = window.__TAURI_INTERNALS__;
    try {
      await t.invoke("test_drop", { paths });
    } catch {
      await t.invoke("plugin:event|emit", { event: "tauri://drag-drop", payload: { paths, position: { x: 400, y: 300 } } });
    }
  }, [geometryDir, ctPath]);
  await waitFor("the dropped series", async () => (await info()).series >= before + 6);
  await waitFor("indexing to finish", async () => !(await info()).indexing);
});

after(async () => {
  if (browser) await browser.deleteSession().catch(() => {});
});

/** Draw the case's length (toolbar button, one drag), angle (G, a drag to the vertex and a
 *  click) and ROI (E, one drag), and check the numbers and the labels against the reference. */
async function measureCase(c, valueUnit) {
  await show(c.file);
  const view = await exactView(c);
  await focusViewport();
  await browser.keys(["Delete"]);
  const L = c.lengths[0];
  await (await browser.$("#tool-length")).click();
  assert.equal((await measurements()).tool, "length");
  await drag(view.toScreen(L.points[0]), view.toScreen(L.points[1]));
  const A = c.angles[0];
  if (A) {
    await focusViewport();
    await browser.keys(["g"]);
    await drag(view.toScreen(A.points[0]), view.toScreen(A.points[1]));
    assert.equal((await measurements()).draftPoints, 2, "a drag places the first arm's end and the vertex");
    await click(view.toScreen(A.points[2]));
  }
  const R = c.rois[0];
  if (R) {
    await focusViewport();
    await browser.keys(["e"]);
    await drag(view.toScreen(R.corners[0]), view.toScreen(R.corners[1]));
  }
  const m = await waitFor("the measurements", async () => {
    const x = await measurements();
    return x.items.length === 1 + (A ? 1 : 0) + (R ? 1 : 0) ? x : null;
  });
  const byKind = Object.fromEntries(m.items.map((d) => [d.kind, d]));
  const unit = c.unit;

  samePoints(byKind.length.points, L.points, "length points");
  close(byKind.length.length, L.length, 1e-9, "length");
  assert.equal(byKind.length.unit, unit);
  shown(byKind.length.lines[0], new RegExp(`^([−\\d.]+) ${unit}$`), L.length, "length label");
  if (A) {
    samePoints(byKind.angle.points, A.points, "angle points");
    close(byKind.angle.angle, A.angle, 1e-9, "angle");
    shown(byKind.angle.lines[0], /^([\d.]+)°$/, A.angle, "angle label");
  }
  if (R) {
    const s = byKind.ellipse.stats;
    samePoints(byKind.ellipse.points, R.corners, "ROI corners");
    assert.equal(s.count, R.count, "pixels inside");
    close(s.mean, R.mean, 1e-9, "mean");
    close(s.sd, R.sd, 1e-9, "SD");
    assert.equal(s.min, R.min, "min");
    assert.equal(s.max, R.max, "max");
    close(s.area, R.area, 1e-9, "area");
    const [area, mean, minmax, n] = byKind.ellipse.lines;
    const u = valueUnit ? ` ${valueUnit}` : "";
    if (/cm²$/.test(area)) shown(area, /^Area ([\d.]+) cm²$/, R.area / 100, "area label");
    else shown(area, new RegExp(`^Area ([\\d.]+) ${unit}²$`), R.area, "area label");
    shown(mean, new RegExp(`^Mean ([−\\d.]+)${u} SD [\\d.]+$`), R.mean, "mean label");
    shown(mean, /SD ([\d.]+)$/, R.sd, "SD label");
    shown(minmax, /^Min ([−\d.]+) /, R.min, "min label");
    shown(minmax, new RegExp(`Max ([−\\d.]+)${u}$`), R.max, "max label");
    assert.equal(n, `n ${R.count} px`);
  }
  // Drawn where the image points are: the line's ends on the reference points' screen pixels.
  const { viewport } = await rects();
  const d = await drawn();
  const line = d.find((x) => x.kind === "length");
  const ends = line.polyline.split(" ").map((p) => p.split(",").map(Number));
  L.points.forEach((p, i) => {
    const s = view.toScreen(p);
    assert.ok(Math.abs(ends[i][0] - (s.x - viewport.left)) < 0.01 && Math.abs(ends[i][1] - (s.y - viewport.top)) < 0.01, `line end ${i}: ${ends[i]} vs ${JSON.stringify(s)}`);
  });
  assert.deepEqual(line.lines, byKind.length.lines, "the label on screen is the measurement's");
  return { view, items: m.items };
}

test("a real CT: length in mm, angle, ellipse ROI in HU, value probe", async () => {
  const { view } = await measureCase(ct, "HU");
  for (const p of ct.probes) {
    await hover(view.toScreen(p.point));
    const probe = await waitFor("the probe", async () => ((await text("#ov-probe")) || null));
    assert.equal(probe, `x ${p.col} y ${p.row}: ${String(p.value).replace("-", "−")} HU`, "probe: pixel and HU under the cursor");
  }
  await shot("measure-ct");
});

test("non-square pixels (0.5 mm × 1.0 mm): length and area in mm, the true angle", async () => {
  const { items } = await measureCase(nonSquare, "");
  // A right angle in pixels, 53.13° in mm: the tool measures in physical space.
  const angle = items.find((d) => d.kind === "angle");
  assert.ok(Math.abs(angle.angle - 53.13010235415598) < 1e-6, `angle ${angle.angle}`);
  const p = nonSquare.probes[0];
  await hover((await exactView(nonSquare)).toScreen(p.point));
  assert.equal(await waitFor("the probe", async () => ((await text("#ov-probe")) || null)), `x ${p.col} y ${p.row}: ${p.value}`);
  await shot("measure-nonsquare");

  // Zoom and pan: the measurements stay on their image points and keep their numbers.
  const before = await measurements();
  const canvas0 = (await rects()).canvas;
  await focusViewport();
  await browser.keys(["+"]);
  const start = { x: Math.round((await rects()).viewport.left + 200), y: Math.round((await rects()).viewport.top + 200) };
  await browser
    .action("pointer")
    .move({ x: start.x, y: start.y, origin: "viewport" })
    .down({ button: 2 })
    .move({ x: start.x + 37, y: start.y + 23, origin: "viewport", duration: 100 })
    .up({ button: 2 })
    .perform();
  const { canvas, viewport } = await rects();
  assert.notDeepEqual(canvas, canvas0, "the view changed");
  const after = await measurements();
  assert.deepEqual(after.items, before.items, "same measurements and numbers after zoom and pan");
  const line = (await drawn()).find((x) => x.kind === "length");
  const ends = line.polyline.split(" ").map((q) => q.split(",").map(Number));
  nonSquare.lengths[0].points.forEach(([x, y], i) => {
    const sx = canvas.left + (x / nonSquare.columns) * canvas.width - viewport.left;
    const sy = canvas.top + (y / nonSquare.rows) * canvas.height - viewport.top;
    assert.ok(Math.abs(ends[i][0] - sx) < 0.01 && Math.abs(ends[i][1] - sy) < 0.01, `zoomed line end ${i}: ${ends[i]} vs ${sx},${sy}`);
  });
  await shot("measure-nonsquare-zoomed");
  await browser.keys(["f"]);
});

test("no spacing: lengths in px, never mm", async () => {
  await measureCase(uncalibrated, "");
  const d = await drawn();
  assert.ok(d.every((x) => x.lines.every((l) => !l.includes("mm"))), `no mm: ${JSON.stringify(d)}`);
});

test("Esc cancels the measurement being drawn, then leaves the tool; Delete clears the image's", async () => {
  await show(ct.file);
  const view = await exactView(ct);
  const n0 = (await measurements()).items.length;
  assert.ok(n0 >= 3, "the CT keeps the measurements drawn on it earlier");
  await focusViewport();
  await browser.keys(["l"]);
  await click(view.toScreen([10, 10]));
  assert.equal((await measurements()).draftPoints, 1);
  await browser.keys(["Escape"]);
  let m = await measurements();
  assert.deepEqual([m.draftPoints, m.items.length, m.tool], [0, n0, "length"], "Esc cancels only the draft");
  await browser.keys(["Escape"]);
  assert.equal((await measurements()).tool, "wl", "a second Esc goes back to W/L");
  assert.equal(await browser.execute(() => document.querySelector("#tool-wl").getAttribute("aria-pressed")), "true");
  await browser.keys(["Delete"]);
  m = await measurements();
  assert.equal(m.items.length, 0, "Delete clears the image's measurements");
  assert.equal((await drawn()).length, 0, "nothing drawn after clear");
});

test("measurements belong to their image: scrolling the stack shows each slice's own", async () => {
  const list = await browser.execute(() => window.__medlens.seriesList());
  const stack = list.find((s) => s.images >= 3);
  assert.ok(stack, "a series of several images");
  assert.ok(await browser.execute((uid) => window.__medlens.openSeries(uid), stack.uid));
  await waitFor("the stack on screen", async () => {
    const i = await info();
    return i.seriesUid === stack.uid && i.path && !i.viewError;
  });
  const { canvas } = await rects();
  const mid = { x: Math.round(canvas.left + canvas.width / 2), y: Math.round(canvas.top + canvas.height / 2) };
  await focusViewport();
  await browser.keys(["l"]);
  await drag({ x: mid.x - 60, y: mid.y }, { x: mid.x + 60, y: mid.y + 20 });
  const first = await waitFor("a length on the first slice", async () => {
    const m = await measurements();
    return m.items.length === 1 ? m : null;
  });
  const slice0 = (await info()).slice;
  await browser.keys(["ArrowDown"]);
  await waitFor("the next slice", async () => (await info()).slice === slice0 + 1 && (await measurements()).image !== first.image);
  assert.equal((await measurements()).items.length, 0, "the next slice has none");
  assert.equal((await drawn()).length, 0, "none drawn on the next slice");
  await browser.keys(["ArrowUp"]);
  await waitFor("back on the first slice", async () => (await measurements()).image === first.image);
  assert.deepEqual((await measurements()).items, first.items, "the first slice's length is back");
  assert.equal((await drawn()).length, 1);
  await shot("measure-stack");
  // Clear (the toolbar button) empties this slice only; the tool stays.
  await browser.keys(["ArrowDown"]);
  await waitFor("the next slice", async () => (await measurements()).image !== first.image);
  await drag({ x: mid.x - 30, y: mid.y - 30 }, { x: mid.x + 30, y: mid.y + 30 });
  await waitFor("a length on the next slice", async () => (await measurements()).items.length === 1);
  await (await browser.$("#measure-clear")).click();
  assert.equal((await measurements()).items.length, 0, "Clear empties the slice on screen");
  assert.equal((await measurements()).tool, "length");
  await focusViewport();
  await browser.keys(["ArrowUp"]);
  await waitFor("back on the first slice", async () => (await measurements()).image === first.image);
  assert.deepEqual((await measurements()).items, first.items, "the first slice keeps its own");
  await browser.keys(["Escape"]);
});
