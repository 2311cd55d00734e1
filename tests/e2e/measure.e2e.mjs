// End-to-end tests of the measurement tools in the real app (tauri-driver + WebKitWebDriver):
// a length, an angle, ellipse, rectangle and freehand ROIs drawn with the mouse on a real CT (HU), on non-square
// pixels (mm, true angle) and on an uncalibrated image (px), compared with
// tests/dicom/measure/expected.json (pydicom + numpy: make_measure_reference.py; no Python
// here); the value probe; Esc, clear, per-image keeping across the stack, zoom and pan.
//
// Exact placement: each image is shown at a power-of-two zoom with its corner on a whole
// screen pixel (the app's setView hook), so every reference point lies under a whole screen
// pixel and the mouse puts it exactly there; the test checks the points the app recorded.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { dropPaths, openApp, shot, showFile, waitFor } from "./lib.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const shared = path.resolve(repo, "../shared/dicom");
const geometryDir = path.join(repo, "tests/dicom/geometry");
const expected = JSON.parse(fs.readFileSync(path.join(repo, "tests/dicom/measure/expected.json"), "utf8"));
const APP = process.env.MEDLENS_APP;
assert.ok(APP && fs.existsSync(APP), `MEDLENS_APP must name the built app (got ${APP})`);
const DATA_DIR = process.env.MEDLENS_DATA_DIR;
const EXPORT_DIR = process.env.MEDLENS_EXPORT_DIR;
assert.ok(DATA_DIR && EXPORT_DIR, "MEDLENS_DATA_DIR and MEDLENS_EXPORT_DIR must be set (tests/suites/30-viewer.sh)");
// Measurements are saved here per study: start and end without any, so no other test sees them.
const SAVED_DIR = path.join(DATA_DIR, "measurements");

const ct = expected.cases.find((c) => c.file === "pydicom/CT_small.dcm");
const nonSquare = expected.cases.find((c) => c.file === "ps_nonsquare.dcm");
const uncalibrated = expected.cases.find((c) => c.file === "aspect_ratio.dcm");
const pet = expected.cases.find((c) => c.file === "pet_start.dcm");
const suvDir = path.join(repo, "tests/dicom/suv");
const suvExpected = JSON.parse(fs.readFileSync(path.join(suvDir, "expected.json"), "utf8"));
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

/** A freehand outline: pressed at the first point, one move to each next, released at the
 *  last (moves of no duration, so no point is added in between). */
async function outline(points) {
  let a = browser.action("pointer").move({ x: points[0].x, y: points[0].y, origin: "viewport" }).down({ button: 0 });
  for (const p of points.slice(1)) a = a.move({ x: p.x, y: p.y, origin: "viewport", duration: 0 });
  await a.up({ button: 0 }).perform();
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
      rect: g.querySelector("rect") ? ["x", "y", "width", "height"].map((k) => Number(g.querySelector("rect").getAttribute(k))) : null,
      polygon: g.querySelector("polygon")?.getAttribute("points") ?? null,
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

/** The app, with the geometry fixtures and the CT dropped on it and indexed. */
async function openWithFiles() {
  browser = await openApp(APP);
  await waitFor("the sample series", async () => (await info()).path);
  const before = (await info()).series;
  assert.ok(fs.existsSync(ctPath), `${ctPath} (the shared corpus) is present`);
  await dropPaths(browser, [geometryDir, ctPath, suvDir]);
  await waitFor("the dropped series", async () => (await info()).series >= before + 6 + Object.keys(suvExpected.files).length);
  await waitFor("indexing to finish", async () => !(await info()).indexing);
}

before(async () => {
  fs.rmSync(SAVED_DIR, { recursive: true, force: true });
  await openWithFiles();
});

after(async () => {
  if (browser) await browser.deleteSession().catch(() => {});
  fs.rmSync(SAVED_DIR, { recursive: true, force: true });
});

/** Draw the case's length (toolbar button, one drag), angle (G, a drag to the vertex and a
 *  click) and ROIs (E for an ellipse, B for a rectangle, one drag each), and check the numbers
 *  and the labels against the reference. */
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
  const ROI_KEY = { ellipse: "e", rect: "b", freehand: "d" };
  for (const R of c.rois) {
    await focusViewport();
    await browser.keys([ROI_KEY[R.shape]]);
    if (R.shape === "freehand") await outline(R.corners.map((p) => view.toScreen(p)));
    else await drag(view.toScreen(R.corners[0]), view.toScreen(R.corners[1]));
  }
  const m = await waitFor("the measurements", async () => {
    const x = await measurements();
    return x.items.length === 1 + (A ? 1 : 0) + c.rois.length ? x : null;
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
  for (const R of c.rois) {
    const roi = byKind[R.shape];
    assert.ok(roi, `a ${R.shape} ROI was placed`);
    const s = roi.stats;
    samePoints(roi.points, R.corners, `${R.shape} corners`);
    assert.equal(s.count, R.count, "pixels inside");
    close(s.mean, R.mean, 1e-9, "mean");
    close(s.sd, R.sd, 1e-9, "SD");
    assert.equal(s.min, R.min, "min");
    assert.equal(s.max, R.max, "max");
    close(s.area, R.area, 1e-9, "area");
    const [area, mean, minmax, n] = roi.lines;
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
  const R = c.rois.find((r) => r.shape === "rect");
  if (R) {
    // The rectangle drawn from its corners' screen pixels, whichever corner came first.
    const [p, q] = R.corners.map((pt) => view.toScreen(pt));
    const want = [Math.min(p.x, q.x) - viewport.left, Math.min(p.y, q.y) - viewport.top, Math.abs(q.x - p.x), Math.abs(q.y - p.y)];
    const got = d.find((x) => x.kind === "rect").rect;
    assert.ok(got.every((v, i) => Math.abs(v - want[i]) < 0.01), `rectangle on screen ${got} vs ${want}`);
  }
  const F = c.rois.find((r) => r.shape === "freehand");
  if (F) {
    // The outline drawn closed through its vertices' screen pixels.
    const got = d.find((x) => x.kind === "freehand").polygon.split(" ").map((q) => q.split(",").map(Number));
    const want = F.corners.map((pt) => view.toScreen(pt)).map((q) => [q.x - viewport.left, q.y - viewport.top]);
    assert.ok(got.length === want.length && got.every(([x, y], i) => Math.abs(x - want[i][0]) < 0.01 && Math.abs(y - want[i][1]) < 0.01), `outline on screen ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
  }
  return { view, items: m.items };
}

test("a real CT: length in mm, angle, ellipse, rectangle and freehand ROIs in HU, value probe", async () => {
  const { view } = await measureCase(ct, "HU");
  for (const p of ct.probes) {
    await hover(view.toScreen(p.point));
    const probe = await waitFor("the probe", async () => ((await text("#ov-probe")) || null));
    assert.equal(probe, `x ${p.col} y ${p.row}: ${String(p.value).replace("-", "−")} HU`, "probe: pixel and HU under the cursor");
  }
  await shot("measure-ct");
});

test("PET in Bq/ml: ROI statistics and the probe also in SUVbw; a PET without SUV says why", async () => {
  // No Rescale Type: the values' unit is the PET Units, BQML.
  const { view, items } = await measureCase(pet, "BQML");
  assert.equal(await text("#ov-suv"), "SUVbw");
  for (const R of pet.rois) {
    const roi = items.find((d) => d.kind === R.shape);
    for (const k of ["mean", "sd", "min", "max"]) close(roi.suv[k], R.suv[k], 1e-9, `${R.shape} SUV ${k}`);
    const line = roi.lines[4];
    shown(line, /^SUVbw mean ([\d.]+) /, R.suv.mean, "SUV mean label");
    shown(line, / SD ([\d.]+) /, R.suv.sd, "SUV SD label");
    shown(line, / max ([\d.]+)$/, R.suv.max, "SUV max label");
  }
  for (const p of pet.probes) {
    await hover(view.toScreen(p.point));
    const probe = await waitFor("the probe", async () => ((await text("#ov-probe")) || null));
    shown(probe, /SUVbw ([\d.]+)$/, p.suv, `probe at ${p.col}, ${p.row}`);
    assert.ok(probe.startsWith(`x ${p.col} y ${p.row}: ${p.value} BQML · `), probe);
  }
  await shot("measure-pet-suv");
  // Saved with the study in SUVbw too (the file the export's CSV and SR are made from).
  const saved = await waitFor("the PET study's saved measurements", () => {
    const rois = savedFor(pet.file)?.doc.measurements.filter((m) => m.path.endsWith(pet.file) && m.suv_mean !== null) ?? [];
    return rois.length === pet.rois.length ? rois : null;
  });
  for (const R of pet.rois) {
    const r = saved.find((m) => m.kind === R.shape);
    for (const k of ["mean", "sd", "min", "max"]) close(r[`suv_${k}`], R.suv[k], 1e-9, `${R.shape} saved SUV ${k}`);
  }
  for (const [file, e] of Object.entries(suvExpected.files)) {
    if (e.factor !== null) continue;
    await show(file);
    const why = await waitFor(`${file}'s SUV note`, async () => ((await text("#ov-suv")) || "").startsWith("no SUV: ") && text("#ov-suv"));
    const says = { units: "Units CNTS, not BQML", corrected: "Corrected Image (0028,0051) lacks DECY", weight: "no Patient's Weight (0010,1030)" }[e.reason];
    assert.equal(why, `no SUV: ${says}`, file);
  }
});

test("a point drags to a new place with the W/L tool, the length follows; Delete removes only the selected", async () => {
  await show(ct.file);
  const view = await exactView(ct);
  await focusViewport();
  await browser.keys(["v"]);
  const before = (await measurements()).items;
  const L = ct.lengths[0];
  const line = before.find((d) => d.kind === "length");
  assert.ok(line, "the CT's length from the test before");
  const to = [100.5, 60.5];
  await drag(view.toScreen(L.points[1]), view.toScreen(to));
  const m = await measurements();
  assert.equal(m.tool, "wl", "editing leaves the tool as it was");
  assert.equal(m.selected, line.id, "the dragged measurement is selected");
  const moved = m.items.find((d) => d.id === line.id);
  samePoints(moved.points, [L.points[0], to], "the moved end");
  // The new length from the reference's own pixel size (rows \ columns), not from the app.
  const [sy, sx] = ct.pixel_size;
  const want = Math.hypot((to[0] - L.points[0][0]) * sx, (to[1] - L.points[0][1]) * sy);
  close(moved.length, want, 1e-9, "length after the edit");
  shown(moved.lines[0], /^([\d.]+) mm$/, want, "label after the edit");
  const { viewport } = await rects();
  const g = (await drawn()).find((x) => x.kind === "length");
  const end = g.polyline.split(" ")[1].split(",").map(Number);
  const s = view.toScreen(to);
  assert.ok(Math.abs(end[0] - (s.x - viewport.left)) < 0.01 && Math.abs(end[1] - (s.y - viewport.top)) < 0.01, `drawn end ${end} vs ${JSON.stringify(s)}`);
  const handles = await browser.execute(() => document.querySelectorAll("#measure-layer g.measurement.selected rect.handle").length);
  assert.equal(handles, 2, "the selected length shows its two handles");
  assert.deepEqual(
    m.items.filter((d) => d.id !== line.id),
    before.filter((d) => d.id !== line.id),
    "the other measurements are untouched",
  );
  await shot("measure-edit");
  await browser.keys(["Delete"]);
  const after = await measurements();
  assert.deepEqual(after.items, before.filter((d) => d.id !== line.id), "Delete removed only the selected length");
  assert.equal(after.selected, null);
});

/** The saved file holding the measurements of the image file ending with `file` (found by the
 *  file each names). */
function savedFor(file) {
  const files = fs.existsSync(SAVED_DIR) ? fs.readdirSync(SAVED_DIR).filter((f) => f.endsWith(".json")) : [];
  for (const f of files) {
    const doc = JSON.parse(fs.readFileSync(path.join(SAVED_DIR, f), "utf8"));
    if (doc.measurements.some((m) => m.path.endsWith(file))) return { file: f, doc };
  }
  return null;
}

const savedCt = () => savedFor(ct.file);

/** A CSV file's rows as objects by header (RFC 4180 quoting). */
function readCsv(file) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  const text = fs.readFileSync(file, "utf8");
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") row.push(field), (field = "");
    else if (ch === "\n") row.push(field), rows.push(row), (row = []), (field = "");
    else if (ch !== "\r") field += ch;
  }
  if (field || row.length) row.push(field), rows.push(row);
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

test("measurements are saved with their study, exported as CSV and JSON, and come back when the app is started again", async () => {
  await show(ct.file);
  const shownBefore = (await measurements()).items;
  assert.deepEqual(shownBefore.map((d) => d.kind).sort(), ["angle", "ellipse", "freehand", "rect"], "the CT's angle and ROIs from the tests before");
  // Saved shortly after the last change: the same points and numbers as on screen.
  const { file, doc } = await waitFor("the study's saved measurements", () => {
    const f = savedCt();
    return f && f.doc.measurements.length === shownBefore.length ? f : null;
  });
  assert.match(file, /^[0-9.]+\.json$/, "named by the Study Instance UID");
  assert.equal(doc.format, "medlens-measurements/1");
  for (const d of shownBefore) {
    const r = doc.measurements.find((m) => m.kind === d.kind);
    samePoints(r.points.map(([x, y]) => ({ x, y })), d.points.map((p) => [p.x, p.y]), `${d.kind} saved points`);
    assert.ok(r.path.endsWith(ct.file) && r.frame === 0 && /^[0-9.]+$/.test(r.sop_instance_uid), `${d.kind} names its image`);
  }
  // The ROIs' saved numbers against pydicom + numpy (expected.json), not against the app.
  for (const R of ct.rois) {
    const r = doc.measurements.find((m) => m.kind === R.shape);
    assert.equal(r.count, R.count, `${R.shape} saved count`);
    for (const k of ["mean", "sd", "area"]) close(r[k], R[k], 1e-9, `${R.shape} saved ${k}`);
    assert.deepEqual([r.min, r.max, r.unit, r.value_unit], [R.min, R.max, "mm", "HU"]);
  }
  close(doc.measurements.find((m) => m.kind === "angle").angle, ct.angles[0].angle, 1e-9, "saved angle");

  // Export: CSV, JSON and a DICOM SR in the export folder, named in the status line.
  await (await browser.$("#measure-export")).click();
  const status = await waitFor("the export's status", async () => {
    const t = await text("#statusline");
    return t && t.startsWith("Measurements exported:") ? t : null;
  });
  const m = /^Measurements exported: (.+\.csv), (.+\.json) and (.+-sr\.dcm)$/.exec(status);
  assert.ok(m && m.slice(1).every((f) => f.startsWith(EXPORT_DIR) && fs.existsSync(f)), status);
  // The SR: DCMTK reads it as a TID 1500 measurement report on the CT's instance, one group per
  // measurement, each ROI's area as the reference computes it.
  const sr = execFileSync("dsrdump", ["+Pl", "+Pu", "+Pt", m[3]], { encoding: "utf8" });
  assert.ok(sr.includes("Imaging Measurement Report") && sr.includes("# TID 1500 (DCMR)"), sr);
  assert.equal(sr.match(/"Measurement Group"/g)?.length, shownBefore.length, sr);
  assert.ok(sr.includes(doc.measurements[0].sop_instance_uid), "the SR references the CT's instance");
  const srAreas = [...sr.matchAll(/NUM:\(,,"Area"\)="([-\d.E+]+)" \(mm2,UCUM/g)].map((x) => Number(x[1]));
  // (A DS holds 16 characters: 15 significant digits here.)
  for (const R of ct.rois) assert.ok(srAreas.some((v) => Math.abs(v - R.area) <= 1e-12 * R.area), `${R.shape} area ${R.area} in the SR: ${srAreas}`);
  const rows = readCsv(m[1]);
  assert.equal(rows.length, shownBefore.length);
  for (const R of ct.rois) {
    const row = rows.find((x) => x.kind === R.shape);
    assert.equal(Number(row.count), R.count);
    for (const k of ["mean", "sd", "area", "min", "max"]) close(Number(row[k]), R[k], 1e-9, `CSV ${R.shape} ${k}`);
    assert.deepEqual([row.unit, row.area_unit, row.value_unit, row.frame], ["mm", "mm²", "HU", "0"]);
    assert.equal(row.points, R.corners.map(([x, y]) => `${x} ${y}`).join(";"));
  }
  assert.deepEqual(JSON.parse(fs.readFileSync(m[2], "utf8")).measurements, doc.measurements, "the JSON export is the saved file's records");

  // A new app process: the study's measurements come back on their image, same numbers.
  await browser.deleteSession();
  await openWithFiles();
  await show(ct.file);
  const back = await waitFor("the measurements read back", async () => {
    const x = await measurements();
    return x.items.length === shownBefore.length ? x.items : null;
  });
  const strip = (items) => items.map(({ id, ...rest }) => rest).sort((a, b) => a.kind.localeCompare(b.kind));
  assert.deepEqual(strip(back), strip(shownBefore), "same kinds, points, numbers and labels");
  assert.equal((await drawn()).length, shownBefore.length, "and drawn");
  await shot("measure-restored");
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

  // Turned a quarter clockwise and mirrored top–bottom: each end is drawn where the turned
  // image puts its pixel (image (x, y) → box fraction (1 − y/rows, x/columns) for the turn, then
  // the screen mirror), and the numbers do not change.
  await focusViewport();
  await browser.keys(["]", "j"]);
  await waitFor("the turned view", async () => (await info()).transform?.rotate === 270);
  const turned = await rects();
  assert.deepEqual((await measurements()).items, before.items, "same numbers when turned and mirrored");
  const tline = (await drawn()).find((x) => x.kind === "length");
  const tends = tline.polyline.split(" ").map((q) => q.split(",").map(Number));
  nonSquare.lengths[0].points.forEach(([x, y], i) => {
    const u = 1 - y / nonSquare.rows;
    const v = 1 - x / nonSquare.columns; // then mirrored top–bottom
    const sx = turned.canvas.left + u * turned.canvas.width - turned.viewport.left;
    const sy = turned.canvas.top + v * turned.canvas.height - turned.viewport.top;
    assert.ok(Math.abs(tends[i][0] - sx) < 0.01 && Math.abs(tends[i][1] - sy) < 0.01, `turned line end ${i}: ${tends[i]} vs ${sx},${sy}`);
  });
  await shot("measure-nonsquare-turned");
  await browser.keys(["r"]);
  await browser.keys(["f"]);
});

test("no spacing: lengths and areas in px, never mm", async () => {
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
