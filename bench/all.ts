// `npm run bench`: every benchmark, one after another, each in a fresh process, then one table of every figure
// beside its baseline (measured in the same run as it), the ratio and the target. A missed target is reported as
// missed, not as a failure; a benchmark that crashes fails the run.
//
//   npm run bench                 # all of them, default sizes (about 15 minutes on 2 cores)
//   npm run bench -- ingest tenants   # only these
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { leftAligned, ratioOf, type Figure } from './lib/report.js';

const here = path.dirname(fileURLToPath(import.meta.url));

const BENCHMARKS: { key: string; file: string; args: string[] }[] = [
  { key: 'search', file: 'search.ts', args: [] },
  { key: 'ingest', file: 'ingest.ts', args: [] },
  { key: 'cold-s3', file: 'cold-s3.ts', args: [] },
  { key: 'tenants', file: 'tenants.ts', args: [] },
  { key: 'throughput', file: 'throughput.ts', args: [] },
];

interface Result {
  benchmark: string;
  figures: Figure[];
  notes: string[];
}

function run(file: string, args: string[]): Promise<{ code: number; results: Result[]; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, file), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const results: Result[] = [];
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('BENCH-RESULT ')) results.push(JSON.parse(line.slice('BENCH-RESULT '.length)) as Result);
        else process.stdout.write(`${line}\n`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, results, seconds: (performance.now() - started) / 1000 }));
  });
}

const fmt = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(3)) : 'n/a');

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((k) => !BENCHMARKS.some((b) => b.key === k));
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')}; choose from ${BENCHMARKS.map((b) => b.key).join(', ')}`);
  const chosen = BENCHMARKS.filter((b) => only.length === 0 || only.includes(b.key));
  const all: Result[] = [];
  const failed: string[] = [];
  const times: string[] = [];
  for (const b of chosen) {
    console.log(`\n#### ${b.key} (bench/${b.file}) ####`);
    const { code, results, seconds } = await run(b.file, b.args);
    times.push(`${b.key} ${seconds.toFixed(0)} s`);
    all.push(...results);
    if (code !== 0) failed.push(`${b.key} (exit ${code})`);
  }

  const rows = all.flatMap((r) =>
    r.figures.map((f) => [
      f.name,
      `${fmt(f.value)} ${f.unit}`.trim(),
      f.baseline ? `${fmt(f.baseline.value)} ${f.unit}`.trim() : '',
      Number.isFinite(ratioOf(f)) ? `${ratioOf(f).toFixed(3)}×` : '',
      f.target?.text ?? '',
      f.target ? (f.target.met ? 'met' : 'MISSED') : '',
    ]),
  );
  console.log('\n#### summary: every figure beside its baseline from the same run ####');
  console.log(leftAligned(['figure', 'value', 'baseline', 'ratio', 'target', ''], rows));
  const missed = all.flatMap((r) => r.figures).filter((f) => f.target && !f.target.met).length;
  const targets = all.flatMap((r) => r.figures).filter((f) => f.target).length;
  console.log(`\ntargets: ${targets - missed} met, ${missed} missed; time: ${times.join(', ')}`);
  await mkdir(path.join(here, 'results'), { recursive: true });
  await writeFile(path.join(here, 'results', 'summary.json'), `${JSON.stringify(all, null, 2)}\n`);
  console.log('written: bench/results/summary.json');
  if (failed.length) {
    console.error(`benchmarks that did not finish: ${failed.join(', ')}`);
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
