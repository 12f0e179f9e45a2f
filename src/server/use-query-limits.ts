// Bounds on what one GraphQL document may ask for, from graphql-armor: tokens (counted while parsing, so an
// oversize document is never built), depth, aliases, directives and cost (fragments flattened, introspection included).
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { QueryLimits } from '../config/env.js';

type Limit = 'tokens' | 'depth' | 'aliases' | 'directives' | 'cost';

/**
 * graphql-armor words every refusal "Syntax Error: …" and throws it from inside validation. Report it instead as a
 * validation error of our own, coded and naming the limit, so the document's other errors are reported beside it.
 */
function report(limit: Limit) {
  return (context: ValidationContext | null, error: GraphQLError) => {
    const message = error.message.replace(/^Syntax Error: /, '');
    context?.reportError(new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit } }));
  };
}

export function useQueryLimits(limits: QueryLimits, options: { production: boolean; introspection: boolean }) {
  const validated = { propagateOnRejection: false, exposeLimits: true };
  return [
    // Counted token by token as the lexer advances: the parse stops at the limit, never builds the rest.
    maxTokensPlugin({
      n: limits.maxTokens,
      onReject: [
        (_context: unknown, error: GraphQLError) => {
          // Thrown by the parser itself, so it cannot be reported instead: reword and code the error it throws.
          error.message = error.message.replace(/^Syntax Error: /, '');
          Object.assign(error.extensions, { code: 'GRAPHQL_PARSE_FAILED', limit: 'tokens' });
        },
      ],
    }),
    useNestingGuard(),
    maxDepthPlugin({ ...validated, n: limits.maxDepth, flattenFragments: true, ignoreIntrospection: false, onReject: [report('depth')] }),
    maxAliasesPlugin({ ...validated, n: limits.maxAliases, allowList: [], onReject: [report('aliases')] }),
    maxDirectivesPlugin({ ...validated, n: limits.maxDirectives, onReject: [report('directives')] }),
    costLimitPlugin({ ...validated, maxCost: limits.maxCost, flattenFragments: true, ignoreIntrospection: false, onReject: [report('cost')] }),
    ...(options.introspection ? [] : [useNoIntrospection()]),
    // "Did you mean …?" tells a stranger the names of fields it may not see.
    ...(options.production ? [blockFieldSuggestionsPlugin()] : []),
  ];
}

/**
 * The parser recurses once per nesting level, so ten thousand `[` overflow the stack before the token limit is
 * reached. Wraps the (token-limited) parse so that such a document is a parse failure, not an internal error.
 */
function useNestingGuard(): Plugin {
  return {
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) => {
        try {
          return parseFn(source, options);
        } catch (error) {
          if (!(error instanceof RangeError)) throw error;
          throw new GraphQLError('the document nests too deeply to parse', { extensions: { code: 'GRAPHQL_PARSE_FAILED', limit: 'depth' } });
        }
      });
    },
  };
}

function useNoIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
