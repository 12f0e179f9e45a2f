// The shield map is the first layer of access control: every root field has
// its own rule and every object type an entry, so nothing is left to the fallback.
import { describe, expect, it } from '@jest/globals';
import { isObjectType } from 'graphql';
import { baseSchema } from '../../src/graphql/schema.js';
import { ruleTree } from '../../src/graphql/permissions.js';

describe('the shield rule map', () => {
  it.each(['Query', 'Mutation', 'Subscription'])('names every field of %s with its own rule', (root) => {
    const type = baseSchema.getType(root);
    if (!isObjectType(type)) throw new Error(`${root} missing`);
    const rules = Object.keys((ruleTree as unknown as Record<string, Record<string, unknown>>)[root] ?? {}).filter((k) => k !== '*');
    expect(rules.sort()).toEqual(Object.keys(type.getFields()).sort());
  });

  it('has an entry for every object type of the schema', () => {
    const objectTypes = Object.values(baseSchema.getTypeMap())
      .filter((t) => isObjectType(t) && !t.name.startsWith('__'))
      .map((t) => t.name);
    expect(Object.keys(ruleTree).sort()).toEqual(objectTypes.sort());
  });
});
