// Helpers shared by the end-to-end tests (viewer.e2e.mjs, ai.e2e.mjs).
import { remote } from "webdriverio";

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
