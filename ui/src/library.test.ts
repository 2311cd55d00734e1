import { describe, expect, it } from "vitest";
import { emptyLibrary, imageCount, mergeIndex, seriesCount, slicesOf, studyCount } from "./library";
import type { Index, Instance } from "./types";

function inst(path: string, z: number, frames = 1): Instance {
  return {
    path,
    sop_instance_uid: path,
    sop_class_uid: "1.2.840.10008.5.1.4.1.1.4",
    instance_number: z,
    image_position: [0, 0, z],
    rows: 2,
    columns: 2,
    frames,
    samples_per_pixel: 1,
    bits_allocated: 16,
    photometric: "MONOCHROME2",
    transfer_syntax: "1.2.840.10008.1.2.1",
  };
}

function index(paths: [string, number][], errors: string[] = []): Index {
  return {
    patients: [
      {
        id: "P1",
        name: "Doe^J",
        studies: [
          {
            uid: "1.2",
            date: "20200101",
            time: "",
            description: "MR",
            accession: "",
            series: [{ uid: "1.2.3", modality: "MR", number: 1, description: "T1", instances: paths.map(([p, z]) => inst(p, z)) }],
          },
        ],
      },
    ],
    errors: errors.map((path) => ({ path, error: "truncated" })),
  };
}

describe("library", () => {
  it("merging keeps what is open and adds new slices in order", () => {
    let lib = mergeIndex(emptyLibrary(), index([["a", 1], ["c", 3]], ["bad1"]));
    lib = mergeIndex(lib, index([["b", 2], ["a", 1]], ["bad1", "bad2"]));
    expect(studyCount(lib)).toBe(1);
    expect(seriesCount(lib)).toBe(1);
    const series = lib.patients[0]!.studies[0]!.series[0]!;
    expect(series.instances.map((i) => i.path)).toEqual(["a", "b", "c"]);
    expect(lib.errors.map((e) => e.path)).toEqual(["bad1", "bad2"]);
  });
  it("does not mutate the previous library", () => {
    const a = mergeIndex(emptyLibrary(), index([["a", 1]]));
    mergeIndex(a, index([["b", 2]]));
    expect(a.patients[0]!.studies[0]!.series[0]!.instances.length).toBe(1);
  });
  it("multi-frame instances contribute one slice per frame", () => {
    const s = { uid: "s", modality: "XA", number: 1, description: "", instances: [inst("m", 0, 3), inst("n", 1)] };
    expect(imageCount(s)).toBe(4);
    expect(slicesOf(s).map((x) => `${x.instance.path}:${x.frame}`)).toEqual(["m:0", "m:1", "m:2", "n:0"]);
  });
});
