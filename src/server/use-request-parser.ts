// How a request becomes GraphQL parameters: a bounded body (refused with 413 PAYLOAD_TOO_LARGE as soon as it is
// known to be too large, never read whole first), and GET parameters whose JSON is checked (BAD_REQUEST, not a 500).
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

function tooLarge(maxBytes: number): GraphQLError {
  return new GraphQLError(`the request body exceeds ${maxBytes} bytes`, {
    extensions: { code: 'PAYLOAD_TOO_LARGE', http: { status: 413 } },
  });
}

function badRequest(message: string, status = 400): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status } } });
}

/** Reads at most maxBytes of the body as text; past that, stops reading and throws. */
async function readBounded(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

function jsonParameter(params: URLSearchParams, name: string): unknown {
  const text = params.get(name);
  if (text === null || text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(`the ${name} parameter is not valid JSON`);
  }
}

/**
 * Replaces Yoga's parsing: POST bodies are read bounded, for the two bodies GraphQL clients send (application/json,
 * the GraphQL-over-HTTP spec, and application/graphql, a bare document); GET parameters are parsed here too.
 */
export function useRequestParser(maxBytes: number): Plugin {
  return {
    onRequestParse({ request, setRequestParser }) {
      if (request.method === 'GET') {
        setRequestParser(async (req) => {
          const params = new URL(req.url).searchParams;
          return {
            query: params.get('query') ?? undefined,
            operationName: params.get('operationName') ?? undefined,
            variables: jsonParameter(params, 'variables') as Record<string, unknown> | undefined,
            extensions: jsonParameter(params, 'extensions') as Record<string, unknown> | undefined,
          };
        });
        return;
      }
      if (request.method !== 'POST') return;
      setRequestParser(async (req) => {
        const type = (req.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
        const isJson = type === 'application/json' || type.endsWith('+json');
        if (!isJson && type !== 'application/graphql') throw badRequest('the body must be application/json (or application/graphql)', 415);
        const text = await readBounded(req, maxBytes);
        if (type === 'application/graphql') return { query: text };
        try {
          return JSON.parse(text);
        } catch {
          throw badRequest('POST body sent invalid JSON.');
        }
      });
    },
  };
}
