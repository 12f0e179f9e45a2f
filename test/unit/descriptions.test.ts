// The schema is the frontend's documentation: every type, field, argument, input field and enum value
// says what it means, its limits and its errors. This walks the live schema and names whatever does not.
import { describe, expect, it } from '@jest/globals';
import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isSpecifiedDirective,
  isSpecifiedScalarType,
  type GraphQLArgument,
  type GraphQLSchema,
} from 'graphql';
import { baseSchema } from '../../src/graphql/schema.js';

interface DescriptionReport {
  /** Schema coordinates of every element looked at, e.g. `Query.search(input:)`, `Fusion.RRF`. */
  readonly checked: string[];
  /** The coordinates among them with no description (or only whitespace). */
  readonly undescribed: string[];
}

/** Every element a client sees, skipping introspection (`__*`) and the built-in scalars and directives. */
function describeSchema(schema: GraphQLSchema): DescriptionReport {
  const checked: string[] = [];
  const undescribed: string[] = [];
  const check = (coordinate: string, description: string | null | undefined) => {
    checked.push(coordinate);
    if (!description?.trim()) undescribed.push(coordinate);
  };
  const checkArgs = (owner: string, args: readonly GraphQLArgument[]) => {
    for (const arg of args) check(`${owner}(${arg.name}:)`, arg.description);
  };

  for (const type of Object.values(schema.getTypeMap()).sort((a, b) => a.name.localeCompare(b.name))) {
    if (type.name.startsWith('__') || isSpecifiedScalarType(type)) continue;
    check(type.name, type.description);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        check(`${type.name}.${field.name}`, field.description);
        checkArgs(`${type.name}.${field.name}`, field.args);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) check(`${type.name}.${field.name}`, field.description);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) check(`${type.name}.${value.name}`, value.description);
    }
  }
  for (const directive of schema.getDirectives()) {
    if (isSpecifiedDirective(directive)) continue;
    check(`@${directive.name}`, directive.description);
    checkArgs(`@${directive.name}`, directive.args);
  }
  return { checked, undescribed };
}

describe('schema descriptions', () => {
  const report = describeSchema(baseSchema);

  it('walks types, fields, arguments, input fields and enum values', () => {
    expect(report.checked).toEqual(
      expect.arrayContaining(['Query', 'BigInt', 'Query.search', 'Query.search(input:)', 'Wallet.ledger(first:)', 'SearchInput.k', 'Fusion.RRF']),
    );
    expect(report.checked).not.toContain('String');
    expect(report.checked.some((c) => c.startsWith('__'))).toBe(false);
  });

  it('describes every element of the public schema', () => {
    if (report.undescribed.length > 0) {
      throw new Error(
        `${report.undescribed.length} of ${report.checked.length} schema elements have no description:\n  ${report.undescribed.join('\n  ')}`,
      );
    }
  });
});
