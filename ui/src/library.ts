// The set of open studies: merging new indexes in without losing what is open.
import type { FileError, Index, Instance, Patient, Series } from "./types";

export interface Library {
  patients: Patient[];
  errors: FileError[];
}

export function emptyLibrary(): Library {
  return { patients: [], errors: [] };
}

/** Merge an index into the library by patient id, study UID, series UID and file path. */
export function mergeIndex(lib: Library, idx: Index): Library {
  const patients = lib.patients.map((p) => ({
    ...p,
    studies: p.studies.map((st) => ({ ...st, series: st.series.map((se) => ({ ...se, instances: [...se.instances] })) })),
  }));
  for (const p of idx.patients) {
    let tp = patients.find((x) => x.id === p.id && x.name === p.name);
    if (!tp) {
      tp = { ...p, studies: [] };
      patients.push(tp);
    }
    for (const st of p.studies) {
      let ts = tp.studies.find((x) => x.uid === st.uid);
      if (!ts) {
        ts = { ...st, series: [] };
        tp.studies.push(ts);
      }
      for (const se of st.series) {
        const tse = ts.series.find((x) => x.uid === se.uid);
        if (!tse) {
          ts.series.push({ ...se, instances: [...se.instances] });
          continue;
        }
        // The same instance reached by two paths (e.g. a copy) is shown once.
        const key = (i: Instance) => i.sop_instance_uid || i.path;
        const known = new Set(tse.instances.map(key));
        const added = se.instances.filter((i) => !known.has(key(i)));
        if (added.length) tse.instances = sortInstances([...tse.instances, ...added]);
      }
    }
  }
  const seen = new Set(lib.errors.map((e) => e.path));
  const errors = [...lib.errors, ...idx.errors.filter((e) => !seen.has(e.path))];
  return { patients, errors };
}

/**
 * Order instances for display. The indexer already sorts each series along the slice
 * normal; after merging two partial indexes of one series we re-sort the same way:
 * by position along the normal when every instance has one, else by instance number.
 */
export function sortInstances(list: Instance[]): Instance[] {
  const withPos = list.every((i) => i.image_position);
  if (withPos && list.length > 1) {
    const a = list[0]!.image_position!;
    const b = list[list.length - 1]!.image_position!;
    let n: [number, number, number] = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    const len = Math.hypot(...n);
    if (len > 0) {
      n = [n[0] / len, n[1] / len, n[2] / len];
      const d = (i: Instance) => {
        const p = i.image_position!;
        return p[0] * n[0] + p[1] * n[1] + p[2] * n[2];
      };
      return [...list].sort((x, y) => d(x) - d(y));
    }
  }
  return [...list].sort((x, y) => (x.instance_number ?? 0) - (y.instance_number ?? 0));
}

export interface SliceRef {
  instance: Instance;
  frame: number;
}

/** The scrollable slices of a series: every frame of every instance, in order. */
export function slicesOf(series: Series): SliceRef[] {
  const out: SliceRef[] = [];
  for (const instance of series.instances) {
    const frames = Math.max(1, instance.frames || 1);
    for (let f = 0; f < frames; f++) out.push({ instance, frame: f });
  }
  return out;
}

export function imageCount(series: Series): number {
  return series.instances.reduce((n, i) => n + Math.max(1, i.frames || 1), 0);
}

export function studyCount(lib: Library): number {
  return lib.patients.reduce((n, p) => n + p.studies.length, 0);
}

export function seriesCount(lib: Library): number {
  return lib.patients.reduce((n, p) => n + p.studies.reduce((m, s) => m + s.series.length, 0), 0);
}
