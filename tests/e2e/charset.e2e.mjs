// End-to-end: pydicom's own Specific Character Set test files (tests/dicom/charset/pydicom,
// from pydicom's PyPI package) dropped on the real window. For every one with an image, each
// text element of the data set is shown in the tag browser exactly as pydicom 3.0.2 decodes
// it (tests/dicom/charset/reference.json, made by tests/dicom/make_charset_reference.py), and
// the patient's name reaches the study browser and the image overlay in its own script:
// Arabic, French, German, Greek, Japanese (ISO 2022 IR 13/87), Hebrew, Korean (IR 149),
// Russian, Chinese (UTF-8 and GB18030).
// Env: MEDLENS_APP, E2E_ARTIFACTS, WEBDRIVER_PORT (tests/suites/30-viewer.sh).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { dropPaths, openApp, shot, waitFor } from "./lib.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DIR = path.join(repo, "tests/dicom/charset/pydicom");
const reference = JSON.parse(fs.readFileSync(path.join(repo, "tests/dicom/charset/reference.json"), "utf8"));
const APP = process.env.MEDLENS_APP;
assert.ok(APP && fs.existsSync(APP), `MEDLENS_APP must name the built app (got ${APP})`);

// The value representations whose bytes Specific Character Set governs (PS3.5 6.1.2.3).
const TEXT_VRS = new Set(["SH", "LO", "ST", "LT", "UT", "UC", "PN"]);
// The tag browser shortens values past this many characters.
const SHOWN_MAX = 256;
// pydicom's files without Pixel Data (pydicom.dcmread shows none): nothing to display.
const NO_IMAGE = new Set(["chrJapMulti.dcm", "chrJapMultiExplicitIR6.dcm", "chrKoreanMulti.dcm", "chrSQEncoding.dcm", "chrSQEncoding1.dcm"]);
const files = Object.keys(reference.files)
  .filter((k) => k.startsWith("pydicom/") && !NO_IMAGE.has(path.basename(k)))
  .map((k) => ({ key: k, file: path.join(DIR, path.basename(k)), entry: reference.files[k] }));

let browser;
const info = () => browser.execute(() => window.__medlens.info());

/** Person names equal up to trailing empty component groups (=) and components (^), value
 *  by value. */
function pnEqual(a, b) {
  const norm = (v) =>
    v
      .split("\\")
      .map((name) => name.split("=").map((g) => g.replace(/\^+$/, "")).join("=").replace(/=+$/, ""))
      .join("\\");
  return norm(a) === norm(b);
}

before(async () => {
  browser = await openApp(APP);
  await waitFor("the sample series", async () => (await info()).path);
  await dropPaths(browser, [DIR]);
  await waitFor("indexing to finish", async () => {
    const i = await info();
    const listed = (await browser.execute(() => window.__medlens.seriesList())).flatMap((s) => s.paths);
    return !i.indexing && files.every((f) => listed.includes(f.file));
  });
});

after(async () => {
  if (browser) await browser.deleteSession().catch(() => {});
});

/** The tag browser's top-level rows of the file on screen, by tag. */
async function shownTags(file) {
  return waitFor(`the tags of ${path.basename(file)}`, () =>
    browser.execute((f) => {
      const title = document.querySelector("#tag-browser .tpath")?.textContent;
      const rows = [...document.querySelectorAll("#tag-browser tbody tr")];
      if (title !== f || rows.length < 5) return null;
      const out = {};
      for (const r of rows) {
        const [tag, , , value] = [...r.querySelectorAll("td")];
        // Items' elements are indented (nested); the reference's top level has no "/" path.
        if (parseFloat(tag.style.paddingLeft) < 1) out[tag.textContent] = value.textContent;
      }
      return out;
    }, file),
  );
}

test("pydicom's charset files: every text element as pydicom decodes it, the patient's name on screen", async () => {
  assert.equal(files.length, 12, "pydicom ships 17 charset files, 12 with an image");
  await (await browser.$("#toggle-tags")).click();
  let checked = 0;
  for (const { file, entry } of files) {
    assert.ok(await browser.execute((p) => window.__medlens.openAt(p), file), `open ${file}`);
    await waitFor(`${path.basename(file)} on screen`, async () => {
      const i = await info();
      return i.path === file && !i.viewError;
    });
    const shown = await shownTags(file);
    for (const el of entry.elements) {
      if (el.path.includes("/") || !TEXT_VRS.has(el.vr)) continue;
      const want = el.values.join("\\").replace(/[\0 ]+$/, "");
      if ([...want].length > SHOWN_MAX) continue;
      // A name's trailing empty groups and components may be left out (PS3.5 6.2.1): the
      // tag browser shows the stored form, pydicom drops them; both name the same person.
      const same = el.vr === "PN" ? pnEqual(shown[el.path] ?? "", want) : shown[el.path] === want;
      assert.ok(same, `${path.basename(file)} ${el.path} (${el.vr}) in the tag browser: ${JSON.stringify(shown[el.path])}, pydicom ${JSON.stringify(want)}`);
      checked++;
    }
    // The patient's name in the overlay and the study browser: each name component pydicom
    // decodes (the alphabetic family name and the ideographic one, where there are those).
    const pn = entry.elements.find((e) => e.path === "(0010,0010)")?.values[0] ?? "";
    const [alphabetic = "", ideographic = ""] = pn.split("=");
    const parts = [alphabetic.split("^")[0], ...ideographic.split("^").slice(0, 2)].filter((x) => x && x.trim());
    const overlay = await browser.execute(() => document.querySelector("#ov-tl")?.textContent ?? "");
    const names = await browser.execute(() => [...document.querySelectorAll(".pname")].map((e) => e.textContent));
    for (const part of parts) {
      assert.ok(overlay.includes(part), `${path.basename(file)}: the overlay shows "${part}" of ${pn}: ${overlay}`);
      assert.ok(names.some((n) => n.includes(part)), `${path.basename(file)}: the study browser shows "${part}": ${names.join(" | ")}`);
    }
    if (path.basename(file) === "chrH31.dcm") await shot("charset-japanese");
  }
  assert.ok(checked >= 60, `${checked} text values compared`);
  await (await browser.$("#toggle-tags")).click();
});
