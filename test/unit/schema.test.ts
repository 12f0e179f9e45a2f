// The committed SDL is the live schema, printed and sorted: clients and the
// contract check read the file, so it must never drift.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { printSortedSchema } from '../../src/graphql/schema.js';

describe('schema/schema.graphql', () => {
  it('equals the live schema (run `npm run schema:print` after changing a type)', () => {
    const committed = readFileSync(new URL('../../schema/schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printSortedSchema());
  });
});
