// Deterministic vectors for tests, and the brute-force oracle fused search must match.

/** A seeded PRNG (mulberry32), so a failing test fails the same way twice. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller). */
export function gaussian(rng: () => number): number {
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

export function randomVector(rand: () => number, dim: number): number[] {
  return Array.from({ length: dim }, () => rand() * 2 - 1);
}

export function cosineDistance(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return 1 - dot / Math.sqrt(na * nb);
}

export interface OracleItem {
  id: string;
  store: string;
  vector: number[];
}

/** Exact top-k by cosine distance over every item, as if all stores were one table. */
export function oracleTopK(items: readonly OracleItem[], query: readonly number[], k: number): { id: string; distance: number }[] {
  return items
    .map((it) => ({ id: it.id, distance: cosineDistance(it.vector, query) }))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, k);
}

/** Reciprocal-rank fusion: each store ranked on its own, score 1/(60 + rank). */
export function oracleRrf(items: readonly OracleItem[], query: readonly number[], k: number): { id: string; score: number }[] {
  const byStore = new Map<string, { id: string; distance: number }[]>();
  for (const it of items) {
    const list = byStore.get(it.store) ?? [];
    list.push({ id: it.id, distance: cosineDistance(it.vector, query) });
    byStore.set(it.store, list);
  }
  const scored: { id: string; score: number; distance: number }[] = [];
  for (const list of byStore.values()) {
    list.sort((a, b) => a.distance - b.distance);
    list.slice(0, k).forEach((h, i) => scored.push({ id: h.id, score: 1 / (60 + i + 1), distance: h.distance }));
  }
  return scored.sort((a, b) => b.score - a.score || a.distance - b.distance).slice(0, k);
}
