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

/** `uid` with its last component replaced by `1` and `n` zero-padded to the same length (a
 *  valid UID of the same length, so the file's element lengths do not change). */
export function sameLength(uid, n) {
  const i = uid.lastIndexOf(".");
  const last = uid.slice(i + 1);
  const digits = String(n).padStart(last.length - 1, "0");
  assert.ok(digits.length === last.length - 1, `${uid}: room for ${n}`);
  return `${uid.slice(0, i + 1)}1${digits}`;
}

/** Writes `to` over every occurrence of `from` (same length) in `buf`; returns how many. */
export function replaceAll(buf, from, to) {
  const a = Buffer.from(from, "latin1");
  const b = Buffer.from(to, "latin1");
  let at = 0;
  let n = 0;
  while ((at = buf.indexOf(a, at)) >= 0) {
    b.copy(buf, at);
    at += b.length;
    n++;
  }
  return n;
}

/** Writes `value` (padded with spaces to the old length) over the value of element
 *  (group,element) of an explicit VR little-endian file, in place; the value must fit. */
export function setValueInPlace(buf, group, element, value) {
  const tag = Buffer.from([group & 0xff, group >> 8, element & 0xff, element >> 8]);
  const at = buf.indexOf(tag, 132);
  assert.ok(at >= 0 && /^[A-Z]{2}$/.test(buf.toString("latin1", at + 4, at + 6)), `(${group.toString(16)},${element.toString(16)}) is in the file, explicit VR`);
  const len = buf.readUInt16LE(at + 6);
  assert.ok(value.length <= len, `${value} fits in ${len} bytes`);
  buf.write(value.padEnd(len, " "), at + 8, len, "latin1");
  return buf.toString("latin1", at + 8, at + 8 + len);
}

/** Writes a minimal single-frame MONOCHROME2 16-bit unsigned DICOM file (explicit VR little
 *  endian, Secondary Capture) of `rows` × `columns` with the given stored values. */
export function writeDicom16(file, rows, columns, values, uidSuffix = "1") {
  const root = "1.2.826.0.1.3680043.10.1145.99";
  const el = (group, element, vr, value) => {
    const body = Buffer.isBuffer(value) ? value : Buffer.from(value.length % 2 ? `${value}${vr === "UI" ? "\0" : " "}` : value, "latin1");
    const long = ["OB", "OW", "UN", "SQ", "UT"].includes(vr);
    const head = Buffer.alloc(long ? 12 : 8);
    head.writeUInt16LE(group, 0);
    head.writeUInt16LE(element, 2);
    head.write(vr, 4, "latin1");
    if (long) head.writeUInt32LE(body.length, 8);
    else head.writeUInt16LE(body.length, 6);
    return Buffer.concat([head, body]);
  };
  const us = (v) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return b;
  };
  const sop = `${root}.3.${uidSuffix}`;
  const metaBody = Buffer.concat([
    el(0x0002, 0x0001, "OB", Buffer.from([0, 1])),
    el(0x0002, 0x0002, "UI", "1.2.840.10008.5.1.4.1.1.7"),
    el(0x0002, 0x0003, "UI", sop),
    el(0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1"),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(metaBody.length);
  const pixels = Buffer.alloc(rows * columns * 2);
  for (let i = 0; i < rows * columns; i++) pixels.writeUInt16LE(values[i] ?? 0, i * 2);
  const data = Buffer.concat([
    el(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.7"),
    el(0x0008, 0x0018, "UI", sop),
    el(0x0008, 0x0060, "CS", "OT"),
    el(0x0010, 0x0010, "PN", "Benchmark^Large"),
    el(0x0010, 0x0020, "LO", "BENCH-1"),
    el(0x0020, 0x000d, "UI", `${root}.1.${uidSuffix}`),
    el(0x0020, 0x000e, "UI", `${root}.2.${uidSuffix}`),
    el(0x0028, 0x0002, "US", us(1)),
    el(0x0028, 0x0004, "CS", "MONOCHROME2"),
    el(0x0028, 0x0010, "US", us(rows)),
    el(0x0028, 0x0011, "US", us(columns)),
    el(0x0028, 0x0100, "US", us(16)),
    el(0x0028, 0x0101, "US", us(16)),
    el(0x0028, 0x0102, "US", us(15)),
    el(0x0028, 0x0103, "US", us(0)),
    el(0x7fe0, 0x0010, "OW", pixels),
  ]);
  fs.writeFileSync(file, Buffer.concat([Buffer.alloc(128), Buffer.from("DICM"), el(0x0002, 0x0000, "UL", groupLength), metaBody, data]));
}
