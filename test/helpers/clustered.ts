// Seeded vectors clustered like real embeddings, for index tests and benchmarks: uniform
// random vectors have no neighbourhoods, so ANN recall measured on them means little.
import { gaussian, randomUnitVector, seeded } from './vectors.js';

export interface ClusteredOptions {
  seed: number;
  dim: number;
  /** Number of cluster centres (random unit directions). */
  clusters: number;
  /**
   * Length of a point's noise relative to its unit centre (per-dimension sigma is
   * spread / sqrt(dim)). Each cluster scales it by its own factor in [0.5, 1.5),
   * so some topics are tight and some loose.
   */
  spread: number;
  /**
   * Sub-topics per cluster (default 1: none). Each is its centre plus noise of
   * length `subSpread`, renormalised; points then scatter around a sub-topic, which
   * gives the multi-scale neighbourhoods real embeddings have.
   */
  subclusters?: number;
  subSpread?: number;
}

export interface ClusteredSource {
  /** One unit-length float32 vector: a random centre plus fresh gaussian noise. */
  next(): Float32Array;
  /** `n` calls of next(). */
  vectors(n: number): Float32Array[];
}


/** `centre` plus gaussian noise of per-dimension `sigma`, normalised to unit length. */
function jitter(centre: Float32Array, sigma: number, rng: () => number): Float32Array {
  const v = new Float32Array(centre.length);
  let sum = 0;
  for (let i = 0; i < centre.length; i++) {
    const x = (centre[i] as number) + sigma * gaussian(rng);
    v[i] = x;
    sum += x * x;
  }
  const norm = Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / norm;
  return v;
}

/**
 * Stored rows and queries come from the same source (or two sources with the same
 * seed for the centres, see `noiseSeed`): a query is fresh noise around a random
 * centre, never a copy of a stored point.
 */
export function createClusteredSource(options: ClusteredOptions & { noiseSeed?: number }): ClusteredSource {
  const { dim, clusters, spread } = options;
  const centreRng = seeded(options.seed);
  const subclusters = options.subclusters ?? 1;
  const subSigma = (options.subSpread ?? 0) / Math.sqrt(dim);
  const centres: Float32Array[] = [];
  const sigmas: number[] = [];
  for (let c = 0; c < clusters; c++) {
    const top = randomUnitVector(centreRng, dim);
    const sigma = (spread * (0.5 + centreRng())) / Math.sqrt(dim);
    for (let s = 0; s < subclusters; s++) {
      centres.push(subclusters === 1 ? top : jitter(top, subSigma, centreRng));
      sigmas.push(sigma);
    }
  }
  const rng = seeded(options.noiseSeed ?? options.seed + 1);

  const next = (): Float32Array => {
    const c = Math.floor(rng() * centres.length);
    return jitter(centres[c] as Float32Array, sigmas[c] as number, rng);
  };

  return { next, vectors: (n) => Array.from({ length: n }, next) };
}
