import { describe, expect, it } from "vitest";
import { ImageContextFeed } from "./imageContext";

describe("image context feed", () => {
  it("tells subscribers of real changes only, and stops after unsubscribe", () => {
    const feed = new ImageContextFeed();
    const seen: (number | null)[] = [];
    const off = feed.subscribe((c) => seen.push(c ? c.frame : null));
    const a = { path: "/a.dcm", frame: 0, window: { center: 40, width: 400 }, sopInstanceUid: "1.2" };
    feed.publish(a);
    feed.publish({ ...a, window: { ...a.window } }); // same values
    feed.publish({ ...a, frame: 1 });
    feed.publish({ ...a, frame: 1, window: { center: 41, width: 400 } });
    feed.publish(null);
    off();
    feed.publish(a);
    expect(seen).toEqual([0, 1, 1, null]);
    expect(feed.current()?.frame).toBe(0);
  });

  it("hands out a frozen copy", () => {
    const feed = new ImageContextFeed();
    const w = { center: 1, width: 2 };
    feed.publish({ path: "p", frame: 0, window: w, sopInstanceUid: null });
    w.center = 5;
    expect(feed.current()?.window.center).toBe(1);
    expect(Object.isFrozen(feed.current())).toBe(true);
  });
});
