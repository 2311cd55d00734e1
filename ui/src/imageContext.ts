// What the AI panels need to know about the image on screen, and a feed of its changes.
// The App owns one feed and publishes into it; panels only read and subscribe.
import type { Window } from "./types";

export interface ImageContext {
  readonly path: string;
  /** Frame index within the file (0-based). */
  readonly frame: number;
  /** The window the viewer shows the image with. */
  readonly window: Readonly<Window>;
  readonly sopInstanceUid: string | null;
}

export interface ImageContextSource {
  current(): ImageContext | null;
  /** Calls `f` on every change; returns the unsubscribe function. */
  subscribe(f: (ctx: ImageContext | null) => void): () => void;
}

export function sameContext(a: ImageContext | null, b: ImageContext | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return (
    a.path === b.path &&
    a.frame === b.frame &&
    a.sopInstanceUid === b.sopInstanceUid &&
    a.window.center === b.window.center &&
    a.window.width === b.window.width
  );
}

export class ImageContextFeed implements ImageContextSource {
  private ctx: ImageContext | null = null;
  private readonly subs = new Set<(ctx: ImageContext | null) => void>();

  current(): ImageContext | null {
    return this.ctx;
  }

  subscribe(f: (ctx: ImageContext | null) => void): () => void {
    this.subs.add(f);
    return () => this.subs.delete(f);
  }

  /** Publish the current image; subscribers hear only real changes. */
  publish(ctx: ImageContext | null): void {
    const next = ctx ? Object.freeze({ ...ctx, window: Object.freeze({ center: ctx.window.center, width: ctx.window.width }) }) : null;
    if (sameContext(this.ctx, next)) return;
    this.ctx = next;
    for (const f of [...this.subs]) f(next);
  }
}
