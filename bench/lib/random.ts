// Seeded random vectors, so every run (and every path within a run) sees the
// same data and the same queries.

/** The same seeded PRNG the tests use (mulberry32). */
export { seeded as createRng, randomUnitVector } from '../../test/helpers/vectors.js';

/** Fisher–Yates shuffle in place. */
export function shuffle<T>(items: T[], rng: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
