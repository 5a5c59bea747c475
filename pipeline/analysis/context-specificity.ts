/**
 * How specific the held-out contexts of a direction's eigenvectors are to that direction. A
 * reading's top contexts should say something about its token; in a small model a few positions
 * (the first of a window, the "Once upon" of a story's opening) carry large MLP inputs and top
 * the lists of nearly every eigenvector of every token. A position is **shared** when it is among
 * the top contexts of at least half the directions read (and of at least two); a direction's
 * shared share is the fraction of its top contexts (over all its read eigenvectors) that sit at
 * shared positions. A reading whose contexts are mostly shared says little about its token.
 */
import type { Context, DirectionReading } from './language-readings.ts';

/** A held-out position, as a key: its window and position in it. */
export const positionKey = (c: Pick<Context, 'window' | 'position'>) => `${c.window}:${c.position}`;

export interface SharedPosition {
  key: string;
  /** The text around it, as a context shows it. */
  context: Context;
  /** How many directions have it among their top contexts. */
  directions: number;
}

export interface ContextSpecificity {
  /** Directions read. */
  directions: number;
  /** The fewest directions a position must top to count as shared. */
  threshold: number;
  /** Shared positions, most widely shared first. */
  shared: SharedPosition[];
  /** Per direction (in the readings' order): the share of its top contexts at shared positions. */
  sharedShare: number[];
}

/** The positions each direction's top contexts sit at (each counted once per direction). */
function positionsOf(direction: DirectionReading): Map<string, Context> {
  const at = new Map<string, Context>();
  for (const e of direction.eigenvectors) for (const c of e.contexts) at.set(positionKey(c), c);
  return at;
}

export function contextSpecificity(directions: DirectionReading[]): ContextSpecificity {
  const n = directions.length;
  const threshold = Math.max(2, Math.ceil(n / 2));
  const count = new Map<string, { context: Context; directions: number }>();
  for (const d of directions)
    for (const [key, context] of positionsOf(d)) {
      const seen = count.get(key);
      count.set(key, { context, directions: (seen?.directions ?? 0) + 1 });
    }
  const shared = [...count]
    .filter(([, v]) => v.directions >= threshold)
    .map(([key, v]) => ({ key, context: v.context, directions: v.directions }))
    .sort((a, b) => b.directions - a.directions || a.key.localeCompare(b.key));
  const sharedKeys = new Set(shared.map((s) => s.key));
  const sharedShare = directions.map((d) => {
    const all = d.eigenvectors.flatMap((e) => e.contexts);
    return all.length === 0 ? 0 : all.filter((c) => sharedKeys.has(positionKey(c))).length / all.length;
  });
  return { directions: n, threshold, shared, sharedShare };
}
