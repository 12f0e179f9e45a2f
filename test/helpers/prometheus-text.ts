// A strict parser of the Prometheus text exposition format (0.0.4), for tests that read /metrics. Written here because
// the registry's parse-prometheus-text-format (1.1.1) drops the labels of labelled histograms. It throws on anything
// a Prometheus server would refuse or that the format forbids: bad names or escapes, a TYPE after samples, a family
// split in two, a series repeated, a histogram whose buckets are not cumulative or whose +Inf differs from _count.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

class ParseError extends Error {
  constructor(line: number, message: string) {
    super(`metrics line ${line}: ${message}`);
  }
}

function number(text: string, line: number): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new ParseError(line, `not a number: ${JSON.stringify(text)}`);
  return Number(text);
}

function unescape(text: string, line: number, quotes: boolean): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && quotes) return '"';
    throw new ParseError(line, `bad escape \\${c}`);
  });
}

function sampleOf(text: string, line: number): Sample {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(text);
  if (!head?.[1]) throw new ParseError(line, 'a sample must start with a metric name');
  const name = head[1];
  let rest = text.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      if (rest.startsWith('}')) break;
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"/.exec(rest);
      if (!label?.[1] || label[2] === undefined) throw new ParseError(line, `bad label in ${JSON.stringify(text)}`);
      if (label[1] in labels) throw new ParseError(line, `label ${label[1]} repeated`);
      labels[label[1]] = unescape(label[2], line, true);
      rest = rest.slice(label[0].length);
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new ParseError(line, `expected , or } in ${JSON.stringify(text)}`);
    }
    rest = rest.slice(1);
  }
  const parts = /^ ([^ ]+)(?: (-?\d+))?$/.exec(rest);
  if (!parts?.[1]) throw new ParseError(line, `expected " value [timestamp]" in ${JSON.stringify(text)}`);
  return { name, labels, value: number(parts[1], line) };
}

/** The family a sample name belongs to, given the families' types (histogram and summary suffixes). */
function familyName(sample: string, types: Map<string, MetricType>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const base = sample.slice(0, -suffix.length);
    const type = types.get(base);
    if (type === 'histogram' || (type === 'summary' && suffix !== '_bucket')) return base;
  }
  return sample;
}

const seriesKey = (s: Sample) => `${s.name}{${Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;

function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = seriesKey({ ...s, name: '', labels: rest });
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`);
      entry.buckets.push([number(le, 0), s.value]);
    } else if (s.name.endsWith('_count')) entry.count = s.value;
    else if (s.name.endsWith('_sum')) entry.sum = s.value;
    else throw new Error(`${family.name}: a histogram holds only _bucket, _sum and _count samples`);
  }
  for (const [key, { buckets, count, sum }] of series) {
    const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
    if (sorted.at(-1)?.[0] !== Infinity) throw new Error(`${family.name}${key}: no +Inf bucket`);
    sorted.forEach(([, c], i) => {
      if (i > 0 && c < (sorted[i - 1] as [number, number])[1]) throw new Error(`${family.name}${key}: buckets are not cumulative`);
    });
    if (count === undefined || sum === undefined) throw new Error(`${family.name}${key}: _count or _sum missing`);
    if (sorted.at(-1)?.[1] !== count) throw new Error(`${family.name}${key}: +Inf bucket differs from _count`);
  }
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith('\n')) throw new ParseError(text.split('\n').length, 'the text must end with a line feed');
  const families = new Map<string, Family>();
  const types = new Map<string, MetricType>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: Family | undefined;
  const enter = (name: string, line: number): Family => {
    if (current?.name === name) return current;
    if (current) closed.add(current.name);
    if (closed.has(name)) throw new ParseError(line, `family ${name} is split in two`);
    const family = families.get(name) ?? { name, type: 'untyped' as MetricType, help: '', samples: [] };
    families.set(name, family);
    current = family;
    return family;
  };
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(raw);
    if (meta?.[1] && meta[2]) {
      const name = meta[2];
      if (!METRIC_NAME.test(name)) throw new ParseError(line, `bad metric name ${JSON.stringify(name)}`);
      const family = enter(name, line);
      if (meta[1] === 'HELP') {
        if (family.help) throw new ParseError(line, `a second HELP for ${name}`);
        family.help = unescape(meta[3] ?? '', line, false);
      } else {
        const type = meta[3] as MetricType;
        if (!TYPES.has(type)) throw new ParseError(line, `bad type ${JSON.stringify(meta[3])}`);
        if (types.has(name)) throw new ParseError(line, `a second TYPE for ${name}`);
        if (family.samples.length) throw new ParseError(line, `TYPE of ${name} after its samples`);
        types.set(name, type);
        family.type = type;
      }
      return;
    }
    if (raw.startsWith('#')) return; // a comment
    const sample = sampleOf(raw, line);
    for (const label of Object.keys(sample.labels)) if (!LABEL_NAME.test(label)) throw new ParseError(line, `bad label name ${label}`);
    const key = seriesKey(sample);
    if (series.has(key)) throw new ParseError(line, `series ${key} repeated`);
    series.add(key);
    enter(familyName(sample.name, types), line).samples.push(sample);
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

const matches = (labels: Record<string, string>, want: Record<string, string>) => Object.entries(want).every(([k, v]) => labels[k] === v);

/** The value of the one sample named `name` whose labels include `labels`; 0 when there is none yet. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(familyName(name, new Map([...families].map(([n, f]) => [n, f.type]))));
  const found = family?.samples.filter((s) => s.name === name && matches(s.labels, labels)) ?? [];
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} series`);
  return found[0]?.value ?? 0;
}
