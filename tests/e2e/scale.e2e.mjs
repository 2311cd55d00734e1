// End-to-end benchmark: a 5,000-file folder dropped on the real window. The folder is 250
// copies of the bundled MR volume (samples/mr-volume, 20 real slices) with new Study, Series
// and SOP Instance UIDs (same length, written in place; tests/dicom/make_big_folder.py makes
// the same kind of folder with pydicom), 5 series to a study. The test checks that the folder
// arrives in parts (a counter: the first series is listed while the rest is read), that the
// first dropped series opens from the first part, and that every file is indexed into its
// series; the times (drop → first series listed, → its image on screen, → whole index) and the
// app's peak memory go to tests/artifacts/viewer/scale-benchmark.json. Targets live there, not
// in assertions.
// Env: MEDLENS_APP, MEDLENS_BIN (the CLI reads the sample's UIDs), E2E_ARTIFACTS.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ART, dropPaths, openApp, replaceAll, sameLength, shot, waitFor } from "./lib.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SAMPLE = path.join(repo, "samples/mr-volume");
const APP = process.env.MEDLENS_APP;
const CLI = process.env.MEDLENS_BIN;
assert.ok(APP && fs.existsSync(APP) && CLI && fs.existsSync(CLI), "MEDLENS_APP and MEDLENS_BIN must name the built app and CLI");
const COPIES = 250;
const PER_STUDY = 5;

let browser;
let dir;
const info = () => browser.execute(() => window.__medlens.info());

/** Writes the folder; returns the number of files. */
function makeFolder(out) {
  const index = JSON.parse(execFileSync(CLI, ["inspect", "--json", SAMPLE], { encoding: "utf8", maxBuffer: 1 << 26 }));
  const study = index.patients[0].studies[0];
  const series = study.series[0];
  const slices = series.instances.map((i) => ({ uid: i.sop_instance_uid, bytes: fs.readFileSync(i.path) }));
  let files = 0;
  for (let c = 0; c < COPIES; c++) {
    const studyUid = sameLength(study.uid, Math.floor(c / PER_STUDY));
    const seriesUid = sameLength(series.uid, c);
    const folder = path.join(out, `study${Math.floor(c / PER_STUDY)}`, `series${c}`);
    fs.mkdirSync(folder, { recursive: true });
    slices.forEach((s, k) => {
      const buf = Buffer.from(s.bytes);
      assert.ok(replaceAll(buf, study.uid, studyUid) >= 1 && replaceAll(buf, series.uid, seriesUid) >= 1);
      assert.ok(replaceAll(buf, s.uid, sameLength(s.uid, c * slices.length + k)) >= 1, "the SOP Instance UID (data set and file meta)");
      fs.writeFileSync(path.join(folder, `img${k}.dcm`), buf);
      files++;
    });
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

test("a 5,000-file folder: the first series shows while the rest is read, every file lands in its series; times in scale-benchmark.json", async () => {
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
  assert.ok(list.every((s) => s.images === 20), "20 slices in each");
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
