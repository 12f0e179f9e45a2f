// Seeded random vectors, so every run (and every path within a run) sees the
// same data and the same queries.

/** The same seeded PRNG the tests use (mulberry32). */
export { seeded as createRng } from '../../test/helpers/vectors.js';

/** A standard normal draw (Box–Muller). */
function gaussian(rng: () => number): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** A random direction in `dim` dimensions, unit length, in float32 (as the store keeps it). */
export function randomUnitVector(rng: () => number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let sum = 0;
  for (let i = 0; i < dim; i++) {
    const x = gaussian(rng);
    v[i] = x;
    sum += x * x;
  }
  const norm = Math.sqrt(sum);
  for (let i = 0; i < dim; i++) v[i] = (v[i] as number) / norm;
  return v;
}

/** Fisher–Yates shuffle in place. */
export function shuffle<T>(items: T[], rng: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
