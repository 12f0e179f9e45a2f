// CPU profiles for bench/throughput.ts: the V8 sampling profiler of this process (node:inspector), and the
// self time of each function, aggregated over every call site and mapped back to the TypeScript line (tsx leaves
// source maps that node:module can read), as a table of the top frames and a sum by package.
import { Session } from 'node:inspector/promises';
import { findSourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Frame {
  fn: string;
  /** Where, relative to the project root, with the 1-based (TypeScript, when mapped) line. */
  where: string;
  /** Package or source folder the frame belongs to. */
  owner: string;
  selfMs: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  /** Sampled time not idle: what the percentages are of. */
  busyMs: number;
  frames: Frame[];
  owners: { owner: string; selfMs: number }[];
  /** The project's own functions (src/, bench/) by inclusive time: their callees, libraries included, counted in. */
  inclusive: { fn: string; where: string; ms: number }[];
}

export interface Profiler {
  start(): Promise<void>;
  stop(): Promise<CpuProfile>;
  close(): void;
}

/** The profiler of this process's main thread, sampling every intervalUs. */
export async function createProfiler(intervalUs: number): Promise<Profiler> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  return {
    start: async () => {
      await session.post('Profiler.start');
    },
    stop: async () => (await session.post('Profiler.stop')).profile as unknown as CpuProfile,
    close: () => session.disconnect(),
  };
}

const PSEUDO = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function ownerOf(file: string, root: string): string {
  if (!file) return '(V8 / native)';
  if (file.startsWith('node:')) return 'node: (core)';
  const rel = path.relative(root, file);
  const nm = rel.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = rel.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? rel);
  }
  if (rel.startsWith('..')) return file;
  const parts = rel.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}/` : rel;
}

/** Maps a generated (0-based) position back through the file's source map, when it has one. */
function located(frame: CallFrame, root: string): { file: string; line: number } {
  const { url, lineNumber, columnNumber } = frame;
  if (!url) return { file: '', line: 0 };
  if (!url.startsWith('file://')) return { file: url, line: lineNumber + 1 };
  const file = fileURLToPath(url);
  if (!file.includes('/node_modules/')) {
    try {
      const entry = (findSourceMap(url) ?? findSourceMap(file))?.findEntry(lineNumber, columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
      if (entry?.originalSource && entry.originalLine !== undefined) {
        const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : entry.originalSource;
        return { file: source, line: entry.originalLine + 1 };
      }
    } catch {
      // No map: the generated line it is.
    }
  }
  return { file, line: lineNumber + 1 };
}

/** Self time per function (summed over every node of the tree with the same function, file and line). */
export function summarizeProfile(profile: CpuProfile, root: string): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  // Sample i lasts until sample i + 1 (as DevTools counts); the last one until the profile's end.
  let at = profile.startTime;
  const stamps = timeDeltas.map((d) => (at += d));
  for (let i = 0; i < samples.length; i++) {
    const next = i + 1 < stamps.length ? (stamps[i + 1] as number) : profile.endTime;
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, next - (stamps[i] as number)));
  }
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const info = new Map<number, { fn: string; where: string; owner: string; own: boolean }>();
  const infoOf = (node: ProfileNode) => {
    let i = info.get(node.id);
    if (!i) {
      const cf = node.callFrame;
      const fn = cf.functionName || '(anonymous)';
      const { file, line } = located(cf, root);
      const rel = file.startsWith(root) ? path.relative(root, file) : file;
      const own = file.startsWith(root) && !rel.includes('node_modules/');
      i = { fn, where: file ? `${rel}:${line}` : '', owner: PSEUDO.has(fn) ? fn : ownerOf(file, root), own };
      info.set(node.id, i);
    }
    return i;
  };
  const frames = new Map<string, Frame>();
  const owners = new Map<string, number>();
  const inclusive = new Map<string, { fn: string; where: string; ms: number }>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    totalUs += us;
    const i = infoOf(node);
    if (i.fn === '(idle)') {
      idleUs += us;
      continue;
    }
    const key = `${i.fn}\u0000${i.where}`;
    const f = frames.get(key) ?? { fn: i.fn, where: i.where, owner: i.owner, selfMs: 0 };
    f.selfMs += us / 1000;
    frames.set(key, f);
    owners.set(i.owner, (owners.get(i.owner) ?? 0) + us / 1000);
    // Each of the project's functions on this stack, once however often it recurses.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at);
      if (!n) break;
      const a = infoOf(n);
      if (!a.own) continue;
      const k = `${a.fn}\u0000${a.where}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const e = inclusive.get(k) ?? { fn: a.fn, where: a.where, ms: 0 };
      e.ms += us / 1000;
      inclusive.set(k, e);
    }
  }
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    frames: [...frames.values()].sort((a, b) => b.selfMs - a.selfMs),
    owners: [...owners].map(([owner, selfMs]) => ({ owner, selfMs })).sort((a, b) => b.selfMs - a.selfMs),
    inclusive: [...inclusive.values()].sort((a, b) => b.ms - a.ms),
  };
}

const pct = (x: number, of: number) => `${((100 * x) / (of || 1)).toFixed(1)}%`;

/** The top frames as text lines: self ms, % of busy time, function, where. */
export function frameLines(s: ProfileSummary, top: number): string[] {
  return s.frames.slice(0, top).map((f, i) => `${String(i + 1).padStart(2)}. ${f.selfMs.toFixed(1).padStart(8)} ms ${pct(f.selfMs, s.busyMs).padStart(6)}  ${f.fn}  ${f.where}`);
}

/** Self time by package or source folder, in µs per request, beside a baseline profile's (e.g. the bare server's). */
export function ownerLines(s: ProfileSummary, requests: number, top: number, base?: { s: ProfileSummary; requests: number; label: string }): string[] {
  const per = (ms: number, n: number) => ((1000 * ms) / (n || 1)).toFixed(1).padStart(8);
  const baseOf = new Map(base?.s.owners.map((o) => [o.owner, o.selfMs]) ?? []);
  const header = `${'µs/req'.padStart(8)} ${'%'.padStart(6)}${base ? `  ${'µs/req'.padStart(8)} in ${base.label}` : ''}`;
  const rows = s.owners.slice(0, top).map((o) => {
    const b = base ? `  ${per(baseOf.get(o.owner) ?? 0, base.requests)}${' '.repeat(4 + base.label.length)}` : '';
    return `${per(o.selfMs, requests)} ${pct(o.selfMs, s.busyMs).padStart(6)}${b}  ${o.owner}`;
  });
  const total = `${per(s.busyMs, requests)} ${'100%'.padStart(6)}${base ? `  ${per(base.s.busyMs, base.requests)}${' '.repeat(4 + base.label.length)}` : ''}  (busy main thread, total)`;
  return [header, ...rows, total];
}

/** The project's own functions by inclusive time (what they cost with everything they call), µs per request. */
export function inclusiveLines(s: ProfileSummary, requests: number, top: number): string[] {
  return s.inclusive
    .slice(0, top)
    .map((f) => `${((1000 * f.ms) / (requests || 1)).toFixed(1).padStart(8)} µs/req ${pct(f.ms, s.busyMs).padStart(6)}  ${f.fn}  ${f.where}`);
}
