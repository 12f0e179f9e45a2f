// Property-based fuzzing (fast-check) of every input through the public API, on both control-plane backends.
// For every generated call:
//   1. no INTERNAL_SERVER_ERROR (nor HTTP 5xx), and every error has an extensions.code;
//   2. no internal text in any error: stack frames, source paths, SQL, PostgreSQL/Prisma/LanceDB/Arrow messages,
//      JS error names (an echo of the caller's own input is not a leak);
//   3. a refused call (errors, and no root field with a value) changes nothing: tenants, identities, wallets and
//      balances, ledger, domains, surfaces, mounts, tokens and invites (one SQL statement), every committed
//      version of every LanceDB table (a commit always adds one), and what the base stores hold as the API reads
//      it (the owner's domain(key) { recordCount } and searches of the domain, global and private stores).
// A call that succeeded may change state; the snapshot is then taken again before the next call.
//
// Bounded: NEXUS_FUZZ_RUNS runs per property (default 60), no new case after NEXUS_FUZZ_TIME_MS per property
// (default 3 s), then up to NEXUS_FUZZ_SHRINK_MS (15 s) to shrink a failure. `npm run test:fuzz` is the long run.
// The seed is printed once; NEXUS_FUZZ_SEED=<seed> replays the same cases (add -t "<property>" for one property,
// NEXUS_FUZZ_BACKEND=pglite for one backend). A failure prints fast-check's shrunk counterexample, then the
// request as sent and the answer.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { Kind, parse, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import { baseSchema } from '../../src/graphql/schema.js';
import { addSurface, signUpTenant, type TestSurface, type TestTenant } from '../helpers/fixtures.js';
import { backends, startNexus, uniqueEmail, type TestNexus } from '../helpers/nexus.js';
import {
  Chooser,
  Enum,
  Fresh,
  KNOWN_CODES,
  answerProblems,
  buildDocument,
  errorsOf,
  exchange,
  fresh,
  haystackOf,
  isRejected,
  nestedArrayText,
  nestedObjectText,
  raw,
  toJson,
  toLiteral,
  type Answer,
  type DocValues,
  type Exchange,
} from '../helpers/fuzz.js';

const RUNS = Number(process.env.NEXUS_FUZZ_RUNS ?? 60);
const SEED = Number(process.env.NEXUS_FUZZ_SEED ?? Date.now() % 2 ** 31);
/** Time for new cases per property: 3 s by default, up to a minute for the long run (`npm run test:fuzz`). */
const TIME_MS = Number(process.env.NEXUS_FUZZ_TIME_MS ?? (RUNS <= 100 ? 3000 : Math.min(RUNS * 30, 60_000)));
/** Extra time a failing property gets to shrink its counterexample. */
const SHRINK_MS = Number(process.env.NEXUS_FUZZ_SHRINK_MS ?? 15_000);
const TEST_TIMEOUT = TIME_MS + SHRINK_MS + 30_000;
const DIM = 8;

console.log(`fuzz: seed ${SEED} (replay: NEXUS_FUZZ_SEED=${SEED}), ${RUNS} runs / ${TIME_MS} ms per property`);

// ---- Shared arbitraries ----------------------------------------------------------------------------------

const unit = (i = 0): number[] => Array.from({ length: DIM }, (_, j) => (j === i % DIM ? 1 : 0));
const GOOD_VECTOR = unit(0);

/** Characters that tend to matter: controls, invisibles, bidi, surrogates, look-alikes, quotes, SQL and path bits. */
const SPECIAL = [
  '\u0000', '\u0001', '\u0007', '\t', '\n', '\r', '\u000b', '\u001b', '\u007f', '\u0085', '\u009b', '\u00a0', '\u00ad',
  '\u200b', '\u200d', '\u2028', '\u2029', '\u202e', '\u2066', '\ufeff', '\ufffd', '\ud800', '\udc00', '\ud83d', '\ude00',
  '😀', 'é', 'e\u0301', 'ﬁ', 'Ａ', 'İ', 'ß', "'", '"', '\\', '`', '%', '_', '*', '/', '..', '$', '{', '}', ';', '--', ' ',
  'a', 'Z', '0', '-', '.', ':',
];

const unicodeString = (maxLength = 24): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary-ascii', maxLength }),
    fc.string({ unit: fc.constantFrom(...SPECIAL), maxLength }),
    fc.string({ maxLength }),
  );

/** A value of the wrong JSON type for a field (or a number JSON cannot hold). */
const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
  fc.constantFrom(raw('1e309'), raw('-0'), raw('12345678901234567890123'), raw('[]'), raw('{}')),
);

const sometimesWrong = <T>(arb: fc.Arbitrary<T>, weight = 8): fc.Arbitrary<unknown> =>
  fc.oneof({ weight, arbitrary: arb as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: wrongType });

const BIG = {
  a64k: 'a'.repeat(65536),
  a64k1: 'a'.repeat(65537),
  euro64k: '€'.repeat(21845), // 65,535 bytes
  euro64k1: '€'.repeat(21846), // 65,538 bytes
  emoji64k: '😀'.repeat(16384), // 65,536 bytes
  x5000: 'x'.repeat(5000),
};

// Keys: domain and surface keys, ^[a-z][a-z0-9-]{0,31}$.
const validKey = fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$/);
const KEY_EDGES = [
  '', 'a', 'health', 'business', 'finance', 'sleep', 'vo2', 'dash', 'nope', 'Health', 'HEALTH', 'a'.repeat(32), 'a'.repeat(33),
  '-a', 'a-', '1a', 'a_b', 'a.b', 'a/b', '../a', '..', '.', 'a b', ' health', 'health ', 'health\n', 'héalth', 'ｈealth',
  'health\u0000', 'health\u200b', 'he\u0301alth', '\ud800', BIG.x5000, `a'; DROP TABLE "Domain";--`, 'a"b', 'a\\b', '__proto__',
  'constructor', 'toString', 'null', 'undefined', 'a--b', 'z9', 'health%00', 'health/../finance', 'tabc', 'domains', 'surfaces',
];
const mutatedKey = fc
  .tuple(validKey, fc.nat(40), fc.constantFrom('upper', 'insert', 'prefix-digit', 'prefix-dash', 'space', 'unicode', 'long'), fc.constantFrom(...SPECIAL))
  .map(([key, at, how, c]) => {
    const i = at % (key.length + 1);
    switch (how) {
      case 'upper':
        return key.slice(0, i) + key.slice(i, i + 1).toUpperCase() + key.slice(i + 1);
      case 'insert':
        return key.slice(0, i) + c + key.slice(i);
      case 'prefix-digit':
        return `9${key}`;
      case 'prefix-dash':
        return `-${key}`;
      case 'space':
        return ` ${key} `;
      case 'unicode':
        return key.normalize('NFD').replace(/e/g, 'e\u0301');
      default:
        return key + 'x'.repeat(33 - Math.min(32, key.length));
    }
  });
const keyArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KEY_EDGES) },
  { weight: 3, arbitrary: validKey },
  { weight: 2, arbitrary: mutatedKey },
  { weight: 2, arbitrary: unicodeString(40) },
  { weight: 1, arbitrary: wrongType },
);

// Record ids and kinds.
const ID_EDGES = [
  '', '.a', '-a', '_a', 'a'.repeat(128), 'a'.repeat(129), 'seed-1', 'seed-2', 'seed-b1', 'a b', 'a/b', "a'b", 'a"b', 'a\u0000', 'é', '٣',
  'ａ', '\ud800', "x' OR '1'='1", "x') OR true --", 'id IN (1)', '%', '*', 'null', '0', '00', 'A:B.C-D_E', BIG.x5000,
];
const idArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,130}$/) },
  { weight: 3, arbitrary: fc.constantFrom(...ID_EDGES) },
  { weight: 2, arbitrary: unicodeString(20) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom(1.5, -0, 2 ** 53 + 2, raw('1e21'), raw('12345678901234567890'), raw('-1'), true, null, { id: 'x' }, ['x']) },
);
const KIND_EDGES = [
  '', 'note', 'workout', 'a'.repeat(64), 'a'.repeat(65), '/a', 'a/b', 'a//b', 'a:b.c-d_e', "a'b", 'a"b', 'a\u0000b', 'a b', 'é', '-a',
  "x' OR '1'='1", "kind') OR (kind = 'x", 'NULL', '*', BIG.x5000,
];
const kindArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,66}$/) },
  { weight: 3, arbitrary: fc.constantFrom(...KIND_EDGES) },
  { weight: 2, arbitrary: unicodeString(20) },
  { weight: 1, arbitrary: wrongType },
);

// Free text: record text, names, display names.
const TEXT_EDGES = [
  '', ' ', '\t\n\r', 'a\u0007', 'next\u0085line', 'abc\u2066def', '\u202eevil', '\ud800', '\udfff\ud800', 'ok', 'e\u0301', 'ﬁ', '　',
  BIG.a64k, BIG.a64k1, BIG.euro64k, BIG.euro64k1, BIG.emoji64k, `${BIG.emoji64k}a`, 'a'.repeat(100), 'a'.repeat(101), ` ${'a'.repeat(100)} `,
];
const textArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: unicodeString(120) },
  { weight: 3, arbitrary: fc.constantFrom(...TEXT_EDGES) },
  { weight: 1, arbitrary: wrongType },
);

// Metadata: any JSON, deep, huge numbers, weird keys, the 64 KiB edge.
const weirdKey = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', '', '\u0000', '\ud800', 'a.b', '$where', 'toString', BIG.x5000, 'é', '😀'),
  unicodeString(6),
);
const { metaNode } = fc.letrec<{ metaNode: unknown }>((tie) => ({
  metaNode: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.double(), fc.integer(), fc.boolean(), fc.constant(null)),
    fc.array(tie('metaNode'), { maxLength: 4 }),
    fc.dictionary(weirdKey, tie('metaNode'), { maxKeys: 4 }),
  ),
}));
const metadataArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 6 }) },
  { weight: 3, arbitrary: metaNode },
  { weight: 1, arbitrary: fc.integer({ min: 28, max: 70 }).map((d) => raw(nestedObjectText(d))) },
  { weight: 1, arbitrary: fc.integer({ min: 28, max: 70 }).map((d) => raw(nestedArrayText(d))) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      raw(nestedObjectText(5000)),
      raw(nestedArrayText(20_000)),
      raw('1e400'),
      raw('-1e400'),
      raw('1e-400'),
      raw('123456789012345678901234567890'),
      raw('-0'),
      raw('{"a":1,"a":2}'),
      raw('{"__proto__":{"polluted":true}}'),
      raw('{"constructor":{"prototype":{"x":1}}}'),
      raw('"\\ud800"'),
      raw('{"\\udc00":1}'),
      raw('"\\u0000"'),
      { s: 'a'.repeat(65528) }, // exactly 64 KiB of JSON
      { s: 'a'.repeat(65529) }, // one byte over
      { s: BIG.euro64k },
      Array.from({ length: 20000 }, () => 1),
      { n: Number.MAX_VALUE, m: Number.MIN_VALUE, z: -0 },
    ),
  },
  { weight: 1, arbitrary: wrongType },
);

// Vectors: wrong lengths, non-finite numbers through raw JSON, huge and tiny magnitudes, zeros, non-numbers.
const vectorElement: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 2, arbitrary: fc.constantFrom(0, -0, 1, -1, 1e308, -1e308, 5e-324, -5e-324, 1e-310, 3.4028235e38, 3.5e38, 1e-46, 2 ** 53 + 1, 0.1) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(raw('1e309'), raw('-1e309'), raw('1e-400'), raw('-0.0'), raw('1E308'), raw('0e0'), raw('NaN'), raw('Infinity'), raw('1.'), raw('.5'), raw('01'), raw('0x1'), raw('"1"')),
  },
  { weight: 1, arbitrary: fc.constantFrom('NaN', 'Infinity', '1', '', true, null, [1], {}) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer() },
);
const vectorArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.array(vectorElement, { minLength: DIM, maxLength: DIM }) },
  { weight: 2, arbitrary: fc.array(vectorElement, { maxLength: 20 }) },
  { weight: 2, arbitrary: fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: DIM, maxLength: DIM }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      [],
      [1],
      unit(0).slice(0, DIM - 1),
      [...unit(0), 0],
      Array(1000).fill(1),
      Array(4097).fill(1),
      Array(DIM).fill(0),
      Array(DIM).fill(-0),
      Array(DIM).fill(1e308),
      Array(DIM).fill(-1e308),
      Array(DIM).fill(5e-324),
      [1e308, ...Array(DIM - 1).fill(5e-324)],
      Array(DIM).fill(raw('1e309')),
      [raw('NaN'), ...Array(DIM - 1).fill(1)],
      1,
      null,
      'vector',
      raw('[1,2'),
      [[1, 2, 3, 4, 5, 6, 7, 8]],
      GOOD_VECTOR,
    ),
  },
  { weight: 1, arbitrary: wrongType },
);

// Dates: arbitrary strings and near-valid ISO-8601.
const pad = (n: number, w: number) => String(n).padStart(w, '0');
const nearIso = fc
  .record({
    y: fc.oneof(fc.integer({ min: 0, max: 9999 }).map((y) => pad(y, 4)), fc.constantFrom('0000', '9999', '10000', '999', '+002026', '-0001', '20 26', '２０２６')),
    mo: fc.oneof(fc.integer({ min: 0, max: 13 }).map((m) => pad(m, 2)), fc.constantFrom('1', '001', '٠١')),
    d: fc.oneof(fc.integer({ min: 0, max: 32 }).map((d) => pad(d, 2)), fc.constantFrom('1', '001')),
    time: fc.option(
      fc.record({
        sep: fc.constantFrom('T', 't', ' ', '', '_'),
        h: fc.integer({ min: 0, max: 25 }),
        mi: fc.integer({ min: 0, max: 61 }),
        s: fc.option(fc.integer({ min: 0, max: 61 })),
        frac: fc.option(fc.stringMatching(/^[0-9]{0,12}$/)),
        zone: fc.constantFrom('Z', 'z', '+00:00', '-00:00', '-14:00', '+14:59', '+15:00', '+14:60', '+05:30', '+0530', '+05', '', ' Z', 'UTC', '+24:00', '+1:00'),
      }),
    ),
  })
  .map(({ y, mo, d, time }) => {
    const date = `${y}-${mo}-${d}`;
    if (!time) return date;
    const sec = time.s === null ? '' : `:${pad(time.s, 2)}${time.frac === null ? '' : `.${time.frac}`}`;
    return `${date}${time.sep}${pad(time.h, 2)}:${pad(time.mi, 2)}${sec}${time.zone}`;
  });
const validDate = fc.oneof(
  fc.date({ min: new Date(-62135596800000), max: new Date(253402300799999), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.date({ min: new Date(0), max: new Date(4102444800000), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
);
const DATE_EDGES = [
  '', 'now', 'yesterday', '2024-02-29', '2023-02-29', '2024-02-30', '1970-01-01', '0000-01-01', '0000-02-29', '9999-12-31T23:59:59.999-14:00',
  '0000-01-01T00:00:00+14:00', '2026-01-01T00:00:00.1234567891Z', '2026-W01', '2026-001', '20260101', '2026-01-01T08:00:00Z\n', ' 2026-01-01',
  '2026-01-01T08:00:00', '2026-01-01T24:00:00Z', '+275760-09-13T00:00:00Z', '2026-01-01T08:00:00.Z', 'Thu, 01 Jan 2026 00:00:00 GMT',
];
const dateArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: nearIso },
  { weight: 2, arbitrary: validDate },
  { weight: 2, arbitrary: fc.constantFrom(...DATE_EDGES) },
  { weight: 1, arbitrary: unicodeString(30) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constantFrom(1767225600000, -1, 0)) },
  { weight: 1, arbitrary: wrongType },
);

// Credit amounts.
const amountArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.bigInt({ min: -(10n ** 31n), max: 10n ** 31n }).map(String) },
  { weight: 3, arbitrary: fc.bigInt({ min: 1n, max: 10n ** 15n + 10n }).map(String) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '0', '-0', '1', '-1', '1000000000000000', '1000000000000001', '9'.repeat(30), '9'.repeat(31), '1'.padStart(31, '0'), ' 1', '1 ', '+1',
      '1.0', '1.5', '1e3', '0x10', '١', '１', '', '1_000', '1,000', 'Infinity', 'NaN', '00', '-', '--1', '\u00001', '1\u0000',
      '9223372036854775807', '9223372036854775808', '-9223372036854775809',
    ),
  },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -0, 1e21, 1.5, raw('1e309'), raw('12345678901234567890123456789012345'), raw('1.0'), raw('-0'), raw('1e2')) },
  { weight: 1, arbitrary: wrongType },
);

// Reasons and idempotency keys: full unicode, lone surrogates, controls, the length edges.
const REASON_EDGES = [
  '', ' ', '     ', '\u3000', 'a'.repeat(200), 'a'.repeat(201), 'café', 'cafe\u0301', 'ﬁ', '😀'.repeat(100), '😀'.repeat(101), 'refund\u0085',
  'fee \u202egnp.exe', 'fee \ud800', '\n', 'ok\tok', 'ｋ', 'k\u200b', "'; DROP TABLE \"LedgerEntry\"; --",
];
const reasonArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: unicodeString(60) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 190, maxLength: 210 }) },
  { weight: 3, arbitrary: fc.constantFrom(...REASON_EDGES) },
  { weight: 1, arbitrary: wrongType },
);
const IDEM_EDGES = ['', 'a'.repeat(128), 'a'.repeat(129), 'k\ud800', 'k\udc00', 'k\ufffd', 'ｋey', 'k\u200bey', 'ke\u0000y', 'same-key', ' k', 'k ', 'K', 'fuzz-pool-1', 'fuzz-pool-2'];
const idemArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: unicodeString(40) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 120, maxLength: 135 }) },
  { weight: 3, arbitrary: fc.constantFrom(...IDEM_EDGES) },
  { weight: 2, arbitrary: fc.constant(fresh('idem')) },
  { weight: 1, arbitrary: wrongType },
);

// Emails.
const label63 = 'l'.repeat(63);
const EMAIL_EDGES = [
  '', '@', 'a@b', 'a@b.c', 'a@-b.com', 'a@b-.com', 'a@b..com', 'a@b.com.', '"a"@b.com', 'a b@c.com', 'a@b.com\n', 'a\u0000@b.com', 'a@bü.com',
  'ü@b.com', 'u\u0308@b.com', `${'a'.repeat(242)}@example.com`, `${'a'.repeat(243)}@example.com`, `a@${label63}.com`, `a@${label63}l.com`,
  'A@EXAMPLE.COM', ' a@example.com ', 'a@@example.com', 'a@example.com;b@example.com', 'a@[127.0.0.1]', 'a@localhost', 'a%b@example.com',
  "a'--@example.com", 'ａ@example.com', 'a\u200b@example.com', 'a\ud800@example.com',
];

const kArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -2, max: 1002 }) },
  { weight: 1, arbitrary: fc.integer() },
  {
    weight: 2,
    arbitrary: fc.constantFrom(0, 1, 10, 1000, 1001, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, null, 1.5, 1e21, '10', true, raw('1e309'), raw('1.0'), raw('10e0'), raw('-0')),
  },
);
const intArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: -5, max: 120 }) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.constantFrom(0, 1, -1, 316224000, 316224001, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), null, 1.5, '60', raw('1e309'), raw('60.0'), true, 1e-7) },
);

const scopeArb = fc.constantFrom<unknown>(undefined, new Enum('DOMAIN'), new Enum('SURFACE'), new Enum('GLOBAL'), 'DOMAIN', 'SURFACE', 'GLOBAL', 'domain', 'PRIVATE', '', 1, null);
const accessArb = fc.constantFrom<unknown>('READ', 'READ_WRITE', 'WRITE', 'read', '', null, 1, 'READ_WRITE ');
const surfaceKindArb = fc.constantFrom<unknown>(undefined, 'APP', 'CONNECTOR', 'DASHBOARD', 'app', 'GOD_VIEW', '', null, 1);
const fusionArb = fc.constantFrom<unknown>(undefined, 'DISTANCE', 'RRF', 'rrf', '', null, 1, 'DISTANCE,RRF');
const flagArb = fc.oneof(fc.constantFrom<unknown>(undefined, true, false, null, 'true', 1, 0), wrongType);

// ---- Tokens ----------------------------------------------------------------------------------------------

type TokenName = 'owner' | 'vo2' | 'sleep' | 'dash' | 'spare' | 'revoked' | 'expired' | 'otherOwner' | 'otherSurface' | 'none';
const TOKEN_NAMES: TokenName[] = ['owner', 'vo2', 'sleep', 'dash', 'spare', 'revoked', 'expired', 'otherOwner', 'otherSurface', 'none'];
const anyToken = fc.constantFrom(...TOKEN_NAMES);
/** Mostly the given token, sometimes any other (a surface where the owner is expected, none, another tenant's). */
const mostly = (name: TokenName, weight = 6): fc.Arbitrary<TokenName> => fc.oneof({ weight, arbitrary: fc.constant(name) }, { weight: 1, arbitrary: anyToken });

// ---- One call --------------------------------------------------------------------------------------------

interface Call {
  query?: string;
  /** Variables as a value (serialised with toJson), omitted when undefined. */
  variables?: unknown;
  operationName?: unknown;
  token?: TokenName;
  /** The Authorization header as written, instead of `Bearer <token>`. */
  authorization?: string;
  headers?: Record<string, string>;
  /** The whole body as written (then query/variables are only for the haystack). */
  body?: string;
  contentType?: string | null;
  method?: string;
  /** Query string for GET. */
  search?: string;
  /** A read: it may not change anything even when it succeeds. */
  readOnly?: boolean;
}

/** A GraphQL string literal or another literal of the value (as the client would write it inline). */
const lit = (v: unknown, resolve: (f: Fresh) => string) => toLiteral(v, resolve);

/** Written inline, an enum is a bare name: name-like strings of these fields become enum values. */
function enumify(value: unknown, fields: ReadonlySet<string>, depth = 0): unknown {
  if (depth > 8 || !value || typeof value !== 'object' || value instanceof Fresh || value instanceof Enum) return value;
  if (Array.isArray(value)) return value.map((v) => enumify(v, fields, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = fields.has(k) && typeof v === 'string' && /^[_A-Za-z][_0-9A-Za-z]*$/.test(v) ? new Enum(v) : enumify(v, fields, depth + 1);
  return out;
}
const ENUM_FIELDS = new Set(['access', 'scope', 'fusion']);

// ---- The suite -------------------------------------------------------------------------------------------

/** NEXUS_FUZZ_BACKEND=pglite (or postgresql) fuzzes one backend only. */
const BACKENDS = (await backends()).filter((b) => !process.env.NEXUS_FUZZ_BACKEND || b === process.env.NEXUS_FUZZ_BACKEND);

describe.each(BACKENDS)('fuzz on %s', (backend) => {
  let nexus: TestNexus;
  let a: TestTenant;
  let surfaces: Record<'vo2' | 'sleep' | 'dash', TestSurface>;
  const tokens: Record<TokenName, string> = {} as Record<TokenName, string>;
  /** Token ids that fuzzed calls may revoke (never the ids of the tokens the suite itself relies on). */
  const revocable: string[] = [];
  const BASE_DOMAINS = ['health', 'business', 'finance', 'sleep'];
  let counter = 0;
  const stats = { cases: 0, calls: 0, rejected: 0, snapshots: 0, contentReads: 0, callMs: 0, snapshotMs: 0, contentMs: 0, started: Date.now(), codes: new Map<string, number>(), perProperty: [] as string[] };
  let current: Snapshot | null = null;
  let contents: Contents | null = null;

  const resolveFresh = (f: Fresh): string => {
    counter += 1;
    const n = `${Date.now().toString(36)}${counter}`;
    switch (f.kind) {
      case 'email':
        return uniqueEmail(`fuzz${counter}`);
      case 'key':
        return `fz${n}`.slice(0, 32);
      case 'idem':
        return `fuzz-${n}`;
      case 'id':
        return `rec-${n}`;
      case 'uuid':
        return randomUUID();
      case 'spareTokenId':
        return revocable[counter % Math.max(1, revocable.length)] ?? randomUUID();
    }
  };

  beforeAll(async () => {
    nexus = await startNexus({ backend });
    a = await signUpTenant(nexus);
    const ok = async (query: string, variables: Record<string, unknown>, token: string) => {
      const res = await nexus.gql(query, variables, token);
      if (res.errors) throw new Error(`setup failed: ${query}: ${JSON.stringify(res.errors)}`);
      return res.data as Record<string, any>;
    };
    await ok('mutation { createDomain(input: { key: "sleep" }) { key } }', {}, a.ownerToken);
    surfaces = {
      vo2: await addSurface(nexus, a.ownerToken, { key: 'vo2', homeDomain: 'health', mounts: [{ domain: 'business', access: 'READ' }] }),
      sleep: await addSurface(nexus, a.ownerToken, { key: 'sleep', homeDomain: 'sleep', mounts: [{ domain: 'health', access: 'READ' }] }),
      dash: await addSurface(nexus, a.ownerToken, {
        key: 'dash',
        homeDomain: 'finance',
        kind: 'DASHBOARD',
        mounts: [
          { domain: 'health', access: 'READ' },
          { domain: 'business', access: 'READ' },
        ],
      }),
    };
    const issue = async (surface: string, expiresInSeconds?: number) =>
      (await ok('mutation($i: IssueSurfaceTokenInput!) { issueSurfaceToken(input: $i) { id token } }', { i: { surface, expiresInSeconds } }, a.ownerToken))
        .issueSurfaceToken as { id: string; token: string };
    const expired = await issue('sleep', 1);
    const expiredAt = Date.now() + 1100;
    const spare = await issue('vo2');
    const spare2 = await issue('dash');
    const revoked = await issue('vo2');
    await ok('mutation($id: ID!) { revokeToken(id: $id) }', { id: revoked.id }, a.ownerToken);
    revocable.push(spare.id, spare2.id, revoked.id);
    const b = await signUpTenant(nexus);
    const bSurface = await addSurface(nexus, b.ownerToken, { key: 'vo2', homeDomain: 'health' });
    Object.assign(tokens, {
      owner: a.ownerToken,
      vo2: surfaces.vo2.token,
      sleep: surfaces.sleep.token,
      dash: surfaces.dash.token,
      spare: spare.token,
      revoked: revoked.token,
      expired: expired.token,
      otherOwner: b.ownerToken,
      otherSurface: bSurface.token,
      none: '',
    });
    await ok('mutation { topUpCredits(input: { amount: "1000000", reason: "fuzz start", idempotencyKey: "fuzz-start" }) { entry { id } } }', {}, a.ownerToken);
    const REMEMBER = 'mutation($i: RememberInput!) { remember(input: $i) { records { id } } }';
    const rec = (id: string, i: number) => ({ id, kind: 'note', text: `seed ${id}`, vector: unit(i), metadata: { seed: i } });
    await ok(REMEMBER, { i: { records: [rec('seed-1', 0), rec('seed-2', 1), rec('seed-3', 2)] } }, tokens.vo2);
    await ok(REMEMBER, { i: { domain: 'business', records: [rec('seed-b1', 3)] } }, tokens.owner);
    await ok(REMEMBER, { i: { domain: 'finance', records: [rec('seed-f1', 4)] } }, tokens.owner);
    await ok(REMEMBER, { i: { records: [rec('seed-s1', 5)] } }, tokens.sleep);
    await ok(REMEMBER, { i: { scope: 'GLOBAL', records: [rec('seed-g1', 6)] } }, tokens.owner);
    await ok(REMEMBER, { i: { scope: 'SURFACE', records: [rec('seed-p1', 7)] } }, tokens.vo2);
    await ok(REMEMBER, { i: { scope: 'SURFACE', records: [rec('seed-p2', 0)] } }, tokens.dash);
    await new Promise((r) => setTimeout(r, Math.max(0, expiredAt - Date.now())));
    expect((await nexus.gql('{ viewer { role } }', {}, tokens.expired)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await storeContents())['domain:health']).toHaveLength(3);
    current = await snapshot();
    stats.started = Date.now();
  }, 120_000);

  afterAll(async () => {
    const seconds = ((Date.now() - stats.started) / 1000).toFixed(1);
    const codes = [...stats.codes].sort((x, y) => y[1] - x[1]).map(([c, n]) => `${c} ${n}`).join(', ');
    console.log(
      `fuzz: ${stats.cases} cases on ${backend} (seed ${SEED}) in ${seconds} s: ${stats.calls} calls (${(stats.callMs / Math.max(1, stats.calls)).toFixed(0)} ms each), ${stats.rejected} refused, ${stats.snapshots} snapshots (${stats.snapshotMs} ms) and ${stats.contentReads} store reads (${stats.contentMs} ms)\n` +
        `  codes: ${codes}\n  ${stats.perProperty.join('\n  ')}`,
    );
    await nexus?.close();
  });

  // ---- State ----

  const short = (s: string, n = 1500) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);

  /** The control plane (one SQL statement) and every file of every LanceDB table (a commit always adds files). */
  interface Snapshot {
    sql: Record<string, unknown>;
    tables: string[];
  }

  /** What the base stores hold, read through the API: record counts and every record's content. */
  interface Contents {
    tablesKey: string;
    stores: Record<string, string[]>;
  }

  // createdAt is set by every write of a record, so (id, kind, occurredAt, createdAt) changes whenever a record is
  // rewritten; text and metadata (up to 64 KiB each) are left out to keep the reads cheap.
  const HIT_FIELDS = 'record { id scope kind occurredAt createdAt domain { key } }';
  const fingerprint = (hits: { record: Record<string, unknown> }[]) =>
    hits.map(({ record: r }) => JSON.stringify([r.id, r.kind, r.occurredAt, r.createdAt])).sort();

  const SQL = `
    SELECT
      (SELECT count(*)::int FROM "Tenant") AS tenants,
      (SELECT count(*)::int FROM "Identity") AS identities,
      (SELECT count(*)::int FROM "Wallet") AS wallets,
      (SELECT coalesce(sum(balance), 0)::text FROM "Wallet") AS "allBalances",
      (SELECT balance::text FROM "Wallet" WHERE "tenantId" = $1) AS balance,
      (SELECT count(*)::int FROM "LedgerEntry") AS "ledgerEntries",
      (SELECT coalesce(max(seq), 0)::text FROM "LedgerEntry") AS "ledgerSeq",
      (SELECT count(*)::int FROM "Domain") AS domains,
      (SELECT coalesce(string_agg(key || '=' || name, ',' ORDER BY key), '') FROM "Domain" WHERE "tenantId" = $1) AS "tenantDomains",
      (SELECT count(*)::int FROM "Surface") AS surfaces,
      (SELECT coalesce(string_agg(key || ':' || kind::text || ':' || name, ',' ORDER BY key), '') FROM "Surface" WHERE "tenantId" = $1) AS "tenantSurfaces",
      (SELECT count(*)::int FROM "Mount") AS mounts,
      (SELECT coalesce(string_agg(s.key || '>' || d.key || ':' || m.access::text, ',' ORDER BY s.key, d.key), '')
         FROM "Mount" m JOIN "Surface" s ON s.id = m."surfaceId" JOIN "Domain" d ON d.id = m."domainId" WHERE s."tenantId" = $1) AS "tenantMounts",
      (SELECT count(*)::int FROM "Token") AS tokens,
      (SELECT count(*)::int FROM "Token" WHERE "revokedAt" IS NOT NULL) AS "revokedTokens",
      (SELECT count(*)::int FROM "Invite") AS invites,
      (SELECT count(*)::int FROM "Invite" WHERE "usedAt" IS NOT NULL OR "revokedAt" IS NOT NULL) AS "spentInvites"`;

  /**
   * Every table's committed versions: {tenant}/{domains|surfaces}/{key}/vectors.lance/_versions (and {tenant}/global/…).
   * LanceDB never rewrites a version: every commit (an upsert, a delete, a new table) adds a manifest there.
   */
  async function tableVersions(root: string): Promise<string[]> {
    const list = (dir: string) => readdir(dir).catch(() => [] as string[]);
    const versions = async (store: string) => (await list(path.join(root, store, 'vectors.lance', '_versions'))).map((f) => `${store}/${f}`);
    const stores: string[] = [];
    for (const tenant of await list(root)) {
      stores.push(`${tenant}/global`);
      for (const scope of ['domains', 'surfaces']) for (const key of await list(path.join(root, tenant, scope))) stores.push(`${tenant}/${scope}/${key}`);
    }
    return (await Promise.all(stores.map(versions))).flat().sort();
  }

  async function snapshot(): Promise<Snapshot> {
    const t0 = Date.now();
    try {
      const [rows, tables] = await Promise.all([
        nexus.server.services.db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(SQL, a.tenantId),
        tableVersions(nexus.server.services.config.storageUri),
      ]);
      return { sql: { ...rows[0] }, tables };
    } finally {
      stats.snapshots += 1;
      stats.snapshotMs += Date.now() - t0;
    }
  }

  async function storeContents(): Promise<Record<string, string[]>> {
    const t0 = Date.now();
    const counts = BASE_DOMAINS.map((d, i) => `c${i}: domain(key: ${JSON.stringify(d)}) { recordCount }`).join(' ');
    const owner = nexus.gql(
      `query($v: [Float!], $d: [String!]) { ${counts} s: search(input: { vector: $v, k: 100, domains: $d, includeGlobal: true }) { hits { ${HIT_FIELDS} } } }`,
      { v: GOOD_VECTOR, d: BASE_DOMAINS },
      tokens.owner,
    );
    const privateStores = (['vo2', 'sleep', 'dash'] as const).map((s) =>
      nexus.gql(`query($v: [Float!]) { search(input: { vector: $v, k: 100, domains: [], includeSurface: true }) { hits { ${HIT_FIELDS} } } }`, { v: GOOD_VECTOR }, tokens[s]),
    );
    const [o, ...p] = await Promise.all([owner, ...privateStores]);
    if (o.errors || p.some((x) => x.errors)) throw new Error(`reading the stores failed: ${JSON.stringify([o.errors, ...p.map((x) => x.errors)])}`);
    const stores: Record<string, string[]> = {};
    const hits = (o.data?.s.hits ?? []) as { record: Record<string, unknown> & { scope: string; domain?: { key: string } | null } }[];
    BASE_DOMAINS.forEach((d, i) => {
      stores[`count:${d}`] = [String(o.data?.[`c${i}`]?.recordCount)];
      stores[`domain:${d}`] = fingerprint(hits.filter((h) => h.record.scope === 'DOMAIN' && h.record.domain?.key === d));
    });
    stores.global = fingerprint(hits.filter((h) => h.record.scope === 'GLOBAL'));
    (['vo2', 'sleep', 'dash'] as const).forEach((s, i) => {
      stores[`surface:${s}`] = fingerprint(p[i]?.data?.search.hits ?? []);
    });
    stats.contentReads += 1;
    stats.contentMs += Date.now() - t0;
    return stores;
  }

  const listDiff = (x: readonly string[], y: readonly string[]) => {
    const ys = new Set(y);
    const xs = new Set(x);
    return { added: y.filter((e) => !xs.has(e)), removed: x.filter((e) => !ys.has(e)) };
  };

  function sqlDifferences(before: Snapshot, after: Snapshot): string[] {
    const out: string[] = [];
    for (const key of new Set([...Object.keys(before.sql), ...Object.keys(after.sql)])) {
      if (!isDeepStrictEqual(before.sql[key], after.sql[key])) out.push(`${key}: ${JSON.stringify(before.sql[key])} → ${JSON.stringify(after.sql[key])}`);
    }
    const { added, removed } = listDiff(before.tables, after.tables);
    if (added.length || removed.length) out.push(`vector table files: added ${JSON.stringify(added.slice(0, 6))}, removed ${JSON.stringify(removed.slice(0, 6))}`);
    return out;
  }

  function storeDifferences(before: Record<string, string[]>, after: Record<string, string[]>): string[] {
    const out: string[] = [];
    for (const key of Object.keys(before)) {
      const x = before[key] ?? [];
      const y = after[key] ?? [];
      if (isDeepStrictEqual(x, y)) continue;
      const { added, removed } = listDiff(x, y);
      out.push(`store ${key}: ${x.length} → ${y.length}; added ${short(JSON.stringify(added.slice(0, 3)), 400)}; removed ${short(JSON.stringify(removed.slice(0, 3)), 400)}`);
    }
    return out;
  }

  // ---- One call, checked ----

  function toExchange(call: Call): { x: Exchange; query: string | undefined } {
    const headers: Record<string, string> = {};
    if (call.contentType !== null) headers['content-type'] = call.contentType ?? 'application/json';
    const auth = call.authorization ?? (call.token && call.token !== 'none' ? `Bearer ${tokens[call.token]}` : undefined);
    if (auth !== undefined) headers.authorization = auth;
    Object.assign(headers, call.headers ?? {});
    const method = call.method ?? 'POST';
    let body = call.body;
    if (body === undefined && call.query !== undefined) {
      const parts = [`"query":${toJson(call.query, resolveFresh)}`];
      if (call.variables !== undefined) parts.push(`"variables":${toJson(call.variables, resolveFresh)}`);
      if (call.operationName !== undefined) parts.push(`"operationName":${toJson(call.operationName, resolveFresh)}`);
      body = `{${parts.join(',')}}`;
    }
    const url = `http://nexus.test/graphql${call.search !== undefined ? `?${call.search}` : ''}`;
    return { x: { method, url, headers, ...(body !== undefined ? { body } : {}) }, query: call.query };
  }


  async function exercise(call: Call): Promise<void> {
    const before = current ?? (await snapshot());
    current = before;
    const tablesKey = createHash('sha256').update(before.tables.join('\n')).digest('hex');
    // What the stores hold, read once per version of the tables: the readable "before" of any change.
    if (!contents || contents.tablesKey !== tablesKey) contents = { tablesKey, stores: await storeContents() };
    const { x, query } = toExchange(call);
    let answer: Answer;
    const t0 = Date.now();
    try {
      answer = await exchange((url, init) => nexus.server.yoga.fetch(url, init), x);
      stats.callMs += Date.now() - t0;
    } catch (error) {
      // The client side refused to build the request (e.g. a header value that is not a ByteString): not a case.
      if (error instanceof TypeError && /header|ByteString|Headers/i.test(error.message)) return;
      throw error;
    }
    stats.calls += 1;
    for (const e of errorsOf(answer)) {
      const code = String(e.extensions?.code);
      const label = KNOWN_CODES.has(code) ? code : `${code} (undocumented)`;
      stats.codes.set(label, (stats.codes.get(label) ?? 0) + 1);
    }
    // Tokens a fuzzed call issued may be revoked by a later one.
    collectIssued(answer.payloads.map((p) => p.data));
    const problems = answerProblems(answer, haystackOf(x, query));
    // GraphQL runs the root fields of a mutation one after another, each committed on its own: when a later one fails
    // (and data is null), the earlier ones have still happened. Likewise an error below a root field (its path is
    // longer than one) means that field's resolver ran and returned: the write is done, and non-null propagation
    // nulls the answer. Only a refusal of the root field itself, in a one-field mutation or a query, must leave
    // everything as it was. (Both are real usability faults, recorded for a later issue: see the closing note.)
    const belowRoot = errorsOf(answer).some((e) => Array.isArray(e.path) && e.path.length > 1);
    if (isRejected(answer) && (rootMutationFields(query) > 1 || (rootMutationFields(query) === 1 && belowRoot))) {
      stats.rejected += 1;
      current = null;
    } else if (isRejected(answer)) {
      stats.rejected += 1;
      const after = await snapshot();
      current = after;
      const changed = sqlDifferences(before, after);
      // Every table commit adds files; the contents are read again when they did, and every 8th refusal anyway.
      if (changed.length || stats.rejected % 8 === 0) {
        const now = await storeContents();
        changed.push(...storeDifferences(contents.stores, now));
        contents = null;
      }
      if (changed.length) problems.push(`a refused call changed state:\n      ${changed.join('\n      ')}`);
    } else if (!call.readOnly) {
      current = null;
    }
    if (problems.length) {
      throw new Error(
        `${problems.length} problem(s):\n  - ${problems.join('\n  - ')}\n` +
          `request: ${x.method} ${short(x.url, 300)} headers ${short(JSON.stringify(x.headers), 400)}\n  body: ${short(x.body ?? '')}\n` +
          `answer: HTTP ${answer.status} ${answer.contentType}\n  ${short(answer.text)}`,
      );
    }
  }

  function collectIssued(values: unknown[], depth = 0): void {
    if (depth > 12) return;
    for (const v of values) {
      if (!v || typeof v !== 'object') continue;
      const o = v as Record<string, unknown>;
      if (typeof o.token === 'string' && o.token.startsWith('nxs_') && typeof o.id === 'string' && revocable.length < 200) revocable.push(o.id);
      collectIssued(Array.isArray(v) ? v : Object.values(o), depth + 1);
    }
  }

  /** Runs a property under the budget: no new case after TIME_MS, shrinking (after a failure) until TIME_MS + SHRINK_MS. */
  async function fuzz<T>(name: string, arb: fc.Arbitrary<T>, toCall: (c: T) => Call): Promise<void> {
    const soft = Date.now() + TIME_MS;
    const started = Date.now();
    let failing = false;
    let executed = 0;
    let inflight: Promise<unknown> = Promise.resolve();
    const property = fc.asyncProperty(arb, async (c) => {
      if (!failing && Date.now() > soft) return;
      executed += 1;
      const run = exercise(toCall(c));
      inflight = run.catch(() => undefined);
      try {
        await run;
      } catch (error) {
        failing = true;
        throw error;
      }
    });
    const details = await fc.check(property, { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_MS + SHRINK_MS });
    // An interrupted run may still be in flight: let it land before the next property takes its snapshot.
    await inflight;
    current = null;
    contents = null;
    stats.cases += executed;
    stats.perProperty.push(`${name}: ${executed} cases in ${((Date.now() - started) / 1000).toFixed(1)} s${details.failed ? ' (FAILED)' : ''}`);
    if (details.failed) {
      const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance ?? '');
      throw new Error(`fuzz property "${name}" failed on ${backend} (seed ${SEED}):\n${fc.defaultReportMessage(details)}\n\n${cause}`);
    }
  }

  // ---- Properties ----

  const RECORD_FIELDS = 'records { id kind text metadata occurredAt vector }';

  it(
    'keys: createDomain, createSurface, setMounts, domain(key), search domains, tokens, writes, events, signUp',
    async () => {
      const mountsArb = fc.oneof(
        { weight: 4, arbitrary: fc.array(fc.record({ domain: keyArb, access: accessArb }, { requiredKeys: [] }), { maxLength: 4 }) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>([], null, 'health', [{ domain: 'health', access: 'READ' }, { domain: 'health', access: 'READ_WRITE' }]) },
        { weight: 1, arbitrary: fc.constant(Array.from({ length: 65 }, (_, i) => ({ domain: `m${i}`, access: 'READ' }))) },
        { weight: 1, arbitrary: wrongType },
      );
      const arb = fc.oneof(
        fc.record({ op: fc.constant('createDomain' as const), token: mostly('owner'), key: keyArb, name: fc.option(textArb, { nil: undefined }), inline: fc.boolean() }),
        fc.record({ op: fc.constant('createSurface' as const), token: mostly('owner'), key: keyArb, home: keyArb, kind: surfaceKindArb, mounts: fc.option(mountsArb, { nil: undefined }), inline: fc.boolean() }),
        fc.record({ op: fc.constant('setMounts' as const), token: mostly('owner'), surface: fc.oneof(keyArb, fc.constantFrom('vo2', 'sleep', 'dash')), mounts: mountsArb, inline: fc.boolean() }),
        fc.record({ op: fc.constant('domain' as const), token: anyToken, key: keyArb, inline: fc.boolean() }),
        fc.record({ op: fc.constant('search' as const), token: anyToken, domains: fc.oneof(fc.array(keyArb, { maxLength: 4 }), fc.constant(Array.from({ length: 65 }, (_, i) => `d${i}`)), wrongType), inline: fc.boolean() }),
        fc.record({ op: fc.constant('issue' as const), token: mostly('owner'), key: keyArb, inline: fc.boolean() }),
        fc.record({ op: fc.constant('remember' as const), token: anyToken, key: keyArb, scope: scopeArb, inline: fc.boolean() }),
        fc.record({ op: fc.constant('forget' as const), token: anyToken, key: keyArb, scope: scopeArb, inline: fc.boolean() }),
        fc.record({ op: fc.constant('events' as const), token: anyToken, domains: fc.oneof(fc.array(keyArb, { maxLength: 3 }), fc.constant([]), wrongType), inline: fc.boolean() }),
        fc.record({ op: fc.constant('signUp' as const), domains: fc.oneof(fc.array(keyArb, { maxLength: 5 }), fc.constant(Array.from({ length: 33 }, (_, i) => `k${i}`)), wrongType), inline: fc.boolean() }),
      );
      await fuzz('keys', arb, (c): Call => {
        const L = (v: unknown) => lit(v, resolveFresh);
        const V = (name: string, type: string, value: unknown) =>
          c.inline ? { arg: L(enumify(value, new Set(['access', 'scope']))), def: '', vars: {} } : { arg: `$${name}`, def: `$${name}: ${type}`, vars: { [name]: value } };
        switch (c.op) {
          case 'createDomain': {
            const input = { key: c.key, name: c.name };
            const v = V('i', 'CreateDomainInput!', input);
            return { query: `mutation${v.def ? `(${v.def})` : ''} { createDomain(input: ${v.arg}) { id key name } }`, variables: v.vars, token: c.token };
          }
          case 'createSurface': {
            const kind = c.inline && typeof c.kind === 'string' && /^[_A-Za-z]\w*$/.test(c.kind) ? new Enum(c.kind) : c.kind;
            const input = { key: c.key, homeDomain: c.home, kind, mounts: c.mounts };
            const v = V('i', 'CreateSurfaceInput!', input);
            return {
              query: `mutation${v.def ? `(${v.def})` : ''} { createSurface(input: ${v.arg}) { id key kind homeDomain { key } mounts { access domain { key } } } }`,
              variables: v.vars,
              token: c.token,
            };
          }
          case 'setMounts': {
            const v = V('i', 'SetMountsInput!', { surface: c.surface, mounts: c.mounts });
            return { query: `mutation${v.def ? `(${v.def})` : ''} { setMounts(input: ${v.arg}) { key mounts { access domain { key } } } }`, variables: v.vars, token: c.token };
          }
          case 'domain': {
            const v = V('k', 'String!', c.key);
            return {
              query: `query${v.def ? `(${v.def})` : ''} { domain(key: ${v.arg}) { key name recordCount surfaces { key } search(input: { vector: ${L(GOOD_VECTOR)}, k: 2 }) { score record { id } } } }`,
              variables: v.vars,
              token: c.token,
              readOnly: true,
            };
          }
          case 'search': {
            const v = V('i', 'SearchInput!', { vector: GOOD_VECTOR, domains: c.domains, k: 3 });
            return { query: `query${v.def ? `(${v.def})` : ''} { search(input: ${v.arg}) { hits { score record { id domain { key } } } } }`, variables: v.vars, token: c.token, readOnly: true };
          }
          case 'issue': {
            const v = V('i', 'IssueSurfaceTokenInput!', { surface: c.key, expiresInSeconds: 3600 });
            return { query: `mutation${v.def ? `(${v.def})` : ''} { issueSurfaceToken(input: ${v.arg}) { id token expiresAt surface { key } } }`, variables: v.vars, token: c.token };
          }
          case 'remember': {
            const v = V('i', 'RememberInput!', { domain: c.key, scope: c.scope, records: [{ kind: 'note', text: 'keys', vector: GOOD_VECTOR }] });
            return { query: `mutation${v.def ? `(${v.def})` : ''} { remember(input: ${v.arg}) { records { id domain { key } } } }`, variables: v.vars, token: c.token };
          }
          case 'forget': {
            const v = V('i', 'ForgetInput!', { domain: c.key, scope: c.scope, ids: ['never-was'] });
            return { query: `mutation${v.def ? `(${v.def})` : ''} { forget(input: ${v.arg}) { deleted } }`, variables: v.vars, token: c.token };
          }
          case 'events': {
            const v = V('d', '[String!]', c.domains);
            return { query: `subscription${v.def ? `(${v.def})` : ''} { nexusEvents(domains: ${v.arg}) { type recordId domain { key } } }`, variables: v.vars, token: c.token, headers: { accept: 'text/event-stream' }, readOnly: true };
          }
          case 'signUp': {
            const v = V('i', 'SignUpInput!', { email: fresh('email'), domains: c.domains });
            return { query: `mutation${v.def ? `(${v.def})` : ''} { signUp(input: ${v.arg}) { ownerToken tenant { id domains { key name } } } }`, variables: v.vars };
          }
        }
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'record ids and kinds: remember, forget, ledger(after:), revokeToken',
    async () => {
      const recordArb = fc.record({ id: fc.option(idArb, { nil: undefined }), kind: kindArb });
      const arb = fc.oneof(
        fc.record({ op: fc.constant('remember' as const), token: mostly('vo2'), records: fc.array(recordArb, { minLength: 1, maxLength: 4 }), duplicate: fc.boolean(), inline: fc.boolean() }),
        fc.record({ op: fc.constant('rememberMany' as const), token: mostly('vo2'), n: fc.constantFrom(1000, 1001), badAt: fc.option(fc.nat(1000), { nil: undefined }) }),
        fc.record({ op: fc.constant('forget' as const), token: mostly('vo2'), ids: fc.oneof(fc.array(idArb, { maxLength: 5 }), wrongType), scope: scopeArb, inline: fc.boolean() }),
        fc.record({ op: fc.constant('forgetMany' as const), token: mostly('vo2'), n: fc.constantFrom(1000, 1001), bad: fc.boolean() }),
        fc.record({ op: fc.constant('filterKinds' as const), token: mostly('vo2'), kinds: fc.array(kindArb, { maxLength: 5 }), inline: fc.boolean() }),
        fc.record({ op: fc.constant('ledger' as const), token: mostly('owner', 3), after: fc.oneof(idArb, fc.uuid(), fc.constant(fresh('uuid'))), first: fc.option(intArb, { nil: undefined }) }),
        fc.record({ op: fc.constant('revoke' as const), token: mostly('owner'), id: fc.oneof(idArb, fc.uuid(), fc.constant(fresh('spareTokenId')), fc.constant(fresh('uuid'))), inline: fc.boolean() }),
      );
      await fuzz('record ids and kinds', arb, (c): Call => {
        const L = (v: unknown) => lit(v, resolveFresh);
        switch (c.op) {
          case 'remember': {
            const records = c.records.map((r) => ({ ...r, vector: GOOD_VECTOR }));
            if (c.duplicate && records[0]) records.push({ ...records[0] });
            const input = { records, domain: c.token === 'owner' ? 'health' : undefined };
            return c.inline
              ? { query: `mutation { remember(input: ${L(input)}) { ${RECORD_FIELDS} } }`, token: c.token }
              : { query: `mutation($i: RememberInput!) { remember(input: $i) { ${RECORD_FIELDS} } }`, variables: { i: input }, token: c.token };
          }
          case 'rememberMany': {
            const records = Array.from({ length: c.n }, (_, i) => ({ id: `many-${i}`, kind: c.badAt === i ? 'bad kind' : 'note', vector: unit(i) }));
            return { query: 'mutation($i: RememberInput!) { remember(input: $i) { records { id } } }', variables: { i: { records, domain: c.token === 'owner' ? 'health' : undefined } }, token: c.token };
          }
          case 'forget': {
            const input = { ids: c.ids, scope: c.scope, domain: c.token === 'owner' ? 'health' : undefined };
            return c.inline
              ? { query: `mutation { forget(input: ${L(enumify(input, ENUM_FIELDS))}) { deleted } }`, token: c.token }
              : { query: 'mutation($i: ForgetInput!) { forget(input: $i) { deleted } }', variables: { i: input }, token: c.token };
          }
          case 'forgetMany': {
            const ids = Array.from({ length: c.n }, (_, i) => (c.bad && i === c.n - 1 ? 'bad id' : `gone-${i}`));
            return { query: 'mutation($i: ForgetInput!) { forget(input: $i) { deleted } }', variables: { i: { ids, domain: c.token === 'owner' ? 'health' : undefined } }, token: c.token };
          }
          case 'filterKinds': {
            const input = { vector: GOOD_VECTOR, filter: { kinds: c.kinds } };
            return c.inline
              ? { query: `query { search(input: ${L(input)}) { hits { record { id kind } } } }`, token: c.token, readOnly: true }
              : { query: 'query($i: SearchInput!) { search(input: $i) { hits { record { id kind } } } }', variables: { i: input }, token: c.token, readOnly: true };
          }
          case 'ledger':
            return {
              query: 'query($a: ID, $f: Int) { wallet { balance ledger(after: $a, first: $f) { id amount reason } } }',
              variables: { a: c.after, ...(c.first !== undefined ? { f: c.first } : {}) },
              token: c.token,
              readOnly: true,
            };
          case 'revoke':
            return c.inline ? { query: `mutation { revokeToken(id: ${L(c.id)}) }`, token: c.token } : { query: 'mutation($id: ID!) { revokeToken(id: $id) }', variables: { id: c.id }, token: c.token };
        }
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'text: record text, search text, domain and surface names, display names',
    async () => {
      const arb = fc.oneof(
        fc.record({ op: fc.constant('remember' as const), token: mostly('vo2'), text: textArb, inline: fc.boolean() }),
        fc.record({ op: fc.constant('search' as const), token: mostly('vo2'), text: textArb, withVector: fc.boolean() }),
        fc.record({ op: fc.constant('domainName' as const), token: mostly('owner'), name: textArb, existing: fc.boolean() }),
        fc.record({ op: fc.constant('surfaceName' as const), token: mostly('owner'), name: textArb }),
        fc.record({ op: fc.constant('displayName' as const), name: textArb }),
      );
      await fuzz('text', arb, (c): Call => {
        switch (c.op) {
          case 'remember': {
            const input = { records: [{ kind: 'note', text: c.text, vector: GOOD_VECTOR }], domain: c.token === 'owner' ? 'health' : undefined };
            return c.inline
              ? { query: `mutation { remember(input: ${lit(input, resolveFresh)}) { ${RECORD_FIELDS} } }`, token: c.token }
              : { query: `mutation($i: RememberInput!) { remember(input: $i) { ${RECORD_FIELDS} } }`, variables: { i: input }, token: c.token };
          }
          case 'search':
            return {
              query: 'query($i: SearchInput!) { search(input: $i) { hits { record { id text } } } }',
              variables: { i: { text: c.text, ...(c.withVector ? { vector: GOOD_VECTOR } : {}) } },
              token: c.token,
              readOnly: true,
            };
          case 'domainName':
            return { query: 'mutation($i: CreateDomainInput!) { createDomain(input: $i) { key name } }', variables: { i: { key: c.existing ? 'health' : fresh('key'), name: c.name } }, token: c.token };
          case 'surfaceName':
            return { query: 'mutation($i: CreateSurfaceInput!) { createSurface(input: $i) { key name } }', variables: { i: { key: fresh('key'), homeDomain: 'health', name: c.name } }, token: c.token };
          case 'displayName':
            return { query: 'mutation($i: SignUpInput!) { signUp(input: $i) { tenant { identity { email displayName } } } }', variables: { i: { email: fresh('email'), displayName: c.name } } };
        }
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'metadata: any JSON, deep nesting, huge numbers, weird keys, the 64 KiB edge',
    async () => {
      const arb = fc.record({ token: mostly('vo2'), metadata: metadataArb, inline: fc.boolean(), more: fc.boolean() });
      await fuzz('metadata', arb, (c): Call => {
        const records = [{ kind: 'note', vector: GOOD_VECTOR, metadata: c.metadata }, ...(c.more ? [{ kind: 'note', vector: unit(1), metadata: { ok: true } }] : [])];
        const input = { records, domain: c.token === 'owner' ? 'health' : undefined };
        return c.inline
          ? { query: `mutation { remember(input: ${lit(input, resolveFresh)}) { ${RECORD_FIELDS} } }`, token: c.token }
          : { query: `mutation($i: RememberInput!) { remember(input: $i) { ${RECORD_FIELDS} } }`, variables: { i: input }, token: c.token };
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'vectors: wrong lengths, NaN and Infinity in raw JSON, huge and tiny magnitudes, zeros, non-numbers',
    async () => {
      const arb = fc.record({
        op: fc.constantFrom('remember' as const, 'search' as const, 'domainSearch' as const),
        token: mostly('vo2'),
        vector: vectorArb,
        inline: fc.boolean(),
      });
      await fuzz('vectors', arb, (c): Call => {
        const L = (v: unknown) => lit(v, resolveFresh);
        switch (c.op) {
          case 'remember': {
            const input = { records: [{ kind: 'note', vector: c.vector }], domain: c.token === 'owner' ? 'health' : undefined };
            return c.inline
              ? { query: `mutation { remember(input: ${L(input)}) { records { id vector } } }`, token: c.token }
              : { query: 'mutation($i: RememberInput!) { remember(input: $i) { records { id vector } } }', variables: { i: input }, token: c.token };
          }
          case 'search':
            return c.inline
              ? { query: `query { search(input: { vector: ${L(c.vector)}, includeGlobal: true }) { hits { score distance record { id } } } }`, token: c.token, readOnly: true }
              : { query: 'query($v: [Float!]) { search(input: { vector: $v, includeGlobal: true }) { hits { score distance record { id } } } }', variables: { v: c.vector }, token: c.token, readOnly: true };
          case 'domainSearch':
            return c.inline
              ? { query: `query { domain(key: "health") { search(input: { vector: ${L(c.vector)}, k: 5 }) { score distance record { id vector } } } }`, token: c.token, readOnly: true }
              : { query: 'query($v: [Float!]) { domain(key: "health") { search(input: { vector: $v, k: 5 }) { score distance record { id vector } } } }', variables: { v: c.vector }, token: c.token, readOnly: true };
        }
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'dates: occurredAt, filter occurredAfter and occurredBefore',
    async () => {
      const arb = fc.oneof(
        fc.record({ op: fc.constant('remember' as const), token: mostly('vo2'), at: dateArb, inline: fc.boolean() }),
        fc.record({ op: fc.constant('filter' as const), token: mostly('vo2'), after: fc.option(dateArb, { nil: undefined }), before: fc.option(dateArb, { nil: undefined }), inline: fc.boolean(), domain: fc.boolean() }),
      );
      await fuzz('dates', arb, (c): Call => {
        const L = (v: unknown) => lit(v, resolveFresh);
        if (c.op === 'remember') {
          const input = { records: [{ kind: 'note', vector: GOOD_VECTOR, occurredAt: c.at }], domain: c.token === 'owner' ? 'health' : undefined };
          return c.inline
            ? { query: `mutation { remember(input: ${L(input)}) { records { id occurredAt } } }`, token: c.token }
            : { query: 'mutation($i: RememberInput!) { remember(input: $i) { records { id occurredAt } } }', variables: { i: input }, token: c.token };
        }
        const filter = { occurredAfter: c.after, occurredBefore: c.before };
        if (c.domain) {
          return c.inline
            ? { query: `query { domain(key: "health") { search(input: { vector: ${L(GOOD_VECTOR)}, filter: ${L(filter)} }) { record { id occurredAt } } } }`, token: c.token, readOnly: true }
            : { query: 'query($v: [Float!], $f: RecordFilter) { domain(key: "health") { search(input: { vector: $v, filter: $f }) { record { id occurredAt } } } }', variables: { v: GOOD_VECTOR, f: filter }, token: c.token, readOnly: true };
        }
        return c.inline
          ? { query: `query { search(input: { vector: ${L(GOOD_VECTOR)}, filter: ${L(filter)}, includeGlobal: true }) { hits { record { id occurredAt } } } }`, token: c.token, readOnly: true }
          : { query: 'query($i: SearchInput!) { search(input: $i) { hits { record { id occurredAt } } } }', variables: { i: { vector: GOOD_VECTOR, filter, includeGlobal: true } }, token: c.token, readOnly: true };
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'credit amounts: burnCredits and topUpCredits, as variables and literals',
    async () => {
      const arb = fc.record({
        op: fc.constantFrom('burn' as const, 'topUp' as const),
        token: fc.oneof({ weight: 3, arbitrary: fc.constantFrom<TokenName>('owner', 'vo2') }, { weight: 1, arbitrary: anyToken }),
        amount: amountArb,
        idem: fc.oneof({ weight: 4, arbitrary: fc.constant<unknown>(fresh('idem')) }, { weight: 1, arbitrary: fc.constantFrom<unknown>('fuzz-pool-1', 'fuzz-pool-2') }),
        literal: fc.constantFrom('variable' as const, 'string' as const, 'int' as const),
      });
      await fuzz('credit amounts', arb, (c): Call => {
        const field = c.op === 'burn' ? 'burnCredits' : 'topUpCredits';
        const type = c.op === 'burn' ? 'BurnCreditsInput!' : 'TopUpCreditsInput!';
        const sel = '{ entry { id amount balanceAfter reason idempotencyKey } wallet { balance } }';
        if (c.literal === 'variable') {
          return { query: `mutation($i: ${type}) { ${field}(input: $i) ${sel} }`, variables: { i: { amount: c.amount, reason: 'fuzz amount', idempotencyKey: c.idem } }, token: c.token };
        }
        // As an integer literal the digits are written bare (a 40-digit literal is still an Int token to the parser).
        const amount = c.literal === 'int' && typeof c.amount === 'string' && /^-?\d+$/.test(c.amount) ? raw(c.amount) : c.amount;
        return { query: `mutation { ${field}(input: { amount: ${lit(amount, resolveFresh)}, reason: "fuzz amount", idempotencyKey: ${lit(c.idem, resolveFresh)} }) ${sel} }`, token: c.token };
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'reasons and idempotency keys: full unicode, lone surrogates, controls, length edges',
    async () => {
      const arb = fc.record({
        op: fc.constantFrom('burn' as const, 'topUp' as const),
        token: fc.oneof({ weight: 3, arbitrary: fc.constantFrom<TokenName>('owner', 'vo2', 'dash') }, { weight: 1, arbitrary: anyToken }),
        reason: fc.oneof({ weight: 3, arbitrary: reasonArb }, { weight: 1, arbitrary: fc.constant<unknown>('fuzz reason') }),
        idem: fc.oneof({ weight: 3, arbitrary: idemArb }, { weight: 1, arbitrary: fc.constant<unknown>(fresh('idem')) }),
        inline: fc.boolean(),
      });
      await fuzz('reasons and idempotency keys', arb, (c): Call => {
        const field = c.op === 'burn' ? 'burnCredits' : 'topUpCredits';
        const type = c.op === 'burn' ? 'BurnCreditsInput!' : 'TopUpCreditsInput!';
        const input = { amount: '1', reason: c.reason, idempotencyKey: c.idem };
        const sel = '{ entry { id reason idempotencyKey balanceAfter } }';
        return c.inline
          ? { query: `mutation { ${field}(input: ${lit(input, resolveFresh)}) ${sel} }`, token: c.token }
          : { query: `mutation($i: ${type}) { ${field}(input: $i) ${sel} }`, variables: { i: input }, token: c.token };
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'emails and display names: signUp',
    async () => {
      const emailArb: fc.Arbitrary<unknown> = fc.oneof(
        { weight: 4, arbitrary: fc.constant<unknown>(fresh('email')) },
        { weight: 2, arbitrary: fc.emailAddress() },
        { weight: 3, arbitrary: fc.constantFrom<unknown>(...EMAIL_EDGES) },
        { weight: 1, arbitrary: fc.constant<unknown>('EXISTING') },
        { weight: 2, arbitrary: fc.tuple(unicodeString(12), fc.constantFrom('@example.com', '@EXAMPLE.com', '')).map(([x, d]) => x + d) },
        { weight: 1, arbitrary: wrongType },
      );
      const arb = fc.record({
        email: emailArb,
        displayName: fc.option(textArb, { nil: undefined }),
        domains: fc.option(fc.oneof(fc.array(keyArb, { maxLength: 4 }), fc.constant(['health', 'health'])), { nil: undefined }),
        inviteCode: fc.option(fc.oneof(unicodeString(50), fc.stringMatching(/^nxi_[A-Za-z0-9_-]{43}$/)), { nil: undefined }),
        // Public: mostly no token, but clients that always send theirs (owner, surface, another tenant's, a bad one) too.
        token: fc.oneof({ weight: 3, arbitrary: fc.constant<TokenName>('none') }, { weight: 2, arbitrary: anyToken }),
        inline: fc.boolean(),
      });
      await fuzz('emails and display names', arb, (c): Call => {
        const email = c.email === 'EXISTING' ? ` ${a.email.toUpperCase()} ` : c.email;
        const input = { email, displayName: c.displayName, domains: c.domains, inviteCode: c.inviteCode };
        const sel = '{ ownerToken tenant { id identity { email displayName } domains { key name } wallet { balance } } }';
        return c.inline
          ? { query: `mutation { signUp(input: ${lit(input, resolveFresh)}) ${sel} }`, token: c.token }
          : { query: `mutation($i: SignUpInput!) { signUp(input: $i) ${sel} }`, variables: { i: input }, token: c.token };
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'filters and k: kinds lists, dates, fusion, store flags, k',
    async () => {
      const kindsArb: fc.Arbitrary<unknown> = fc.oneof(
        { weight: 3, arbitrary: fc.array(kindArb, { maxLength: 5 }) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>([], null, undefined, 'note', Array(100).fill('note'), Array(101).fill('note'), Array.from({ length: 1000 }, (_, i) => `k${i}`)) },
        { weight: 1, arbitrary: wrongType },
      );
      const filterArb: fc.Arbitrary<unknown> = fc.oneof(
        { weight: 4, arbitrary: fc.record({ kinds: kindsArb, occurredAfter: fc.option(dateArb, { nil: undefined }), occurredBefore: fc.option(dateArb, { nil: undefined }) }, { requiredKeys: [] }) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, {}, { unknown: 1 }, { kinds: ['note'], kind: 'note' }) },
        { weight: 1, arbitrary: wrongType },
      );
      const arb = fc.record({
        domain: fc.boolean(),
        token: mostly('vo2', 3),
        k: fc.option(kArb, { nil: undefined }),
        filter: filterArb,
        fusion: fusionArb,
        includeSurface: flagArb,
        includeGlobal: flagArb,
        domains: fc.option(fc.subarray(BASE_DOMAINS), { nil: undefined }),
        inline: fc.boolean(),
      });
      await fuzz('filters and k', arb, (c): Call => {
        if (c.domain) {
          const input = { vector: GOOD_VECTOR, k: c.k, filter: c.filter };
          return c.inline
            ? { query: `query { domain(key: "health") { search(input: ${lit(input, resolveFresh)}) { score record { id kind } } } }`, token: c.token, readOnly: true }
            : { query: 'query($i: DomainSearchInput!) { domain(key: "health") { search(input: $i) { score record { id kind } } } }', variables: { i: input }, token: c.token, readOnly: true };
        }
        const input = { vector: GOOD_VECTOR, k: c.k, filter: c.filter, fusion: c.fusion, includeSurface: c.includeSurface, includeGlobal: c.includeGlobal, domains: c.domains };
        return c.inline
          ? { query: `query { search(input: ${lit(enumify(input, ENUM_FIELDS), resolveFresh)}) { hits { score distance record { id kind scope } } } }`, token: c.token, readOnly: true }
          : { query: 'query($i: SearchInput!) { search(input: $i) { hits { score distance record { id kind scope } } } }', variables: { i: input }, token: c.token, readOnly: true };
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'expiresInSeconds and ledger first',
    async () => {
      const arb = fc.oneof(
        fc.record({ op: fc.constant('issue' as const), token: mostly('owner'), surface: fc.constantFrom<unknown>('vo2', 'sleep', 'dash', 'nope'), seconds: intArb, inline: fc.boolean() }),
        fc.record({ op: fc.constant('ledger' as const), token: mostly('owner', 3), first: intArb, inline: fc.boolean() }),
      );
      await fuzz('expiresInSeconds and first', arb, (c): Call => {
        const L = (v: unknown) => lit(v, resolveFresh);
        if (c.op === 'issue') {
          return c.inline
            ? { query: `mutation { issueSurfaceToken(input: { surface: ${L(c.surface)}, expiresInSeconds: ${L(c.seconds)} }) { id token expiresAt } }`, token: c.token }
            : { query: 'mutation($i: IssueSurfaceTokenInput!) { issueSurfaceToken(input: $i) { id token expiresAt } }', variables: { i: { surface: c.surface, expiresInSeconds: c.seconds } }, token: c.token };
        }
        return c.inline
          ? { query: `query { wallet { ledger(first: ${L(c.first)}) { id amount } } }`, token: c.token, readOnly: true }
          : { query: 'query($f: Int) { wallet { ledger(first: $f) { id amount } } }', variables: { f: c.first }, token: c.token, readOnly: true };
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'Authorization headers: token-ish values on every kind of operation',
    async () => {
      const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
      const variant = fc.constantFrom(
        'plain', 'lower-scheme', 'upper-scheme', 'spaces', 'tab', 'trailing', 'leading', 'no-scheme', 'basic', 'twice', 'truncated', 'flipped', 'appended',
        'other-prefix', 'comma', 'quoted', 'token-token',
      );
      const authArb = fc.oneof(
        { weight: 4, arbitrary: fc.record({ kind: fc.constant('token' as const), name: anyToken, variant }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('literal' as const), value: fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 40 })).map(headerSafe) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('literal' as const), value: fc.oneof(fc.stringMatching(/^Bearer nx[os]_[A-Za-z0-9_-]{43}$/), fc.stringMatching(/^Bearer nx[a-z]_[A-Za-z0-9_+/=-]{40,46}$/)) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('literal' as const), value: fc.constantFrom('', ' ', 'Bearer', 'Bearer ', 'Bearer  ', 'Bearer null', 'Bearer undefined', 'Bearer nxo_', `Bearer nxo_${'A'.repeat(4000)}`, 'Bearer \u00ff\u00fe', 'Negotiate abc') }) },
      );
      const arb = fc.record({
        auth: authArb,
        requestId: fc.option(fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 70 }).map(headerSafe), fc.constantFrom('abc', 'a'.repeat(65), '../../etc', '<script>')), { nil: undefined }),
        op: fc.constantFrom('serverInfo', 'viewer', 'wallet', 'remember', 'burn', 'createDomain', 'search', 'events', 'ledger'),
      });
      await fuzz('authorization headers', arb, (c): Call => {
        let authorization: string;
        if (c.auth.kind === 'literal') authorization = c.auth.value;
        else {
          const t = c.auth.name === 'none' ? '' : tokens[c.auth.name];
          const v = c.auth.variant;
          authorization =
            v === 'plain' ? `Bearer ${t}`
            : v === 'lower-scheme' ? `bearer ${t}`
            : v === 'upper-scheme' ? `BEARER ${t}`
            : v === 'spaces' ? `Bearer    ${t}`
            : v === 'tab' ? `Bearer\t${t}`
            : v === 'trailing' ? `Bearer ${t} x`
            : v === 'leading' ? ` Bearer ${t}`
            : v === 'no-scheme' ? t
            : v === 'basic' ? `Basic ${Buffer.from(`x:${t}`).toString('base64')}`
            : v === 'twice' ? `Bearer ${t}, Bearer ${t}`
            : v === 'truncated' ? `Bearer ${t.slice(0, -1)}`
            : v === 'flipped' ? `Bearer ${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`
            : v === 'appended' ? `Bearer ${t}A`
            : v === 'other-prefix' ? `Bearer ${t.replace(/^nx([os])_/, (_m, k: string) => (k === 'o' ? 'nxs_' : 'nxo_'))}`
            : v === 'comma' ? `Bearer ${t},`
            : v === 'quoted' ? `Bearer "${t}"`
            : `Bearer ${t}${t}`;
        }
        const headers: Record<string, string> = c.requestId !== undefined ? { 'x-request-id': c.requestId } : {};
        const base = { authorization, headers };
        switch (c.op) {
          case 'serverInfo':
            return { ...base, query: '{ serverInfo { version vectorDimension } }', readOnly: true };
          case 'viewer':
            return { ...base, query: '{ viewer { role surface { key } tenant { id identity { email } } } }', readOnly: true };
          case 'wallet':
            return { ...base, query: '{ wallet { balance } }', readOnly: true };
          case 'ledger':
            return { ...base, query: '{ wallet { ledger(first: 3) { id amount } } }', readOnly: true };
          case 'remember':
            return { ...base, query: 'mutation($v: [Float!]) { remember(input: { records: [{ kind: "auth", vector: $v }] }) { records { id } } }', variables: { v: GOOD_VECTOR } };
          case 'burn':
            return { ...base, query: 'mutation($k: String!) { burnCredits(input: { amount: "1", reason: "auth fuzz", idempotencyKey: $k }) { entry { id } } }', variables: { k: fresh('idem') } };
          case 'createDomain':
            return { ...base, query: 'mutation($k: String!) { createDomain(input: { key: $k }) { key } }', variables: { k: fresh('key') } };
          case 'search':
            return { ...base, query: 'query($v: [Float!]) { search(input: { vector: $v, includeGlobal: true }) { hits { score } } }', variables: { v: GOOD_VECTOR }, readOnly: true };
          default:
            return { ...base, query: 'subscription { nexusEvents { type } }', headers: { ...headers, accept: 'text/event-stream' }, readOnly: true };
        }
      });
    },
    TEST_TIMEOUT,
  );

  // Whole documents.

  const VALID_DOCS = [
    '{ serverInfo { version vectorDimension } }',
    '{ viewer { role surface { key kind homeDomain { key } } tenant { id domains { key name recordCount } } } }',
    'query Q($v: [Float!]) { search(input: { vector: $v, k: 3, includeGlobal: true }) { hits { score record { id text domain { key } } } } }',
    '{ domain(key: "health") { key recordCount surfaces { key mounts { access domain { key } } } } }',
    'mutation { burnCredits(input: { amount: "1", reason: "doc", idempotencyKey: "fuzz-doc-key" }) { entry { id } wallet { balance } } }',
    'mutation($v: [Float!]) { remember(input: { records: [{ id: "doc-1", kind: "note", vector: $v, metadata: { a: [1, { b: null }] } }] }) { records { id } } }',
    'mutation { forget(input: { ids: ["doc-1"] }) { deleted } }',
    '{ wallet { balance ledger(first: 2) { id amount balanceAfter surface { key } } } }',
    'query A { serverInfo { version } } query B { viewer { role } }',
    '{ ...F } fragment F on Query { serverInfo { version } }',
    'subscription { nexusEvents(domains: ["health"]) { type } }',
  ];
  const SOUP = [
    '{', '}', '(', ')', '[', ']', ':', '$', '!', '=', '@', '...', '|', '&', ',', 'query', 'mutation', 'subscription', 'fragment', 'on', 'true', 'false',
    'null', 'serverInfo', 'version', 'viewer', 'role', 'domain', 'key', 'search', 'input', 'vector', 'hits', 'score', 'record', 'id', 'remember', 'records',
    'kind', 'forget', 'ids', 'wallet', 'balance', 'ledger', 'first', 'after', 'burnCredits', 'amount', 'reason', 'idempotencyKey', 'signUp', 'email',
    'createDomain', 'createSurface', 'setMounts', 'mounts', 'access', 'READ', 'issueSurfaceToken', 'revokeToken', 'nexusEvents', '__typename',
    '__schema', '__type', 'types', 'name', 'fields', 'Query', 'Mutation', 'Domain', 'String', 'Int', 'Float', 'JSON', 'BigInt', 'DateTime',
    '"health"', '""', '"""block"""', '"\\u0041"', '"\\ud800"', '"\\x"', '1', '-1', '0', '1.5e3', '1e309', '0x1', '01', '2147483648', '#c\n', '\n',
    ' ', '\t', '\u00a0', '\ufeff', '\u2028', '$v', '$i', 'include(if: true)', 'skip', 'deprecated', 'a:', 'alias:',
  ];
  const editedDoc = fc
    .tuple(fc.constantFrom(...VALID_DOCS), fc.array(fc.tuple(fc.constantFrom('delete', 'insert', 'duplicate', 'swap'), fc.nat(), fc.nat(12), fc.constantFrom(...SOUP)), { minLength: 1, maxLength: 4 }))
    .map(([doc, edits]) => {
      let d = doc;
      for (const [how, at, len, token] of edits) {
        const i = at % (d.length + 1);
        if (how === 'delete') d = d.slice(0, i) + d.slice(i + len);
        else if (how === 'insert') d = `${d.slice(0, i)} ${token} ${d.slice(i)}`;
        else if (how === 'duplicate') d = d.slice(0, i + len) + d.slice(i, i + len) + d.slice(i + len);
        else d = d.slice(i) + d.slice(0, i);
      }
      return d;
    });
  const soupDoc = fc.array(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...SOUP) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) }), { maxLength: 60 }).map((xs) => xs.join(' '));
  const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: serverInfo { version }`).join(' ')} }`;
  const nested = (n: number) => `{ viewer { tenant { ${'domains { surfaces { homeDomain { '.repeat(n)}key${' } } }'.repeat(n)} } } }`;
  const DOC_EDGES = [
    '', ' ', '#only a comment', '\ufeff{ serverInfo { version } }', '{ serverInfo { version } }\u0000', '{ serverInfo { version } } \ud800', '{\r\nserverInfo {\r\n version } }',
    nestedArrayText(10_000), `{ ${'a { '.repeat(3000)}b${' }'.repeat(3000)} }`, aliases(20), aliases(21), nested(3), nested(6),
    `{ serverInfo ${'@include(if: true) '.repeat(21)}{ version } }`, `{ ${Array.from({ length: 2600 }, () => '__typename').join(' ')} }`,
    'query { __schema { types { name fields { name type { name ofType { name ofType { name } } } } } } }',
    'fragment A on Query { ...B } fragment B on Query { ...A } { ...A }', '{ ...on Query { ...on Query { serverInfo { version } } } }',
    'mutation { signUp(input: { email: 1 }) { ownerToken } }', 'query ($v: [Float!] = [1e309]) { search(input: { vector: $v }) { hits { score } } }',
    'query ($x: JSON = { a: $x }) { serverInfo { version } }', 'query { search(input: { vector: [1,0,0,0,0,0,0,0], k: 9999999999999 }) { hits { score } } }',
  ];
  const anyVariables: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.dictionary(fc.constantFrom('v', 'i', 'x', 'k', 'id', '__proto__', ''), fc.oneof(vectorArb, fc.jsonValue({ maxDepth: 3 }), wrongType), { maxKeys: 3 }) },
    { weight: 1, arbitrary: fc.constant({ v: GOOD_VECTOR }) },
    { weight: 1, arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom<unknown>('x', [], 1, raw('{"v":1e309}'))) },
  );

  it(
    'whole documents: random GraphQL-ish text, edited real documents, random variables',
    async () => {
      const arb = fc.record({
        query: fc.oneof({ weight: 3, arbitrary: editedDoc }, { weight: 3, arbitrary: soupDoc }, { weight: 2, arbitrary: fc.constantFrom(...DOC_EDGES, ...VALID_DOCS) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) }),
        variables: anyVariables,
        operationName: fc.option(fc.oneof(fc.constantFrom<unknown>('A', 'B', 'Q', '', null, 1), unicodeString(8)), { nil: undefined }),
        token: fc.oneof({ weight: 3, arbitrary: fc.constantFrom<TokenName>('owner', 'vo2') }, { weight: 1, arbitrary: anyToken }),
      });
      await fuzz('documents (text)', arb, (c): Call => ({ query: c.query, variables: c.variables, operationName: c.operationName, token: c.token }));
    },
    TEST_TIMEOUT,
  );

  /** Values for the schema-driven documents, by argument / input-field name: the first two of each list are well-formed. */
  const docValues: DocValues = {
    // The harness's tenant and surfaces must outlive every case; erasure and surface removal have their own suite
    // (erasure.test.ts, which also tries them with a surface token), and their owner-only rules are in the permissions
    // snapshot.
    skipMutations: new Set(['deleteTenant', 'deleteSurface']),
    value(ch: Chooser, name: string, typeName: string, valid: boolean): unknown {
      const pick = (xs: readonly unknown[]) => (valid ? xs[ch.next(Math.min(2, xs.length))] : ch.pick(xs));
      switch (name) {
        case 'wrongType':
          return pick([1, 'x', true, null, [1], { a: 1 }, raw('1e309')]);
        case 'vector':
          return pick([GOOD_VECTOR, unit(3), [1], Array(DIM).fill(0), Array(DIM).fill(raw('1e309')), 'v']);
        case 'records':
          return pick([[{ kind: 'note', vector: GOOD_VECTOR }], [{ id: fresh('id'), kind: 'doc', text: 'doc', vector: unit(2), metadata: { d: 1 }, occurredAt: '2026-01-01' }], [], [{ kind: 'note' }], undefined]);
        case 'ids':
          return pick([['never-was'], ['seed-3'], [], ['bad id'], undefined]);
        case 'domains':
          return pick([['health'], ['health', 'business'], undefined, [], ['nope'], ['Bad']]);
        case 'kinds':
          return pick([['note'], ['note', 'doc'], undefined, [], ['bad kind']]);
        case 'mounts':
          return pick([[{ domain: 'health', access: new Enum('READ') }], [], [{ domain: 'nope', access: new Enum('READ_WRITE') }], undefined]);
        case 'domains[]':
          return pick(['health', 'business', 'nope', 'Bad', fresh('key')]);
        case 'ids[]':
          return pick(['never-was', 'seed-2', 'bad id', '']);
        case 'kinds[]':
          return pick(['note', 'doc', 'bad kind', '']);
        case 'key':
        case 'homeDomain':
          return pick([fresh('key'), 'health', 'business', 'finance', 'sleep', 'nope', 'Bad Key', '']);
        case 'domain':
        case 'surface':
          return pick(['health', 'vo2', 'business', 'finance', 'sleep', 'dash', 'nope', fresh('key'), 'Bad Key', '']);
        case 'email':
          return pick([fresh('email'), fresh('email'), 'not-an-email', a.email, '']);
        case 'amount':
          return pick(['1', '5', '0', '-1', '1e3', 1, '1000000000000001', raw('2')]);
        case 'reason':
          return pick(['fuzz doc', 'café', '', ' ', 'x'.repeat(201), 'cafe\u0301']);
        case 'idempotencyKey':
          return pick([fresh('idem'), fresh('idem'), 'fuzz-doc-key', '']);
        case 'id':
          return pick([fresh('spareTokenId'), fresh('uuid'), 'seed-1', 'x', '', 'a'.repeat(129), 1]);
        case 'after':
          return pick([fresh('uuid'), fresh('uuid'), 'seed-1', 'x', '', 1]);
        case 'kind':
          return pick(['note', 'workout', 'bad kind', '']);
        case 'text':
          return pick(['hello', undefined, '', 'bell\u0007']);
        case 'metadata':
          return pick([{ a: 1 }, [1, 'x', null], 'x', null, raw(nestedObjectText(40))]);
        case 'occurredAt':
        case 'occurredAfter':
        case 'occurredBefore':
          return pick(['2026-01-01', '2026-01-01T00:00:00Z', '2026-02-30', 'x', 1]);
        case 'k':
        case 'first':
          return pick([3, 10, 1, 0, -1, 1000, 1001, raw('2147483648'), 1.5]);
        case 'expiresInSeconds':
          return pick([60, 3600, 0, -1, 316224001, null]);
        case 'name':
        case 'displayName':
          return pick(['Name', 'Zoë', '', ' ', '\u202eevil', undefined]);
        case 'inviteCode':
          return pick([undefined, 'nxi_x', '']);
        case 'includeSurface':
        case 'includeGlobal':
        case 'if':
          return pick([true, false]);
        default:
          break;
      }
      switch (typeName) {
        case 'String':
          return pick(['x', 'health', '']);
        case 'Int':
          return pick([1, 2, 0, -1, raw('2147483648')]);
        case 'Float':
          return pick([1.5, 0, raw('1e309')]);
        case 'Boolean':
          return pick([true, false]);
        case 'ID':
          return pick(['x', 1, fresh('uuid')]);
        case 'BigInt':
          return pick(['1', '10', 1, '-1']);
        case 'DateTime':
          return pick(['2026-01-01', '2026-06-01T08:00:00+02:00', 'x']);
        case 'JSON':
          return pick([{ a: 1 }, [1, 2], 's', null]);
        default:
          return 'x';
      }
    },
  };

  it(
    'whole documents: random selections of real fields, aliases, fragments, directives, arguments and variables',
    async () => {
      const arb = fc.record({
        entropy: fc.array(fc.nat({ max: 0xffff }), { maxLength: 400, size: 'max' }),
        token: fc.oneof({ weight: 4, arbitrary: fc.constantFrom<TokenName>('owner', 'vo2', 'dash', 'none') }, { weight: 1, arbitrary: anyToken }),
      });
      await fuzz('documents (schema)', arb, (c): Call => {
        const doc = buildDocument(baseSchema, new Chooser(c.entropy), docValues, resolveFresh);
        return {
          query: doc.query,
          variables: doc.variables,
          ...(doc.operationName !== undefined ? { operationName: doc.operationName } : {}),
          token: c.token,
          readOnly: doc.operation !== 'mutation',
          ...(doc.operation === 'subscription' ? { headers: { accept: 'text/event-stream' } } : {}),
        };
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'whole requests: bodies of the wrong shape, content types, methods, query strings',
    async () => {
      const q = '{ serverInfo { version } }';
      const soupParam = fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 10 }));
      const bodyArb: fc.Arbitrary<string> = fc.oneof(
        { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
        { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
        {
          weight: 3,
          arbitrary: fc
            .record({ query: fc.oneof(fc.constant<unknown>(q), wrongType, fc.constant<unknown>(undefined)), variables: fc.oneof(fc.constant<unknown>(undefined), wrongType, fc.jsonValue({ maxDepth: 2 })), operationName: fc.oneof(fc.constant<unknown>(undefined), wrongType), extensions: fc.oneof(fc.constant<unknown>(undefined), wrongType, fc.constant<unknown>({ persistedQuery: { version: 1, sha256Hash: 'abc' } })) }, { requiredKeys: [] })
            .map((o) => toJson(o, resolveFresh)),
        },
        {
          weight: 2,
          arbitrary: fc.constantFrom(
            '', 'null', '"string"', '123', '[]', `[${JSON.stringify({ query: q })}]`, `[${JSON.stringify({ query: q })},${JSON.stringify({ query: q })}]`, '{"query":', '{"query": "{ serverInfo { version } }", "query": 2}',
            `{"query":${JSON.stringify(q)},"variables":${nestedArrayText(100_000)}}`, `{"query":${JSON.stringify(q)},"variables":${nestedObjectText(50_000)}}`, nestedArrayText(100_000),
            `{"query":${JSON.stringify(q)},"variables":"{\\"a\\":1}"}`, `{"query":${JSON.stringify(q)},"variables":{"__proto__":{"x":1}}}`, '\ufeff{"query":"{ serverInfo { version } }"}',
            '{"query":"{ serverInfo { version } }"}\u0000', q, 'query=%7B%20serverInfo%20%7B%20version%20%7D%20%7D', '{"query":"\\ud800"}', '{"query":"{ serverInfo { version } }","variables":NaN}',
          ),
        },
      );
      const arb = fc.record({
        body: bodyArb,
        contentType: fc.constantFrom<string | null | undefined>('application/json', 'application/json; charset=utf-8', 'application/graphql', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/vnd.api+json', '', null, undefined, 'APPLICATION/JSON', 'application/graphql-response+json', 'application/json; charset=latin1'),
        accept: fc.constantFrom<string | undefined>(undefined, 'application/json', 'application/graphql-response+json', 'text/event-stream', 'multipart/mixed', '*/*', 'text/plain', 'application/xml'),
        method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
        // A query string (GET's only way to send an operation; ignored or not beside a POST body): each parameter
        // absent, well-formed or not, percent-encoded as a client would (and sometimes not).
        search: fc.option(
          fc
            .record(
              {
                query: fc.oneof(fc.constantFrom(q, 'mutation { createDomain(input: { key: "getfuzz" }) { key } }', '{', 'subscription { nexusEvents { type } }', ''), soupParam),
                variables: fc.oneof(fc.constantFrom('{}', '{"v":1}', 'x', '{', 'null', '1', '[]', '"s"', '{"v":1e309}', ''), fc.json({ maxDepth: 2 }), soupParam),
                extensions: fc.oneof(fc.constantFrom('{}', 'x', '{', '[]', '{"persistedQuery":{"version":1,"sha256Hash":"abc"}}'), soupParam),
                operationName: fc.oneof(fc.constantFrom('A', '', 'x'), soupParam),
              },
              { requiredKeys: [] },
            )
            .chain((params) =>
              fc.constantFrom(...(['encoded', 'raw', 'repeated'] as const)).map((how) =>
                Object.entries(params)
                  .map(([k, v]) => [k, v, encodeURIComponent(v.toWellFormed())] as const)
                  .map(([k, v, e]) => (how === 'raw' ? `${k}=${v}` : how === 'repeated' ? `${k}=${e}&${k}=${e}` : `${k}=${e}`))
                  .join('&'),
              ),
            ),
          { freq: 4, nil: undefined },
        ),
        token: fc.oneof({ weight: 3, arbitrary: fc.constantFrom<TokenName>('owner', 'vo2', 'none') }, { weight: 1, arbitrary: anyToken }),
      });
      await fuzz('requests', arb, (c): Call => ({
        body: c.method === 'GET' ? undefined : c.body,
        query: undefined,
        contentType: c.contentType,
        method: c.method,
        ...(c.search !== undefined ? { search: c.search } : {}),
        headers: c.accept ? { accept: c.accept } : {},
        token: c.token,
      }));
    },
    TEST_TIMEOUT,
  );
});

/** How many root fields a mutation document selects, through fragments (0 for anything else or what does not parse). */
function rootMutationFields(query: string | undefined): number {
  if (!query) return 0;
  try {
    const document = parse(query);
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    const count = (set: SelectionSetNode, seen: Set<string>): number =>
      set.selections.reduce((n, s) => {
        if (s.kind === Kind.FIELD) return n + 1;
        if (s.kind === Kind.INLINE_FRAGMENT) return n + count(s.selectionSet, seen);
        const fragment = fragments.get(s.name.value);
        if (!fragment || seen.has(s.name.value)) return n;
        return n + count(fragment.selectionSet, new Set([...seen, s.name.value]));
      }, 0);
    return Math.max(0, ...document.definitions.map((d) => (d.kind === Kind.OPERATION_DEFINITION && d.operation === 'mutation' ? count(d.selectionSet, new Set()) : 0)));
  } catch {
    return 0;
  }
}
