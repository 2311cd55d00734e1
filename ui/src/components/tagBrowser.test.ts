import { describe, expect, it } from "vitest";
import type { TagEntry } from "../types";
import { filterTags } from "./tagBrowser";

const tags: TagEntry[] = [
  { tag: "(0010,0010)", vr: "PN", keyword: "PatientName", value: "Doe^John", depth: 0 },
  { tag: "(0028,1050)", vr: "DS", keyword: "WindowCenter", value: "40", depth: 0 },
  { tag: "(0008,1140)", vr: "SQ", keyword: "ReferencedImageSequence", value: "1 item(s)", depth: 0 },
];

describe("tag search", () => {
  it("matches by keyword, case-insensitive", () => {
    expect(filterTags(tags, "windowcen").map((t) => t.keyword)).toEqual(["WindowCenter"]);
  });
  it("matches by tag with or without punctuation", () => {
    expect(filterTags(tags, "(0010,0010)").length).toBe(1);
    expect(filterTags(tags, "00100010").length).toBe(1);
    expect(filterTags(tags, "0028,1050")[0]?.keyword).toBe("WindowCenter");
  });
  it("matches values; empty query keeps all", () => {
    expect(filterTags(tags, "doe")[0]?.keyword).toBe("PatientName");
    expect(filterTags(tags, "  ").length).toBe(3);
  });
});
