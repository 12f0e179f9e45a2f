// Seeded synthetic texts for full-text benchmarks: made-up words drawn Zipf-like (rank r weighs 1/r), so BM25 meets
// posting lists as long as real notes give it, from words in most records down to words in a few dozen.
import { createRng } from './random.js';

// Consonant-vowel syllables; no e or y, so English stemming leaves the words whole and none is a stop word.
const CONSONANTS = 'bdfgklmnprstvz';
const VOWELS = 'aiou';

export interface TextSourceOptions {
  /** Seeds the vocabulary: sources with the same one share their words and ranks. */
  vocabularySeed: number;
  /** Seeds the draws: records and queries use different ones. */
  seed: number;
  /** Words in the vocabulary (default 4000). */
  words?: number;
}

export interface TextSource {
  /** A record's text: 8 to 16 words, each drawn Zipf-like from the whole vocabulary. */
  record(): string;
  /** A query: one common word (Zipf-like among the 100 commonest) and one or two drawn uniformly (mostly rare). */
  query(): string;
}

function vocabulary(seed: number, size: number): string[] {
  const rng = createRng(seed);
  const pick = (letters: string) => letters[Math.floor(rng() * letters.length)] as string;
  const words = new Set<string>();
  while (words.size < size) {
    const syllables = 2 + Math.floor(rng() * 3);
    let word = '';
    for (let i = 0; i < syllables; i++) word += pick(CONSONANTS) + pick(VOWELS);
    words.add(word);
  }
  return [...words];
}

/** Cumulative 1/r weights of the first n ranks, normalised to end at 1. */
function zipfCdf(n: number): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) cdf[r] = sum += 1 / (r + 1);
  for (let r = 0; r < n; r++) cdf[r] = (cdf[r] as number) / sum;
  return cdf;
}

/** The first rank whose cumulative weight reaches u (binary search). */
function rankOf(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cdf[mid] as number) < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function createTextSource(options: TextSourceOptions): TextSource {
  const words = vocabulary(options.vocabularySeed, options.words ?? 4000);
  const all = zipfCdf(words.length);
  const common = zipfCdf(Math.min(100, words.length));
  const rng = createRng(options.seed);
  const word = (cdf: Float64Array) => words[rankOf(cdf, rng())] as string;
  return {
    record() {
      const n = 8 + Math.floor(rng() * 9);
      return Array.from({ length: n }, () => word(all)).join(' ');
    },
    query() {
      const rare = 1 + Math.floor(rng() * 2);
      return [word(common), ...Array.from({ length: rare }, () => words[Math.floor(rng() * words.length)] as string)].join(' ');
    },
  };
}
