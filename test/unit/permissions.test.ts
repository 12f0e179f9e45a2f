// The shield map is the first layer of access control: every field of every type has a rule
// of its own, so nothing is left to a type-level allow or the fallback, and `allow` is reviewed.
import { describe, expect, it } from '@jest/globals';
import { execute, isObjectType, parse } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { allow, deny, shield } from 'graphql-shield';
import { baseSchema } from '../../src/graphql/schema.js';
import { ruleTree } from '../../src/graphql/permissions.js';
import * as rules from '../../src/graphql/rules.js';

type RuleMap = Record<string, Record<string, unknown>>;
const tree = ruleTree as unknown as RuleMap;

/** Fields that anyone may read, reviewed one by one: public facts, and what signUp hands to a caller without a token. */
const REVIEWED_PUBLIC = [
  'Query.serverInfo',
  'Mutation.signUp',
  'ServerInfo.vectorDimension',
  'ServerInfo.version',
  // What the deployment does with text: a client must know before it sends text alone (no model keys, no URLs).
  'ServerInfo.embedder',
  'ServerInfo.textSearch',
  'EmbedderInfo.provider',
  'EmbedderInfo.model',
  'EmbedderInfo.creditsPerEmbedding',
  'TextSearchInfo.language',
  'TextSearchInfo.stemming',
  'TextSearchInfo.stopWords',
  'TextSearchInfo.tokenizer',
  'SignUpPayload.ownerToken',
  'SignUpPayload.tenant',
];

/** Fields that may go without a rule of their own (none today: add one here only with the reason beside it). */
const REVIEWED_WITHOUT_OWN_RULE: string[] = [];

const ruleNames = new Map<unknown, string>([
  [allow, 'allow'],
  [deny, 'deny'],
  ...Object.entries(rules).map(([name, rule]) => [rule, name] as [unknown, string]),
]);

/** Every (type, field) of the live schema with the rule that guards it ('—' where it has none of its own). */
function guardedFields(): { coordinate: string; rule: string }[] {
  return Object.values(baseSchema.getTypeMap())
    .filter((t) => isObjectType(t) && !t.name.startsWith('__'))
    .flatMap((type) =>
      Object.keys((type as { getFields(): Record<string, unknown> }).getFields()).map((field) => {
        const rule = tree[type.name]?.[field];
        return { coordinate: `${type.name}.${field}`, rule: rule === undefined ? '—' : (ruleNames.get(rule) ?? 'an unnamed rule') };
      }),
    );
}

describe('the shield rule map', () => {
  const fields = guardedFields();
  const table = fields.map((f) => `${f.coordinate}: ${f.rule}`).join('\n');

  it('gives every field of every type a rule of its own', () => {
    const missing = fields.filter((f) => f.rule === '—' && !REVIEWED_WITHOUT_OWN_RULE.includes(f.coordinate)).map((f) => f.coordinate);
    expect(missing).toEqual([]);
  });

  it('names only rules from graphql/rules.ts (or allow and deny), so the table above can be read', () => {
    expect(fields.filter((f) => f.rule === 'an unnamed rule')).toEqual([]);
  });

  it('uses allow only on the reviewed public fields', () => {
    expect(fields.filter((f) => f.rule === 'allow').map((f) => f.coordinate).sort()).toEqual([...REVIEWED_PUBLIC].sort());
  });

  it('has no type-level wildcard but deny on the roots, and no entry for a type or field that does not exist', () => {
    for (const [type, entry] of Object.entries(tree)) {
      const schemaType = baseSchema.getType(type);
      if (!isObjectType(schemaType)) throw new Error(`the rule map names ${type}, which the schema does not have`);
      for (const field of Object.keys(entry)) {
        if (field === '*') expect([type, entry[field]]).toEqual([type, deny]);
        else expect(Object.keys(schemaType.getFields())).toContain(field);
      }
    }
  });

  it('lists every field with the rule that guards it (the snapshot is the reviewed list: a change shows in the diff)', () => {
    expect(table).toMatchSnapshot();
  });

  it('denies a field that has lost its rule (deny by default at run time, not only in this test)', async () => {
    const { version: _dropped, ...rest } = tree.ServerInfo ?? {};
    const weakened = shield({ ...tree, ServerInfo: rest } as never, { fallbackRule: deny, allowExternalErrors: true });
    const schema = applyMiddleware(baseSchema, weakened);
    const contextValue = { viewer: null, services: { config: { vectorDimension: 8, version: '0.0.0' } }, signedUpTenantIds: new Set() };
    const kept = await execute({ schema, document: parse('{ serverInfo { vectorDimension } }'), contextValue });
    expect(kept).toEqual({ data: { serverInfo: { vectorDimension: 8 } } });
    const lost = await execute({ schema, document: parse('{ serverInfo { version } }'), contextValue });
    expect(lost.errors?.[0]?.message).toBe('Not Authorised!');
    expect(lost.data).toBeNull();
  });
});
