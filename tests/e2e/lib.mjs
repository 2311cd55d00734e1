// Helpers shared by the end-to-end tests (tests/e2e/*.e2e.mjs).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { remote } from "webdriverio";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Where screenshots go: $E2E_ARTIFACTS, else tests/artifacts (created here). */
export const ART = process.env.E2E_ARTIFACTS ?? path.join(repo, "tests/artifacts");
fs.mkdirSync(ART, { recursive: true });

/** The whole X display as ART/<name>.png, once the UI has had time to paint. */
export async function shot(name) {
  await new Promise((r) => setTimeout(r, 300));
  execFileSync("import", ["-window", "root", path.join(ART, `${name}.png`)], { stdio: "pipe", timeout: 30000 });
}

/** Polls `fn` until it returns something truthy (errors count as "not yet"); throws after
 * `timeout` ms with the last value or error, so a failure says what it was waiting for. */
export async function waitFor(what, fn, timeout = 30000, every = 150) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < timeout) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/** A WebDriver session on the real app through tauri-driver, once its test hook is up. */
export async function openApp(app) {
  const browser = await remote({
    hostname: "127.0.0.1",
    port: Number(process.env.WEBDRIVER_PORT ?? 4444),
    logLevel: "warn",
    connectionRetryTimeout: 120000,
    capabilities: { "tauri:options": { application: app } },
  });
  await waitFor("the app's test hook", () => browser.execute(() => !!window.__medlens));
  return browser;
}

/** The series holding the file whose path ends with `file`, from the app's own list, with
 * that file's full path as `path`. */
export async function seriesOf(browser, file) {
  const list = await browser.execute(() => window.__medlens.seriesList());
  const s = list.find((x) => x.paths.some((p) => p.endsWith(file)));
  assert.ok(s, `${file} is listed`);
  return { ...s, path: s.paths.find((p) => p.endsWith(file)) };
}

/** Opens the file ending with `file` and waits until it is on screen without an error and
 * `laidOut()` returns something truthy (the caller's notion of a settled layout). */
export async function showFile(browser, file, laidOut) {
  const s = await seriesOf(browser, file);
  assert.ok(await browser.execute((p) => window.__medlens.openAt(p), s.path));
  await waitFor(`${file} on screen`, async () => {
    const i = await browser.execute(() => window.__medlens.info());
    return i.path === s.path && !i.viewError;
  });
  await waitFor(`${file} laid out`, laidOut);
  return s;
}

/** Drops `paths` on the window through the app's stand-in for a native drop (`test_drop`,
 * enabled by MEDLENS_TEST_DROPS=1); without it, emits the page's drag-drop event, which
 * grants nothing (lockdown.e2e.mjs), so the test then waits in vain and says for what. */
export async function dropPaths(browser, paths) {
  await browser.execute(async (paths) => {
    const t = window.__TAURI_INTERNALS__;
    try {
      await t.invoke("test_drop", { paths });
    } catch {
      await t.invoke("plugin:event|emit", { event: "tauri://drag-drop", payload: { paths, position: { x: 400, y: 300 } } });
    }
  }, paths);
}
