// End-to-end tests of MPR in the real app (tauri-driver + WebKitWebDriver): the bundled MR
// volume's axial, coronal and sagittal reformats, thin and as a thick-slab MIP, pixel for pixel
// against an independent reslice with numpy from pydicom's arrays
// (tests/dicom/mpr/make_mpr_reference.py → expected.json, hashes of the f32 modality values);
// a click in one pane moving the other two through that voxel; one window for the three
// panes; series that are not volumes refused with the reason; and the `?` overlay listing the
// keys (M among them), which then work. Run by tests/suites/30-viewer.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { dropPaths, openApp, replaceAll, sameLength, setValueInPlace, shot, waitFor } from "./lib.mjs";
import { Key } from "webdriverio";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const expected = JSON.parse(fs.readFileSync(path.join(repo, "tests/dicom/mpr/expected.json"), "utf8"));
const APP = process.env.MEDLENS_APP;
assert.ok(APP && fs.existsSync(APP), `MEDLENS_APP must name the built app (got ${APP})`);
const PLANES = ["axial", "coronal", "sagittal"];

let browser;
const info = () => browser.execute(() => window.__medlens.info());
const mpr = () => browser.execute(() => window.__medlens.mpr());
const text = (sel) => browser.execute((s) => document.querySelector(s)?.textContent ?? null, sel);
const digest = async (plane) => {
  const b64 = await browser.execute((p) => window.__medlens.mprValues(p), plane);
  return b64 && createHash("sha256").update(Buffer.from(b64, "base64")).digest("hex");
};
const settled = (s, slab = 1) => s.open && s.panes.length === 3 && s.panes.every((p) => p.loaded && !p.error && p.slab === (slab === 1 ? 1 : expected.planes[p.plane].slab_slices));

before(async () => {
  browser = await openApp(APP);
  await waitFor("the sample volume on screen", async () => {
    const i = await info();
    return i.sliceCount === 20 && i.path && !i.viewError;
  });
});

/** Folders the tests made; removed when the app is closed. */
const made = [];

after(async () => {
  await browser?.deleteSession();
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

test("MPR of the sample volume: three planes equal to numpy's reslice, at their true aspect", async () => {
  await browser.$("#mpr-toggle").click();
  const s = await waitFor("the three MPR panes", async () => {
    const s = await mpr();
    return settled(s) && s;
  });
  assert.equal(await browser.execute(() => document.getElementById("viewport").hidden), true, "the stack view is hidden");
  // The crosshair starts at the volume's centre voxel.
  assert.deepEqual(s.point, expected.dims.map((d) => Math.floor(d / 2)));
  for (const p of s.panes) {
    const want = expected.planes[p.plane];
    assert.deepEqual([p.count, p.width, p.height], [want.count, want.width, want.height], p.plane);
    assert.equal(await digest(p.plane), want.slices[p.slice], `${p.plane} slice ${p.slice} equals numpy's`);
    const pos = await text(`#mpr-${p.plane}-ov-bl`);
    assert.match(pos, /[xyz] −?\d+\.\d\d mm/, `${p.plane} states its slice position: ${pos}`);
    // Drawn at the true aspect: the coronal and sagittal voxels are 7.0 mm tall, 0.86 mm wide.
    const box = await browser.execute((id) => document.getElementById(id).getBoundingClientRect().toJSON(), `mpr-${p.plane}-viewport-canvas`);
    const aspect = (want.height * want.pixel_spacing[0]) / (want.width * want.pixel_spacing[1]);
    assert.ok(Math.abs(box.height / box.width / aspect - 1) < 0.01, `${p.plane} drawn ${box.width}×${box.height}, aspect ${aspect}`);
  }
  // Orientation markers from the planes' own orientation: feet at the bottom of coronal and
  // sagittal, the patient's left on the right of axial and coronal, posterior on the right of
  // sagittal.
  const mark = (plane, side) => text(`#mpr-${plane}-ov-mark-${side}`);
  assert.equal(await mark("axial", "right"), "L");
  assert.equal(await mark("coronal", "right"), "L");
  assert.equal(await mark("sagittal", "right"), "P");
  for (const plane of ["coronal", "sagittal"]) assert.match(await mark(plane, "bottom"), /^F/, `${plane} bottom`);
  await shot("mpr");
});

test("a click in the axial pane moves the coronal and sagittal panes through that voxel", async () => {
  const axialSlice = async () => (await mpr()).panes[0].slice;
  // Zoom the axial pane so one image pixel spans more than two screen pixels.
  await browser.execute(() => document.getElementById("mpr-axial-viewport").focus());
  for (let k = 0; k < 3; k++) await browser.keys(["+"]);
  for (const c of expected.clicks) {
    await browser.execute(() => document.getElementById("mpr-axial-viewport").focus());
    const steps = c.axial_slice - (await axialSlice());
    // One key per call: a repeated key within one call arrives once.
    for (let k = 0; k < Math.abs(steps); k++) await browser.keys([steps > 0 ? Key.ArrowDown : Key.ArrowUp]);
    await waitFor(`axial slice ${c.axial_slice}`, async () => {
      const s = await mpr();
      if (s.panes[0].slice === c.axial_slice && s.panes[0].loaded) return true;
      throw new Error(`axial pane at slice ${s.panes[0].slice}${s.panes[0].loaded ? "" : " (loading)"}, focus on ${await browser.execute(() => document.activeElement?.id)}`);
    });
    const box = await browser.execute(() => document.getElementById("mpr-axial-viewport-canvas").getBoundingClientRect().toJSON());
    const w = expected.planes.axial;
    const x = Math.round(box.left + ((expected.click.col + 0.5) / w.width) * box.width);
    const y = Math.round(box.top + ((expected.click.row + 0.5) / w.height) * box.height);
    await browser.action("pointer").move({ x, y, origin: "viewport" }).down({ button: 0 }).up({ button: 0 }).perform();
    const s = await waitFor(`the crosshair at voxel ${c.voxel}`, async () => {
      const s = await mpr();
      return settled(s) && s.panes[1].slice === c.coronal_slice && s.panes[2].slice === c.sagittal_slice && s;
    });
    assert.deepEqual(s.point, c.voxel);
    assert.equal(s.panes[0].slice, c.axial_slice, "the clicked pane keeps its slice");
    for (const p of s.panes) assert.equal(await digest(p.plane), expected.planes[p.plane].slices[p.slice], `${p.plane} slice ${p.slice}`);
    // The crosshair's patient position (the slice's own Image Position (Patient) in numpy;
    // the volume's mean spacing here: within the scanner's rounding).
    const shown = (await text("#mpr-point")).replace(/−/g, "-").match(/-?\d+\.\d+/g).map(Number);
    shown.forEach((v, k) => assert.ok(Math.abs(v - c.position[k]) < 0.1, `position ${shown} vs ${c.position}`));
    for (const plane of PLANES) {
      const lines = await browser.execute((pl) => document.querySelectorAll(`#mpr-${pl}-viewport .crosshair-layer line`).length, plane);
      assert.equal(lines, 2, `${plane} shows the other two planes`);
    }
  }
  await shot("mpr-crosshair");
});

test("a thick slab is the maximum over its slices, as numpy takes it", async () => {
  const setSlab = (mm) =>
    browser.execute((v) => {
      const el = document.getElementById("mpr-slab");
      el.value = String(v);
      el.dispatchEvent(new Event("change"));
    }, mm);
  await setSlab(expected.slab_mm);
  const s = await waitFor("the slab MIPs", async () => {
    const s = await mpr();
    return settled(s, expected.slab_mm) && s;
  });
  for (const p of s.panes) {
    const want = expected.planes[p.plane];
    assert.equal(await digest(p.plane), want.mip[p.slice], `${p.plane} MIP of ${want.slab_slices} at slice ${p.slice}`);
    assert.match(await text(`#mpr-${p.plane}-ov-bl`), new RegExp(`MIP ${want.slab_slices} slices`));
  }
  await shot("mpr-mip");
  await setSlab(0);
  await waitFor("thin slices again", async () => settled(await mpr()));
});

test("one window for the three panes", async () => {
  const before = (await mpr()).panes.map((p) => p.window);
  const box = await browser.execute(() => document.getElementById("mpr-sagittal-viewport").getBoundingClientRect().toJSON());
  const [x, y] = [Math.round(box.left + box.width / 2), Math.round(box.top + box.height / 2)];
  await browser.action("pointer").move({ x, y, origin: "viewport" }).down({ button: 0 }).move({ x: x + 40, y: y + 25, origin: "viewport" }).up({ button: 0 }).perform();
  const s = await waitFor("a new window in every pane", async () => {
    const s = await mpr();
    return s.panes.every((p) => p.window.width !== before[0].width && p.window.width === s.panes[2].window.width && p.window.center === s.panes[2].window.center) && s;
  });
  assert.ok(s.panes[2].window.width > before[2].width, "dragging right widens the window");
});

test("MPR closes back to the stack", async () => {
  await browser.$("#mpr-close").click();
  await waitFor("the stack view again", async () => {
    const [s, hidden] = [await mpr(), await browser.execute(() => document.getElementById("viewport").hidden)];
    return !s.open && !hidden;
  });
});

/** Copies of the first `n` sample files (skipping file `skip`) as a new series (its UIDs
 *  rewritten in place at the same length), each file's Image Position (Patient) replaced by
 *  `position(k)` (k counts the copies), in a fresh folder. */
function variant(name, n, skip, position) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `medlens-mpr-${name}-`));
  made.push(dir);
  const index = JSON.parse(execFileSync(process.env.MEDLENS_BIN, ["inspect", "--json", path.join(repo, "samples/mr-volume")], { encoding: "utf8", maxBuffer: 1 << 26 }));
  const sample = index.patients[0].studies[0].series[0];
  const series = sameLength(sample.uid, name === "tilt" ? 1 : 2);
  let k = 0;
  for (const inst of sample.instances) {
    const i = Number(/brain_(\d+)/.exec(inst.path)[1]);
    if (i > n || i === skip) continue;
    const buf = fs.readFileSync(inst.path);
    assert.ok(replaceAll(buf, sample.uid, series) >= 1, "the Series Instance UID");
    assert.ok(replaceAll(buf, inst.sop_instance_uid, sameLength(inst.sop_instance_uid, 10 * (name === "tilt" ? 1 : 2) + i)) >= 1, "the SOP Instance UID");
    const p = position(k++, inst.image_position);
    if (p) setValueInPlace(buf, 0x0020, 0x0032, p.map((v) => v.toFixed(3)).join("\\"));
    fs.writeFileSync(path.join(dir, `slice_${i}.dcm`), buf);
  }
  return { dir, series };
}

test("series that are not volumes are refused with the reason, and the view stays usable", async () => {
  // Gantry tilt: each slice shifted 3 mm to the patient's left of the one before.
  const tilt = variant("tilt", 6, 0, (k, [x, y, z]) => [x + 3 * k, y, z]);
  // A missing slice: the spacing doubles once.
  const gap = variant("gap", 6, 3, () => null);
  await dropPaths(browser, [tilt.dir, gap.dir]);
  for (const [v, reason] of [
    [tilt, /Not a volume: the slices are stacked \d+\.\d° off their normal \(gantry tilt/],
    [gap, /Not a volume: the slice spacing varies from 6\.\d+ to 13\.\d+ mm/],
  ]) {
    await waitFor(`series ${v.series} indexed`, async () => (await browser.execute(() => window.__medlens.seriesList())).some((s) => s.uid === v.series));
    assert.ok(await browser.execute((u) => window.__medlens.openSeries(u), v.series));
    await waitFor(`series ${v.series} on screen`, async () => {
      const i = await info();
      return i.seriesUid === v.series && i.path && !i.viewError;
    });
    await browser.$("#mpr-toggle").click();
    const status = await waitFor("the refusal", async () => {
      const t = await text("#statusline");
      return reason.test(t) && t;
    });
    assert.match(status, /MPR of series/);
    assert.equal((await mpr()).open, false);
    assert.equal(await browser.execute(() => document.getElementById("viewport").hidden), false, "the stack stays on screen");
    assert.equal((await info()).seriesUid, v.series);
  }
  await shot("mpr-refused");
});

test("? shows every key and gesture, MPR's among them; the keys work; Esc closes it", async () => {
  const overlay = '[data-testid="help-overlay"]';
  const hidden = () => browser.execute((s) => document.querySelector(s).hidden, overlay);
  assert.equal(await hidden(), true);
  await browser.execute(() => document.getElementById("viewport").focus());
  await browser.keys(["?"]);
  await waitFor("the shortcut overlay", async () => !(await hidden()));
  const rows = await browser.execute(() =>
    [...document.querySelectorAll('[data-testid="help-dialog"] dl')].flatMap((dl) => [...dl.querySelectorAll("dt")].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])),
  );
  const row = (key) => rows.find(([k]) => k === key);
  assert.match(row("M")?.[1] ?? "", /MPR/, "M is listed for MPR");
  assert.match(row("Left click (MPR)")?.[1] ?? "", /crosshair/);
  for (const k of ["L", "G", "E", "B", "D", "T", "?"]) assert.ok(row(k), `${k} is listed`);
  await shot("help-overlay");
  await browser.keys([Key.Escape]);
  await waitFor("the overlay closed", hidden);
  // The listed key does what the list says: M opens MPR (of the sample volume), M again closes it.
  const sample = (await browser.execute(() => window.__medlens.seriesList())).find((s) => s.paths.some((p) => p.endsWith("brain_001.dcm") && p.includes("mr-volume")));
  assert.ok(await browser.execute((u) => window.__medlens.openSeries(u), sample.uid));
  await waitFor("the sample on screen", async () => {
    const i = await info();
    return i.seriesUid === sample.uid && i.path && !i.viewError;
  });
  await browser.execute(() => document.getElementById("viewport").focus());
  await browser.keys(["m"]);
  await waitFor("MPR by its key", async () => (await mpr()).open);
  await browser.execute(() => document.getElementById("mpr-axial-viewport").focus());
  await browser.keys(["m"]);
  await waitFor("MPR closed by its key", async () => !(await mpr()).open);
});
