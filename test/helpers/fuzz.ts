// Building blocks for the property-based fuzz suite (test/api/fuzz.test.ts): raw JSON that can say what
// JSON.stringify cannot (1e309, NaN), GraphQL literals, one HTTP exchange with the in-process server (JSON, SSE or
// multipart answers), the checks every answer must pass, and a random document builder driven by the schema.
import fc from 'fast-check';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  parse,
  visit,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';

// ---- Raw JSON ---------------------------------------------------------------------------------------------

/** A JSON token written exactly as given (`1e309`, `NaN`, `-0`, 30 digits), for bodies JSON.stringify cannot write. */
export class Raw {
  constructor(readonly text: string) {}
  [fc.toStringMethod](): string {
    return `raw(${JSON.stringify(this.text.length > 80 ? `${this.text.slice(0, 80)}…(${this.text.length} chars)` : this.text)})`;
  }
}
export const raw = (text: string): Raw => new Raw(text);

/** A value filled in when the request is sent (a fresh email, key, idempotency key), so that a repeat stays new. */
export class Fresh {
  constructor(readonly kind: 'email' | 'key' | 'idem' | 'id' | 'uuid' | 'spareTokenId') {}
  [fc.toStringMethod](): string {
    return `fresh(${this.kind})`;
  }
}
export const fresh = (kind: Fresh['kind']): Fresh => new Fresh(kind);

/** An enum value: a bare name in a GraphQL literal, a string in JSON. */
export class Enum {
  constructor(readonly name: string) {}
  [fc.toStringMethod](): string {
    return `enum(${this.name})`;
  }
}

export type FreshResolver = (f: Fresh) => string;

/** JSON text of a value: Raw as written, Fresh resolved, non-finite numbers as `NaN`/`1e309` (not valid JSON for NaN). */
export function toJson(value: unknown, resolve: FreshResolver): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof Fresh) return JSON.stringify(resolve(value));
  if (value instanceof Enum) return JSON.stringify(value.name);
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? '1e309' : '-1e309';
    return Object.is(value, -0) ? '-0' : JSON.stringify(value);
  }
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map((v) => toJson(v, resolve)).join(',')}]`;
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) if (v !== undefined) parts.push(`${JSON.stringify(k)}:${toJson(v, resolve)}`);
    return `{${parts.join(',')}}`;
  }
  return 'null';
}

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** The same value as a GraphQL literal (strings JSON-escaped, which GraphQL reads the same way). */
export function toLiteral(value: unknown, resolve: FreshResolver): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof Fresh) return JSON.stringify(resolve(value));
  if (value instanceof Enum) return value.name;
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? '1e309' : '-1e309';
    return Object.is(value, -0) ? '-0' : String(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map((v) => toLiteral(v, resolve)).join(', ')}]`;
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      // A key that is no GraphQL name cannot be written as one: written quoted, the document does not parse.
      parts.push(`${GRAPHQL_NAME.test(k) ? k : JSON.stringify(k)}: ${toLiteral(v, resolve)}`);
    }
    return `{${parts.join(', ')}}`;
  }
  return 'null';
}

/** JSON nested `depth` levels, written out (JSON.stringify itself would recurse). */
export const nestedObjectText = (depth: number, leaf = '1') => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
export const nestedArrayText = (depth: number, leaf = '1') => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;

// ---- One exchange -----------------------------------------------------------------------------------------

export interface WireError {
  message?: unknown;
  extensions?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface Answer {
  status: number;
  contentType: string;
  text: string;
  /** The parsed payloads: one for JSON, one per event for SSE and multipart. */
  payloads: { data?: unknown; errors?: WireError[] }[];
  /** Problems with the answer's form itself (not JSON, …). */
  formProblems: string[];
}

export interface Exchange {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

type Fetch = (url: string, init: RequestInit) => Promise<Response> | Response;

/** How long a stream (a subscription that was accepted) is listened to before it is closed. */
const STREAM_WINDOW_MS = 120;

async function readFor(res: Response, ms: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + ms;
  try {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<'timeout'>((r) => {
          timer = setTimeout(() => r('timeout'), left);
        }),
      ]);
      clearTimeout(timer);
      if (chunk === 'timeout' || chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
      // A stream that has ended says so: SSE with `event: complete`, multipart with its closing boundary.
      if (/event: complete/.test(text) || /\r?\n-----\s*$/.test(text)) break;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text;
}

function parseSse(text: string): { payloads: Answer['payloads']; problems: string[] } {
  const payloads: Answer['payloads'] = [];
  const problems: string[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const lines = block.split(/\r?\n/);
    const event = lines.find((l) => l.startsWith('event:'))?.slice(6).trim();
    const data = lines
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    if (event !== 'next' || data === '') continue;
    try {
      payloads.push(JSON.parse(data) as Answer['payloads'][number]);
    } catch {
      problems.push(`an SSE event that is not JSON: ${data.slice(0, 200)}`);
    }
  }
  return { payloads, problems };
}

function parseMultipart(text: string): { payloads: Answer['payloads']; problems: string[] } {
  const payloads: Answer['payloads'] = [];
  const problems: string[] = [];
  for (const part of text.split(/\r?\n---?\r?\n?|^---?\r?\n/m)) {
    const at = part.search(/\r?\n\r?\n/);
    const body = (at >= 0 ? part.slice(at) : part).trim();
    if (!body.startsWith('{')) continue;
    try {
      payloads.push(JSON.parse(body) as Answer['payloads'][number]);
    } catch {
      // A part cut by the listening window is no answer of the server's.
    }
  }
  return { payloads, problems };
}

export async function exchange(fetch: Fetch, x: Exchange): Promise<Answer> {
  const headers = new Headers();
  for (const [k, v] of Object.entries(x.headers)) headers.set(k, v);
  const res = await fetch(x.url, { method: x.method, headers, ...(x.body !== undefined && x.method !== 'GET' && x.method !== 'HEAD' ? { body: x.body } : {}) });
  const contentType = res.headers.get('content-type') ?? '';
  const formProblems: string[] = [];
  let payloads: Answer['payloads'] = [];
  let text: string;
  if (contentType.includes('text/event-stream')) {
    text = await readFor(res, STREAM_WINDOW_MS);
    const sse = parseSse(text);
    payloads = sse.payloads;
    formProblems.push(...sse.problems);
  } else if (contentType.includes('multipart/mixed')) {
    text = await readFor(res, STREAM_WINDOW_MS);
    const parts = parseMultipart(text);
    payloads = parts.payloads;
    formProblems.push(...parts.problems);
  } else {
    text = await res.text();
    if (text.trim() !== '') {
      if (/json/.test(contentType)) {
        try {
          payloads = [JSON.parse(text) as Answer['payloads'][number]];
        } catch {
          formProblems.push(`a body labelled ${contentType} that is not JSON`);
        }
      } else if (!(x.method === 'GET' && contentType.includes('text/html'))) {
        formProblems.push(`an answer of type ${JSON.stringify(contentType)} that is not JSON: ${text.slice(0, 200)}`);
      }
    }
  }
  return { status: res.status, contentType, text, payloads, formProblems };
}

export function errorsOf(answer: Answer): WireError[] {
  return answer.payloads.flatMap((p) => (Array.isArray(p.errors) ? p.errors : []));
}

/**
 * Whether the call was refused: it answered with errors, and no root field gave a value. (A root `__typename`
 * is not a value of any operation; a multi-field mutation where one field succeeded is not a refusal.)
 */
export function isRejected(answer: Answer): boolean {
  if (errorsOf(answer).length === 0) return false;
  for (const p of answer.payloads) {
    if (p.data === null || p.data === undefined || typeof p.data !== 'object') continue;
    for (const v of Object.values(p.data as Record<string, unknown>)) {
      if (v !== null && v !== undefined && v !== 'Query' && v !== 'Mutation' && v !== 'Subscription') return false;
    }
  }
  return true;
}

// ---- What every answer must satisfy ----------------------------------------------------------------------

/** Internal text no client should ever read in an error: stack frames, paths, SQL, driver and engine messages. */
export const LEAKS: readonly (readonly [string, RegExp])[] = [
  ['a stack frame', /\n\s*at\s+\S|\bat\s+(?:async\s+)?[\w$.<>[\]]+\s+\((?:file:|node:|\/)|\(node:internal|\bat\s+\/\S+:\d+:\d+/],
  ['a source path', /\/src\/|\/test\/|\.ts:\d|\.[cm]?js:\d|node_modules|file:\/\/|\/tmp\//],
  ['SQL', /"Token"|"Invite"|_prisma_migrations|\bSELECT\b|\bINSERT\s+INTO\b|\bUPDATE\s+"|\bDELETE\s+FROM\b|\bRETURNING\b|\bjson_agg\b|\bFROM\s+"|\bWHERE\s+"/],
  [
    // (SQLSTATEs only where they cannot be a number in a legitimate message, such as a query's cost.)
    'a PostgreSQL message',
    /duplicate key value|violates (?:unique|foreign|not-null|check)|syntax error at or near|relation "|column "|invalid byte sequence|unsupported Unicode escape|invalid input syntax|out of range for type|value too long for type|stack depth limit|SQLSTATE|\b(?:22P0\d|42P01|08P01|XX000)\b|PGlite|pglite|postgres/,
  ],
  ['Prisma', /prisma|\bP[1-6]\d{3}\b|Invalid `|driver adapter|DriverAdapter/i],
  ['LanceDB / Arrow', /\blance|\barrow|datafusion|panicked|\bnapi\b|\.lance\b|object_store/i],
  [
    'a JavaScript error',
    /\b(?:RangeError|TypeError|SyntaxError|ReferenceError|EvalError|URIError|AggregateError|LayoutError)\b|Maximum call stack|Cannot read propert|Cannot convert|is not a function|is not iterable|undefined is not|Unexpected token|in JSON at position|Unexpected end of JSON|ECONNREFUSED|ENOENT|EACCES/,
  ],
];

/** Documented error codes (README: Errors, Limits; rate limits). */
export const KNOWN_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'INSUFFICIENT_CREDITS',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
]);

/** Every string a request carried, decoded, to tell an echo of the caller's own input from a leak. */
export function haystackOf(x: Exchange, query: string | undefined): string[] {
  const hay: string[] = [x.url, ...Object.values(x.headers)];
  if (x.body !== undefined) {
    hay.push(x.body);
    try {
      collectStrings(JSON.parse(x.body), hay);
    } catch {
      // Not JSON: the text itself is the haystack.
    }
  }
  try {
    hay.push(decodeURIComponent(x.url));
  } catch {
    // A malformed escape: the URL as written is enough.
  }
  if (query !== undefined) {
    hay.push(query);
    try {
      visit(parse(query, { noLocation: true, maxTokens: 20_000 }), {
        StringValue(node) {
          hay.push(node.value);
        },
        Name(node) {
          hay.push(node.value);
        },
      });
    } catch {
      // A document that does not parse has no literals to decode.
    }
  }
  return hay;
}

function collectStrings(value: unknown, out: string[], depth = 0): void {
  if (depth > 200) return;
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) collectStrings(v, out, depth + 1);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      collectStrings(v, out, depth + 1);
    }
}

/** Why this answer breaks the rules: an error without a code, INTERNAL_SERVER_ERROR, internal text, a 5xx. */
export function answerProblems(answer: Answer, hay: readonly string[]): string[] {
  const problems = [...answer.formProblems];
  if (answer.status >= 500) problems.push(`HTTP ${answer.status}`);
  const echoed = (text: string) => hay.some((h) => h.includes(text));
  for (const error of errorsOf(answer)) {
    const code = error.extensions?.code;
    if (typeof code !== 'string' || code === '') problems.push(`an error without extensions.code: ${JSON.stringify(error).slice(0, 300)}`);
    if (code === 'INTERNAL_SERVER_ERROR') problems.push(`INTERNAL_SERVER_ERROR: ${JSON.stringify(error).slice(0, 300)}`);
    const message = typeof error.message === 'string' ? error.message : '';
    if (typeof error.message !== 'string') problems.push(`an error whose message is not a string: ${JSON.stringify(error).slice(0, 300)}`);
    if (message.includes('Unexpected error.') && code !== 'INTERNAL_SERVER_ERROR') problems.push(`"Unexpected error." coded ${String(code)}`);
    for (const key of ['stack', 'stacktrace', 'exception', 'originalError']) {
      if (error.extensions && key in error.extensions) problems.push(`extensions.${key} sent to the client`);
      if (key in error) problems.push(`error.${key} sent to the client`);
    }
    const { code: _code, ...extensions } = error.extensions ?? {};
    const texts = [message, JSON.stringify(extensions)];
    for (const text of texts) {
      for (const [what, pattern] of LEAKS) {
        const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
        for (const m of text.matchAll(global)) {
          if (!echoed(m[0])) problems.push(`${what} in an error (${JSON.stringify(m[0])}): ${JSON.stringify(text.slice(0, 400))}`);
        }
      }
    }
  }
  return problems;
}

// ---- Random documents from the schema --------------------------------------------------------------------

/** Choices drawn from a list of numbers that fast-check generates and shrinks: fewer, smaller numbers → a simpler document. */
export class Chooser {
  private i = 0;
  constructor(private readonly xs: readonly number[]) {}
  next(n: number): number {
    if (n <= 1) return 0;
    const v = this.xs[this.i++] ?? 0;
    return v % n;
  }
  /** True with about pct % probability (never once the numbers run out). */
  chance(pct: number): boolean {
    if (this.i >= this.xs.length) return false;
    return this.next(100) < pct;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.next(items.length)] as T;
  }
}

export interface DocValues {
  /** A value for an argument or input field, by its name and named type; `valid` asks for a well-formed one. */
  value(ch: Chooser, name: string, typeName: string, valid: boolean): unknown;
  /** Mutation fields never chosen (ones that would remove what the harness itself stands on). */
  readonly skipMutations?: ReadonlySet<string>;
}

export interface BuiltDocument {
  query: string;
  variables: Record<string, unknown>;
  operationName?: string;
  operation: 'query' | 'mutation' | 'subscription';
  /** Built without deliberate mistakes (it should pass validation; its values may still be refused). */
  strict: boolean;
}

const SLOPPY_ALIASES = ['same', 'same', 'data', 'errors', '__typename2', '_a'];
const DIRECTIVES = ['@include(if: true)', '@skip(if: false)', '@include(if: false)', '@skip(if: true)'];
const BAD_DIRECTIVES = ['@deprecated', '@nope', '@include', '@include(if: $missing)', '@skip(if: "yes")', '@include(if: true) @include(if: true)'];

/**
 * A random document over the real schema: random root fields, nested selections, aliases, inline and named
 * fragments, directives, arguments as literals or variables. Half the documents are strict (only valid
 * constructs, mostly well-formed values, so they reach the resolvers); the other half also make mistakes: an
 * unknown field, a leaf with a selection, a missing selection, a wrong variable type, a conflicting alias, a
 * depth past the limit. Once the choices run out every choice is the plainest one, so shrinking converges on a
 * small valid document.
 */
export function buildDocument(schema: GraphQLSchema, ch: Chooser, values: DocValues, resolve: FreshResolver): BuiltDocument {
  const sloppy = ch.chance(50);
  /** A deliberate mistake, only in sloppy documents. */
  const oops = (pct: number) => sloppy && ch.chance(pct);
  const opPick = ch.next(10);
  const operation: BuiltDocument['operation'] = opPick < 5 ? 'query' : opPick < 9 ? 'mutation' : 'subscription';
  const root = operation === 'query' ? schema.getQueryType() : operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  const variables: Record<string, unknown> = {};
  const definitions: string[] = [];
  const fragments: string[] = [];
  let varCount = 0;
  let aliasCount = 0;
  // Response names already used per parent type (fragments merge into their parent's selection).
  const usedByType = new Map<string, Set<string>>();
  const maxDepth = oops(10) ? 16 : 2 + ch.next(5);

  const argument = (name: string, type: GraphQLInputType): string => {
    if (ch.chance(30)) {
      const v = `v${varCount++}`;
      let declared = String(type);
      const twist = sloppy ? ch.next(20) : 0;
      if (twist === 1) declared = declared.replace(/!$/, '');
      else if (twist === 2) declared = `${declared.replace(/!$/, '')}!`;
      else if (twist === 3) declared = ch.pick(['String', 'Int', 'Float', 'JSON', 'Foo', '[String]', 'ID!', 'Boolean']);
      definitions.push(`$${v}: ${declared}`);
      const presence = sloppy ? ch.next(20) : 0;
      if (presence === 1) return `$${v}`; // declared, never given
      variables[v] = presence === 2 ? values.value(ch, 'wrongType', 'Wrong', false) : inputValue(name, type);
      return `$${v}`;
    }
    return toLiteral(inputValue(name, type), resolve);
  };

  /** A value of an input type: its real shape, with (in sloppy documents) a null, a missing field or a wrong shape. */
  const inputValue = (name: string, type: GraphQLInputType): unknown => {
    if (isNonNullType(type)) return oops(3) ? null : inputValue(name, type.ofType);
    if (oops(2)) return null;
    if (isListType(type)) {
      if (name === 'vector' || name === 'records' || name === 'ids' || name === 'domains' || name === 'kinds' || name === 'mounts') {
        const special = values.value(ch, name, 'List', !sloppy);
        if (special !== undefined) return special;
      }
      if (oops(5)) return inputValue(`${name}[]`, type.ofType); // a single value where a list is expected
      return Array.from({ length: ch.next(4) }, () => inputValue(`${name}[]`, type.ofType));
    }
    if (isInputObjectType(type)) {
      const out: Record<string, unknown> = {};
      for (const field of Object.values(type.getFields())) {
        const required = isNonNullType(field.type) && field.defaultValue === undefined;
        if (required ? !oops(3) : ch.chance(45)) out[field.name] = inputValue(field.name, field.type);
      }
      if (oops(3)) out[ch.pick(['nope', 'domain', 'tenantId', '__proto__'])] = 'x';
      return out;
    }
    if (isEnumType(type)) {
      if (oops(8)) return new Enum(ch.pick(['NOPE', 'read', 'Domain', 'null']));
      return new Enum(ch.pick(type.getValues()).name);
    }
    return values.value(ch, name, getNamedType(type).name, !sloppy && !ch.chance(40));
  };

  const objectTypes = Object.values(schema.getTypeMap()).filter(isObjectType).filter((t) => !t.name.startsWith('__'));

  const selection = (type: GraphQLObjectType, depth: number, count = 1 + ch.next(3)): string => {
    const fields = (Object.values(type.getFields()) as GraphQLField<unknown, unknown>[]).filter(
      (f) => type !== schema.getMutationType() || !values.skipMutations?.has(f.name),
    );
    const parts: string[] = [];
    for (let i = 0; i < count; i++) {
      // 0 (the plainest choice, and what runs out to) is a field; the rest are the other constructs.
      const roll = !sloppy && type === schema.getSubscriptionType() ? 0 : ch.next(100);
      if (roll >= 94 && depth < maxDepth) {
        const on = oops(20) ? ch.pick(objectTypes) : type;
        parts.push(`... on ${on.name} { ${selection(on, depth + 1)} }`);
        continue;
      }
      if (roll >= 89 && depth < maxDepth) {
        const name = `F${fragments.length}`;
        const index = fragments.push('') - 1;
        fragments[index] = `fragment ${name} on ${type.name} { ${selection(type, depth + 1)} }`;
        parts.push(`...${name}`);
        continue;
      }
      if (roll >= 86 && (sloppy || type !== schema.getSubscriptionType())) {
        parts.push(sloppy ? ch.pick(['nope', '...Missing', 'id', '__schema { queryType { name } }', '__type(name: "Query") { name }']) : '__typename');
        continue;
      }
      const field = ch.pick(fields);
      let text = field.name;
      // The same field twice in one selection needs an alias unless both ask the same (a sloppy conflict otherwise).
      const used = usedByType.get(type.name) ?? new Set<string>();
      usedByType.set(type.name, used);
      if (ch.chance(15) || (!sloppy && used.has(field.name))) text = `${sloppy && ch.chance(30) ? ch.pick(SLOPPY_ALIASES) : `a${aliasCount++}`}: ${field.name}`;
      else used.add(field.name);
      const args: string[] = [];
      for (const arg of field.args) {
        const required = isNonNullType(arg.type) && arg.defaultValue === undefined;
        if (required ? !oops(3) : ch.chance(40)) args.push(`${arg.name}: ${argument(arg.name, arg.type)}`);
      }
      if (oops(2)) args.push('nope: 1');
      if (args.length) text += `(${args.join(', ')})`;
      if (ch.chance(4)) text += ` ${oops(40) ? ch.pick(BAD_DIRECTIVES) : ch.pick(DIRECTIVES)}`;
      const named = getNamedType(field.type);
      if (isLeafType(named)) {
        if (oops(2)) text += ' { id }';
      } else if (isObjectType(named)) {
        if (!oops(2)) text += depth >= maxDepth ? ' { __typename }' : ` { ${selection(named, depth + 1)} }`;
      }
      parts.push(text);
    }
    return parts.join(' ');
  };

  // A subscription has exactly one root field (more is a validation error: a sloppy mistake).
  const rootCount = operation === 'subscription' && !oops(20) ? 1 : 1 + ch.next(3);
  const body = root ? selection(root, 1, rootCount) : 'serverInfo { version }';
  const name = ch.chance(30) ? ch.pick(['Fuzz', 'A', 'query', 'B']) : undefined;
  const head = `${operation}${name ? ` ${name}` : ''}${definitions.length ? `(${definitions.join(', ')})` : ''}`;
  const query = [`${head} { ${body} }`, ...fragments].join('\n');
  const operationName = oops(20) ? ch.pick(['Fuzz', 'Other', '']) : name !== undefined && ch.chance(50) ? name : undefined;
  return { query, variables, ...(operationName !== undefined ? { operationName } : {}), operation, strict: !sloppy };
}
