// Full-text search of a store: its BM25 (inverted) index on `text`, made with the table and kept by the index
// lifecycle, and the query every text search runs. Rows outside the index are searched flat beside it by LanceDB,
// whose flat BM25 misses matches when the index is small: small stores are kept covered (indexes.ts coverText).
import { createHash } from 'node:crypto';
import * as lancedb from '@lancedb/lancedb';
import type { TextSettings } from '../config/env.js';
import { recordFilter, type RecordFilterSpec } from './sql.js';
import { searchColumns } from './table-schema.js';

export const TEXT_INDEX_PREFIX = 'text_fts_';

/** The index's name carries its settings, so a deployment that changes language or tokenizer rebuilds it. */
export function textIndexName(settings: TextSettings): string {
  const digest = createHash('sha256').update(JSON.stringify([settings.language, settings.stem, settings.removeStopWords, settings.tokenizer])).digest('hex');
  return `${TEXT_INDEX_PREFIX}${digest.slice(0, 12)}`;
}

/** Builds (or replaces) the store's full-text index with the deployment's settings. */
export async function createTextIndex(table: lancedb.Table, settings: TextSettings): Promise<void> {
  const config = lancedb.Index.fts({
    baseTokenizer: settings.tokenizer,
    language: settings.language,
    stem: settings.stem,
    removeStopWords: settings.removeStopWords,
    // Case and accents never matter ("Café" finds "cafe"); the exact phrase is checked here, not by positions.
    lowercase: true,
    asciiFolding: true,
    withPosition: false,
    // Bigrams and trigrams: scripts written without spaces (CJK) are searchable by any two characters.
    ngramMinLength: 2,
    ngramMaxLength: 3,
  });
  await table.createIndex('text', { config, name: textIndexName(settings), replace: true });
}

export interface TextQuery {
  text: string;
  /** Rows fetched: more than the hits wanted, so that the exact-phrase boost can reorder them. */
  limit: number;
  filter?: RecordFilterSpec;
  /** Read the vector too (to report a distance, or because it was asked for). */
  withVectors: boolean;
}

/** The BM25 query: any of the query's words, ranked by LanceDB's BM25 over the store's own statistics. */
export function textQuery(table: lancedb.Table, query: TextQuery): lancedb.Query {
  const q = table
    .query()
    .fullTextSearch(new lancedb.MatchQuery(query.text, 'text'))
    .limit(query.limit)
    .select(searchColumns(query.withVectors, '_score'));
  const where = query.filter ? recordFilter(query.filter) : undefined;
  return where ? q.where(where) : q;
}

/** True for LanceDB's refusal to search text in a table without a full-text index (a store made before them). */
export function isMissingTextIndex(error: unknown): boolean {
  return /full text search unless an INVERTED index/i.test(String(error));
}

/** The words of a text as the phrase check compares them: accents folded, case lowered, split on non-letters. */
export function phraseWords(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '')
    .join(' ');
}

/** Whether `text` holds the words of `phrase` (already phraseWords) together and in order. */
export function holdsPhrase(text: string | null, phrase: string): boolean {
  if (text === null || phrase === '') return false;
  return ` ${phraseWords(text)} `.includes(` ${phrase} `);
}
