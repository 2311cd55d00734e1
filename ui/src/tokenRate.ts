// Live decode figures of a streamed findings draft, from the arrival times of its events.
// A pure reducer: the caller passes the clock readings (performance.now() in the app), so
// the figures are testable. The back end's `Timings` (on "done") stay the reference; these
// are what the panel shows while tokens arrive and when a run ends without "done".

export interface TokenRate {
  /** When the request was sent (ms, same clock as the token times). */
  readonly startMs: number;
  /** Arrival time and index of the first token event; null before it. */
  readonly first: { readonly ms: number; readonly index: number } | null;
  /** Arrival time and index of the latest token event; null before the first. */
  readonly last: { readonly ms: number; readonly index: number } | null;
}

export interface TokenRateStats {
  /** Tokens received so far (highest index + 1, so a coalesced event counts all its tokens). */
  tokens: number;
  /** Time to first token from the request; null before it. */
  ttftMs: number | null;
  /** Decode speed after the first token: (tokens after the first) / (time since the first);
   *  null until a later token has arrived at a later time. */
  tokensPerS: number | null;
}

export function startRate(nowMs: number): TokenRate {
  return { startMs: nowMs, first: null, last: null };
}

/** A token event with `index` (0-based, as in FindingsEvent "token") arrived at `nowMs`. */
export function addToken(r: TokenRate, index: number, nowMs: number): TokenRate {
  const at = { ms: nowMs, index };
  if (!r.first) return { ...r, first: at, last: at };
  if (r.last && index < r.last.index) return r; // out of order: keep the newest
  return { ...r, last: at };
}

export function rateStats(r: TokenRate): TokenRateStats {
  const { first, last } = r;
  if (!first || !last) return { tokens: 0, ttftMs: null, tokensPerS: null };
  const after = last.index - first.index;
  const dt = last.ms - first.ms;
  return {
    tokens: last.index + 1,
    ttftMs: first.ms - r.startMs,
    tokensPerS: after > 0 && dt > 0 ? (after * 1000) / dt : null,
  };
}
