// Bounds on what one GraphQL document may ask for: nesting depth and aliases.
// Checked as validation rules, before anything runs; a rejection is a coded validation error.
import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

export const MAX_DEPTH = 12;
export const MAX_ALIASES = 20;

/** Walks an operation (fragments inlined, each at most once per path) and reports depth and alias count. */
function measure(set: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>, depth: number, seen: ReadonlySet<string>): { depth: number; aliases: number } {
  let deepest = depth;
  let aliases = 0;
  for (const s of set.selections) {
    let inner: { depth: number; aliases: number } | undefined;
    if (s.kind === Kind.FIELD) {
      if (s.alias) aliases += 1;
      // Introspection (__schema, __type) is bounded by the schema itself.
      if (s.selectionSet && !s.name.value.startsWith('__')) inner = measure(s.selectionSet, fragments, depth + 1, seen);
      else deepest = Math.max(deepest, depth + 1);
    } else if (s.kind === Kind.INLINE_FRAGMENT) {
      inner = measure(s.selectionSet, fragments, depth, seen);
    } else {
      const fragment = fragments[s.name.value];
      if (fragment && !seen.has(s.name.value)) inner = measure(fragment.selectionSet, fragments, depth, new Set([...seen, s.name.value]));
    }
    if (inner) {
      deepest = Math.max(deepest, inner.depth);
      aliases += inner.aliases;
    }
  }
  return { depth: deepest, aliases };
}

function limitsRule(context: ValidationContext): ASTVisitor {
  const document = context.getDocument();
  const fragments = Object.fromEntries(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  return {
    OperationDefinition(operation) {
      const { depth, aliases } = measure(operation.selectionSet, fragments, 0, new Set());
      const code = { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } };
      if (depth > MAX_DEPTH) context.reportError(new GraphQLError(`query depth ${depth} exceeds the depth limit of ${MAX_DEPTH}`, { nodes: [operation], ...code }));
      if (aliases > MAX_ALIASES) context.reportError(new GraphQLError(`${aliases} aliases exceed the limit of ${MAX_ALIASES}`, { nodes: [operation], ...code }));
    },
  };
}

export function useDocumentLimits(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(limitsRule);
    },
  };
}
