// End-to-end tests of the viewer's geometry in the real app (tauri-driver + WebKitWebDriver):
// non-square pixels drawn at their true aspect (viewport, thumbnail, PNG export), orientation
// markers on four sides, the scale bar and the calibration's name. The files and what must be
// shown come from tests/dicom/make_geometry_fixtures.py (pydicom + numpy, expected.json),
// plus two real files of the shared corpus it describes. Run by tests/suites/30-viewer.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { dropPaths, openApp, seriesOf, shot, showFile, waitFor } from "./lib.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const shared = path.resolve(repo, "../shared/dicom");
const fixtures = path.join(repo, "tests/dicom/geometry");
const expected = JSON.parse(fs.readFileSync(path.join(fixtures, "expected.json"), "utf8"));
const APP = process.env.MEDLENS_APP;
const EXPORT_DIR = process.env.MEDLENS_EXPORT_DIR;
assert.ok(APP && fs.existsSync(APP), `MEDLENS_APP must name the built app (got ${APP})`);
assert.ok(EXPORT_DIR, "MEDLENS_EXPORT_DIR must be set");

let browser;
const info = () => browser.execute(() => window.__medlens.info());
const text = (sel) => browser.execute((s) => document.querySelector(s)?.textContent ?? null, sel);

/** The drawn image's box on screen, the canvas's native size, and the scale bar's. */
const measure = () =>
  browser.execute(() => {
    const c = document.querySelector("#viewport canvas.image");
    const r = c.getBoundingClientRect();
    const bar = document.getElementById("scale-bar");
    const line = document.getElementById("scale-bar-line").getBoundingClientRect();
    return {
      width: r.width,
      height: r.height,
      native: [c.width, c.height],
      barHidden: bar.hidden,
      barPx: line.width,
      barLabel: document.getElementById("scale-bar-label").textContent,
      zoom: document.getElementById("ov-zoom").textContent,
    };
  });

/** The PNG's size and tEXt chunks (Latin-1), read from the bytes. */
function pngInfo(file) {
  const b = fs.readFileSync(file);
  const out = { text: {} };
  for (let at = 8; at < b.length; ) {
    const len = b.readUInt32BE(at);
    const type = b.toString("latin1", at + 4, at + 8);
    const data = b.subarray(at + 8, at + 8 + len);
    if (type === "IHDR") [out.width, out.height] = [data.readUInt32BE(0), data.readUInt32BE(4)];
    if (type === "tEXt") {
      const nul = data.indexOf(0);
      out.text[data.toString("latin1", 0, nul)] = data.toString("latin1", nul + 1);
    }
    if (type === "pHYs") out.phys = { x: data.readUInt32BE(0), y: data.readUInt32BE(4), unit: data[8] };
    at += 12 + len;
  }
  return out;
}

// Layout follows the frame: a file is shown once the box has settled to its native size.
const show = (file) =>
  showFile(browser, file, async () => {
    const m = await measure();
    return m.native[0] > 0 && m.width > 0 ? m : null;
  });

const round125 = (mm) => {
  const p = 10 ** Math.floor(Math.log10(mm) + 1e-9);
  return [1, 2, 5].some((k) => Math.abs(mm - k * p) < 1e-9 * mm);
};

before(async () => {
  browser = await openApp(APP);
  await waitFor("the sample series", async () => (await info()).path);
  const before = (await info()).series;
  const corpus = expected.corpus.map((c) => path.join(shared, c.file)).filter((p) => fs.existsSync(p));
  // WebDriver cannot make a native drop: the app's test stand-in for one (MEDLENS_TEST_DROPS=1,
  // as tests/suites/30-viewer.sh sets), or the drop event where the app still listens to it.
  await dropPaths(browser, [fixtures, ...corpus]);
  await waitFor("the geometry series", async () => (await info()).series >= before + expected.files.length);
  await waitFor("indexing to finish", async () => !(await info()).indexing);
});

after(async () => {
  if (browser) await browser.deleteSession().catch(() => {});
});

for (const e of [...expected.files, ...expected.corpus]) {
  const name = path.basename(e.file).replace(/\.dcm$/, "");
  test(`${e.file}: true aspect, markers, calibration, scale bar (${e.calibration})`, async (t) => {
    if (expected.corpus.includes(e) && !fs.existsSync(path.join(shared, e.file))) return t.skip("corpus file not present");
    await show(e.file);
    const m = await measure();
    assert.deepEqual(m.native, [e.columns, e.rows], "the canvas keeps the native pixels");
    // The drawn box has the physical width : height (columns × pixel width : rows × pixel height).
    const ratio = m.width / m.height;
    assert.ok(Math.abs(ratio / e.width_over_height - 1) < 0.005, `drawn ${m.width}×${m.height} (${ratio.toFixed(4)}), expected ${e.width_over_height.toFixed(4)}`);

    const marks = {};
    for (const side of ["top", "bottom", "left", "right"]) marks[side] = await text(`#ov-mark-${side}`);
    assert.deepEqual(marks, e.markers ?? { top: "", bottom: "", left: "", right: "" }, "orientation markers");

    const calib = await text("#ov-calib");
    assert.ok(calib.startsWith(e.calibration_label), `calibration "${calib}" names "${e.calibration_label}"`);

    if (e.spacing_mm) {
      assert.equal(m.barHidden, false, "a calibrated image has a scale bar");
      const mm = Number(/^([\d.]+) mm$/.exec(m.barLabel)?.[1]);
      assert.ok(round125(mm), `scale bar ${m.barLabel} is a round length`);
      // Screen pixels per mm, measured on the drawn image: its width over its width in mm.
      const pxPerMm = m.width / (e.columns * e.spacing_mm[1]);
      assert.ok(Math.abs(m.barPx - mm * pxPerMm) <= 1.5, `bar ${m.barPx}px for ${mm} mm at ${pxPerMm.toFixed(3)} px/mm`);
    } else {
      assert.equal(m.barHidden, true, "no scale bar without a calibration");
    }
    await shot(`geometry-${name}`);
  });
}

test("turned and mirrored: the drawn box turns with the image and the markers follow its edges; R undoes it", async () => {
  // ps_nonsquare.dcm: axial, 3:1 on screen (1 mm wide, 0.5 mm tall pixels).
  const e = expected.files.find((x) => x.file === "ps_nonsquare.dcm");
  await show(e.file);
  const marks = async () => {
    const m = {};
    for (const side of ["top", "right", "bottom", "left"]) m[side] = await text(`#ov-mark-${side}`);
    return m;
  };
  const m0 = await marks();
  assert.deepEqual(m0, e.markers);
  await browser.execute(() => document.getElementById("viewport").focus());
  await browser.keys(["]"]);
  // A clockwise quarter turn: the left edge goes to the top, the top to the right, and so on.
  await waitFor("the turned markers", async () => (await marks()).top === m0.left);
  assert.deepEqual(await marks(), { top: m0.left, right: m0.top, bottom: m0.right, left: m0.bottom });
  const turned = await measure();
  assert.ok(Math.abs(turned.height / turned.width / e.width_over_height - 1) < 0.005, `the drawn box stands 1:3 now: ${turned.width}×${turned.height}`);
  assert.deepEqual(turned.native, [e.columns, e.rows], "the canvas keeps its native pixels");
  assert.deepEqual((await info()).transform, { flipH: false, flipV: false, rotate: 90 });
  // Exported as shown: the true-aspect export's width and height swap, the scale is the same.
  const saved = await browser.execute(() => window.__medlens.exportPng());
  const png = pngInfo(saved);
  assert.deepEqual([png.width, png.height], [e.export_height, e.export_width], "the turned export");
  assert.ok(Math.abs(Number(png.text["mm per pixel"]) - e.export_mm_per_pixel) < 1e-6, `mm per pixel ${png.text["mm per pixel"]}`);
  // Mirrored left–right on screen: the two side markers swap, whatever the turn.
  await (await browser.$("#flip-h")).click();
  assert.deepEqual(await marks(), { top: m0.left, right: m0.bottom, bottom: m0.right, left: m0.top });
  assert.ok((await text("#ov-orient")).includes("mirrored ↔"), await text("#ov-orient"));
  await shot("geometry-turned-mirrored");
  await browser.execute(() => document.getElementById("viewport").focus());
  await browser.keys(["r"]);
  assert.deepEqual(await marks(), m0, "R restores the view");
  assert.equal(await text("#ov-orient"), "");
});

test("the scale bar follows the zoom", async () => {
  const e = expected.files.find((f) => f.file === "ps_nonsquare.dcm");
  await show(e.file);
  const m0 = await measure();
  await browser.execute(() => document.getElementById("viewport").focus());
  await browser.keys(["+"]);
  await browser.keys(["+"]);
  const m1 = await waitFor("the zoom to change", async () => {
    const m = await measure();
    return m.zoom !== m0.zoom ? m : null;
  });
  assert.ok(Math.abs(m1.width / m0.width - 1.5625) < 0.01, `two zoom steps of 1.25: ${m0.width} → ${m1.width}`);
  assert.ok(Math.abs(m1.width / m1.height / e.width_over_height - 1) < 0.005, "the aspect stays true when zoomed");
  const pxPerMm = m1.width / (e.columns * e.spacing_mm[1]);
  const mm = Number(/^([\d.]+) mm$/.exec(m1.barLabel)?.[1]);
  assert.ok(Math.abs(m1.barPx - mm * pxPerMm) <= 1.5, `zoomed bar ${m1.barPx}px for ${mm} mm at ${pxPerMm.toFixed(3)} px/mm`);
  await shot("geometry-ps_nonsquare-zoomed");
  await browser.keys(["f"]);
});

test("thumbnails show non-square pixels at their true aspect", async () => {
  for (const e of expected.files.filter((f) => f.width_over_height !== 1)) {
    const s = await seriesOf(browser, e.file);
    const box = await waitFor(`the thumbnail of ${e.file}`, () =>
      browser.execute((uid) => {
        const c = document.querySelector(`#study-browser button.series[data-uid="${uid}"] canvas`);
        const d = c?.getContext("2d")?.getImageData(0, 0, c.width, c.height);
        if (!d) return null;
        let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
        for (let y = 0; y < d.height; y++)
          for (let x = 0; x < d.width; x++)
            if (d.data[(y * d.width + x) * 4 + 3] > 127) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
        return x1 < 0 ? null : { w: x1 - x0 + 1, h: y1 - y0 + 1, size: [c.width, c.height] };
      }, s.uid),
    );
    // The largest box of the physical aspect that fits the thumbnail.
    const [W, H] = box.size;
    const k = Math.min(W / e.width_over_height, H);
    const want = { w: k * e.width_over_height, h: k };
    assert.ok(Math.abs(box.w - want.w) <= 1.5 && Math.abs(box.h - want.h) <= 1.5, `${e.file}: thumbnail ${box.w}×${box.h}, expected ${want.w.toFixed(1)}×${want.h.toFixed(1)}`);
  }
});

test("PNG export is drawn at the true aspect and states its scale", async () => {
  for (const e of expected.files) {
    await show(e.file);
    const saved = await browser.execute(() => window.__medlens.exportPng());
    assert.ok(saved && fs.existsSync(saved) && saved.startsWith(EXPORT_DIR), `exported ${saved}`);
    const png = pngInfo(saved);
    assert.deepEqual([png.width, png.height], [e.export_width, e.export_height], `${e.file}: export size`);
    assert.equal(png.text["Calibration"], e.calibration_label, `${e.file}: calibration chunk`);
    if (e.export_mm_per_pixel !== null) {
      assert.ok(Math.abs(Number(png.text["mm per pixel"]) - e.export_mm_per_pixel) < 1e-6, `${e.file}: mm per pixel ${png.text["mm per pixel"]}`);
      assert.equal(png.phys?.unit, 1, "pHYs in metres");
      assert.equal(png.phys.x, Math.round(1000 / e.export_mm_per_pixel));
      const status = await text("#statusline");
      assert.ok(status.includes("mm per pixel"), `status line states the scale: ${status}`);
    } else {
      assert.equal(png.text["mm per pixel"], undefined, `${e.file}: no mm without a calibration`);
    }
  }
});
