import { describe, expect, it } from "vitest";
import { parseSelector } from "./dom";

describe("h() selectors", () => {
  it("takes id and classes in any order", () => {
    expect(parseSelector("div.browser#study-browser")).toEqual({ tag: "div", id: "study-browser", classes: ["browser"] });
    expect(parseSelector("div#a.b.c")).toEqual({ tag: "div", id: "a", classes: ["b", "c"] });
    expect(parseSelector("canvas.thumb")).toEqual({ tag: "canvas", id: "", classes: ["thumb"] });
    expect(parseSelector("progress#index-progress")).toEqual({ tag: "progress", id: "index-progress", classes: [] });
  });
});
