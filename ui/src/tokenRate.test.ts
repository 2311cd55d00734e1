import { describe, expect, it } from "vitest";
import { addToken, rateStats, startRate } from "./tokenRate";

describe("token rate", () => {
  it("nothing before the first token", () => {
    expect(rateStats(startRate(100))).toEqual({ tokens: 0, ttftMs: null, tokensPerS: null });
  });

  it("time to first token from the request; no rate from one token", () => {
    const r = addToken(startRate(1000), 0, 1812.5);
    expect(rateStats(r)).toEqual({ tokens: 1, ttftMs: 812.5, tokensPerS: null });
  });

  it("rate counts the tokens after the first over the time since the first", () => {
    let r = startRate(0);
    r = addToken(r, 0, 500); // ttft 500 ms, not part of the rate
    r = addToken(r, 1, 550);
    r = addToken(r, 2, 600);
    r = addToken(r, 3, 650);
    r = addToken(r, 4, 700);
    const s = rateStats(r);
    expect(s.tokens).toBe(5);
    expect(s.ttftMs).toBe(500);
    expect(s.tokensPerS).toBeCloseTo(20, 10); // 4 tokens in 200 ms
  });

  it("a coalesced event counts every token it carries (by index)", () => {
    let r = addToken(startRate(0), 0, 100);
    r = addToken(r, 9, 600); // tokens 1..9 arrived together
    expect(rateStats(r)).toEqual({ tokens: 10, ttftMs: 100, tokensPerS: 18 });
  });

  it("no rate while later tokens arrive at the same instant", () => {
    let r = addToken(startRate(0), 0, 100);
    r = addToken(r, 1, 100);
    expect(rateStats(r).tokensPerS).toBeNull();
  });

  it("an out-of-order event does not move the figures back", () => {
    let r = addToken(startRate(0), 0, 100);
    r = addToken(r, 5, 200);
    const before = rateStats(r);
    r = addToken(r, 3, 300);
    expect(rateStats(r)).toEqual(before);
  });

  it("matches the back end's formula (n - 1) / decode time", () => {
    let r = startRate(0);
    for (let i = 0; i < 101; i++) r = addToken(r, i, 250 + i * 40); // 25 tokens/s after the first
    expect(rateStats(r).tokensPerS).toBeCloseTo(25, 10);
  });
});
