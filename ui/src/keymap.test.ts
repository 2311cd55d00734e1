import { describe, expect, it } from "vitest";
import { keyAction } from "./keymap";

describe("keyboard map", () => {
  it("arrows and pages scroll slices", () => {
    expect(keyAction({ key: "ArrowDown" })).toEqual({ type: "slice", delta: 1 });
    expect(keyAction({ key: "ArrowUp" })).toEqual({ type: "slice", delta: -1 });
    expect(keyAction({ key: "PageDown" })).toEqual({ type: "slice", delta: 10 });
    expect(keyAction({ key: "End" })).toEqual({ type: "sliceTo", where: "last" });
  });
  it("digits 1-9 pick presets, 0 is 1:1", () => {
    expect(keyAction({ key: "1" })).toEqual({ type: "preset", index: 0 });
    expect(keyAction({ key: "9" })).toEqual({ type: "preset", index: 8 });
    expect(keyAction({ key: "0" })).toEqual({ type: "oneToOne" });
  });
  it("letters, case-insensitive", () => {
    expect(keyAction({ key: "i" })).toEqual({ type: "invert" });
    expect(keyAction({ key: "A" })).toEqual({ type: "autoWindow" });
    expect(keyAction({ key: "f" })).toEqual({ type: "fit" });
    expect(keyAction({ key: " " })).toEqual({ type: "cine" });
  });
  it("ctrl shortcuts", () => {
    expect(keyAction({ key: "e", ctrlKey: true })).toEqual({ type: "export" });
    expect(keyAction({ key: "o", metaKey: true })).toEqual({ type: "open" });
    expect(keyAction({ key: "i", ctrlKey: true })).toBeNull();
    expect(keyAction({ key: "x" })).toBeNull();
    expect(keyAction({ key: "1", altKey: true })).toBeNull();
  });
});
