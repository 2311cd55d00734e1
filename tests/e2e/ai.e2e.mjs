// End-to-end tests of the AI panels in the real app (tauri-driver + WebKitWebDriver), with
// the small committed random-weight models placed in a fake Hugging Face cache (their text
// is gibberish; the pipeline is real). Run by tests/suites/30-viewer.sh, which sets
// HF_HOME (the fake cache), MEDLENS_DATA_DIR (audit log, label sets), MEDLENS_DEVICE and
// MEDLENS_AI_TINY_SIGLIP (the tiny MedSigLIP folder, for the CLI reference).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Key } from "webdriverio";
import { openApp, waitFor as waitForIn } from "./lib.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const APP = process.env.MEDLENS_APP;
const CLI = process.env.MEDLENS_BIN;
const EXPORT_DIR = path.join(process.env.MEDLENS_EXPORT_DIR ?? "/tmp", "ai");
const DATA_DIR = process.env.MEDLENS_DATA_DIR;
const SIGLIP = process.env.MEDLENS_AI_TINY_SIGLIP;
assert.ok(APP && CLI && DATA_DIR && SIGLIP && process.env.HF_HOME, "run through tests/suites/30-viewer.sh");
fs.mkdirSync(EXPORT_DIR, { recursive: true });

let browser;
const tid = (id) => `[data-testid="${id}"]`;

const waitFor = (what, fn, timeout = 60000) => waitForIn(what, fn, timeout, 100);
const attr = (sel, name) => browser.execute((s, n) => document.querySelector(s)?.getAttribute(n) ?? null, sel, name);
const text = (sel) => browser.execute((s) => document.querySelector(s)?.textContent ?? null, sel);
const click = (sel) => browser.execute((s) => document.querySelector(s).click(), sel);
const setValue = (sel, v) =>
  browser.execute(
    (s, v) => {
      const el = document.querySelector(s);
      if (el.type === "checkbox") el.checked = v;
      else el.value = v;
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
    },
    sel,
    v,
  );

before(async () => {
  browser = await openApp(APP);
  await waitFor("the sample series", async () => (await browser.execute(() => window.__medlens.aiContext()))?.path);
});

after(async () => {
  if (browser) await browser.deleteSession().catch(() => {});
});

test("the model manager finds MedGemma and MedSigLIP in a fake Hugging Face cache", async () => {
  const rows = await waitFor("two model rows", async () => {
    const r = await browser.execute(() =>
      [...document.querySelectorAll('[data-testid="model-row"]')].map((e) => ({ kind: e.dataset.kind, status: e.dataset.status, source: e.dataset.source, path: e.dataset.path })),
    );
    return r.length >= 2 ? r : null;
  });
  for (const kind of ["medgemma", "medsiglip"]) {
    const r = rows.find((x) => x.kind === kind && x.source === "hf-cache");
    assert.ok(r, `${kind} found in the HF cache: ${JSON.stringify(rows)}`);
    assert.equal(r.status, "ok", `${kind}: ${JSON.stringify(r)}`);
    assert.ok(r.path.startsWith(process.env.HF_HOME), r.path);
  }
  const gpu = await attr(tid("gpu-info"), "data-adapter");
  assert.ok(gpu, "the adapter is shown");
});

test("label bars equal medlens labels --json for the same frame and window", async () => {
  const ctx = await browser.execute(() => window.__medlens.aiContext());
  const bars = await waitFor("label bars", async () => {
    const b = await browser.execute(() =>
      [...document.querySelectorAll('[data-testid="labels-bar"]')].map((e) => ({ label: e.dataset.label, p: Number(e.dataset.probability) })),
    );
    const state = await attr(tid("labels-panel"), "data-state");
    return b.length >= 3 && state === "idle" ? b : null;
  });
  for (let i = 1; i < bars.length; i++) assert.ok(bars[i - 1].p >= bars[i].p, "sorted, highest first");
  const labels = bars.map((b) => b.label);
  const out = execFileSync(
    CLI,
    ["labels", "--model", SIGLIP, ctx.path, "--frame", String(ctx.frame), "--window", `${ctx.window.center},${ctx.window.width}`, "--labels", labels.join(";"), "--mode", "sigmoid", "--device", "cpu", "--json"],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  const cli = JSON.parse(out).results[0].scores;
  let worst = 0;
  for (const b of bars) {
    const c = cli.find((s) => s.label === b.label);
    assert.ok(c, `CLI has ${b.label}`);
    worst = Math.max(worst, Math.abs(c.probability - b.p));
  }
  console.log(`labels: ${bars.length} bars, max |app − CLI| = ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-5, `app and CLI differ by ${worst}`);
});

test("findings stream into the panel token by token, and Stop ends generation within 200 ms", async () => {
  await setValue(tid("findings-greedy"), true);
  await setValue(tid("findings-max-tokens"), "4000");
  await click(tid("findings-generate"));
  await waitFor("the first tokens", async () => ((await text(tid("findings-text"))) ?? "").length > 0);
  const a = (await text(tid("findings-text"))).length;
  const b = await waitFor("more tokens", async () => {
    const n = (await text(tid("findings-text"))).length;
    return n > a ? n : null;
  });
  assert.ok(b > a, "text grows while generating");
  assert.equal(await attr(tid("findings-panel"), "data-state"), "running");
  assert.match((await text(tid("findings-draft-banner"))) ?? "", /DRAFT: research use only, not for diagnosis/);
  assert.ok((await attr(tid("findings-thumbnail"), "src"))?.startsWith("data:image/png;base64,"), "thumbnail of the pixels sent");
  // The stages before the first token were announced, in order (the model was not loaded yet).
  assert.equal(await attr(tid("findings-status"), "data-stages"), "load vision prefill");
  // The load reported its progress in tensors read: the last report at most the files' count.
  const [done, total] = ((await attr(tid("findings-status"), "data-loaded")) ?? "").split("/").map(Number);
  assert.ok(done > 0 && done <= total, `tensors loaded ${done} of ${total}`);
  assert.equal(await text(tid("findings-status")), "Generating…");
  // Click Stop in the page and time until the panel is idle again (no WebDriver round trips).
  const ms = await browser.executeAsync((done) => {
    const panel = document.querySelector('[data-testid="findings-panel"]');
    const t0 = performance.now();
    const obs = new MutationObserver(() => {
      if (panel.dataset.state === "idle") {
        obs.disconnect();
        done(performance.now() - t0);
      }
    });
    obs.observe(panel, { attributes: true });
    document.querySelector('[data-testid="findings-stop"]').click();
    setTimeout(() => done(-1), 5000);
  });
  console.log(`stop: generation ended ${ms.toFixed(0)} ms after the click`);
  assert.ok(ms >= 0 && ms <= 200, `Stop took ${ms} ms`);
  const n1 = (await text(tid("findings-text"))).length;
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await text(tid("findings-text"))).length, n1, "no tokens after Stop");
});

test("a finished draft exports JSON with provenance and a DICOM SR that references the source", async () => {
  await setValue(tid("findings-max-tokens"), "8");
  await click(tid("findings-generate"));
  await waitFor("a finished draft", async () => (await attr(tid("findings-tps"), "data-value")) !== null && (await attr(tid("findings-panel"), "data-state")) === "idle");
  const ctx = await browser.execute(() => window.__medlens.aiContext());
  await setValue(tid("findings-export-dir"), EXPORT_DIR);
  await click(tid("findings-export-json"));
  const jsonPath = await waitFor("the JSON export", () => attr(tid("findings-export-result"), "data-path"));
  const j = JSON.parse(fs.readFileSync(jsonPath, "utf8"));
  assert.match(j.draft, /DRAFT/);
  for (const k of ["model_file", "model_sha256", "quantization", "adapter", "template", "prompt", "sampling", "inputs", "created"]) {
    assert.ok(j.provenance[k] !== undefined && j.provenance[k] !== null, `provenance.${k}`);
  }
  const input = j.provenance.inputs[0];
  for (const k of ["path", "sop_instance_uid", "frame", "window", "width", "height"]) {
    assert.ok(input[k] !== undefined && input[k] !== null, `provenance.inputs[0].${k}`);
  }
  assert.equal(input.sop_instance_uid, ctx.sopInstanceUid);
  assert.equal(j.provenance.model_sha256.length, 64);
  await browser.execute(() => document.querySelector('[data-testid="findings-export-result"]').removeAttribute("data-path"));
  await click(tid("findings-export-sr"));
  const srPath = await waitFor("the SR export", () => attr(tid("findings-export-result"), "data-path"));
  const dump = execFileSync("dcmdump", ["-Un", srPath], { encoding: "utf8" });
  assert.match(dump, /\(0008,0016\) UI \[1\.2\.840\.10008\.5\.1\.4\.1\.1\.88\.11\]/, "Basic Text SR");
  assert.ok(dump.includes(`(0008,1155) UI [${ctx.sopInstanceUid}]`), "references the source SOP Instance UID");
  const audit = fs.readFileSync(path.join(DATA_DIR, "audit.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(audit.some((r) => r.record.kind === "findings"), "findings are in the audit log");
  assert.ok(audit.some((r) => r.record.kind === "labels"), "labels are in the audit log");
});

test("a corrupt model gives a clear message and the viewer keeps working", async () => {
  const bad = path.join(DATA_DIR, "corrupt-model");
  fs.mkdirSync(bad, { recursive: true });
  fs.copyFileSync(path.join(SIGLIP, "config.json"), path.join(bad, "config.json"));
  fs.writeFileSync(path.join(bad, "model.safetensors"), Buffer.from("this is not a safetensors file at all"));
  await setValue(tid("model-add-path"), bad);
  await click(tid("model-add"));
  const row = await waitFor("the corrupt model's row", () =>
    browser.execute((p) => {
      const r = [...document.querySelectorAll('[data-testid="model-row"]')].find((e) => e.dataset.path === p);
      return r ? { status: r.dataset.status, text: r.textContent } : null;
    }, bad),
  );
  assert.equal(row.status, "invalid");
  assert.match(row.text, /model\.safetensors/, "the message names the file");
  // The viewer still scrolls and renders.
  const before = (await browser.execute(() => window.__medlens.info())).slice;
  await browser.$("#viewport").click();
  await browser.keys([Key.ArrowDown]);
  await waitFor("the next slice", async () => (await browser.execute(() => window.__medlens.info())).slice !== before);
});
