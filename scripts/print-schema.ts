// Writes schema/schema.graphql: the live schema, printed and sorted.
// test/unit/schema.test.ts fails when the committed file drifts from it.
import { writeFileSync } from 'node:fs';
import { printSortedSchema } from '../src/graphql/schema.js';

writeFileSync(new URL('../schema/schema.graphql', import.meta.url), printSortedSchema());
console.log('schema/schema.graphql written');
