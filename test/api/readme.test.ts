// The README's walk-through, run as a new user would: its shell blocks marked `<!-- readme-test -->` (in "A first
// walk-through" and "Live events"), in order, in one `bash -euo pipefail` session, against a real gateway process on
// default settings (vector dimension 384); then the whole walk-through once more against the same server.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const MARKER = '<!-- readme-test -->';
const RUN_TIMEOUT_MS = 90_000;

/** The text of one `## title` section, up to the next `## ` heading. */
function section(title: string): string {
  const start = README.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no section "## ${title}"`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** The ```sh blocks right after a `<!-- readme-test -->` line, in order. */
function markedBlocks(text: string): string[] {
  const re = new RegExp(`^${MARKER}\\n\`\`\`sh\\n([\\s\\S]*?)^\`\`\`$`, 'gm');
  return [...text.matchAll(re)].map((m) => m[1] as string);
}

const walkThrough = markedBlocks(section('A first walk-through'));
const liveEvents = markedBlocks(section('Live events'));
const textSearch = markedBlocks(section('Text'));
const SNIPPETS = [...walkThrough, ...liveEvents, ...textSearch];

interface Run {
  code: number | null;
  /** stdout and stderr together, in order. */
  output: string;
  /** The output of each snippet, in order (index SNIPPETS.length: the test's own checks, if any). */
  parts: string[];
}

const PART = '@@readme-test part';

/** Runs the snippets, then `extra`, in one bash session (stderr merged into stdout), killed after RUN_TIMEOUT_MS. */
async function runWalkThrough(gql: string, extra = ''): Promise<Run> {
  const script = ['exec 2>&1', ...[...SNIPPETS, extra].map((s, i) => `echo '${PART} ${i}'\n${s}`)].join('\n');
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', GQL: gql },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true, // its own process group, so that a timeout also ends a background curl
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => {
    output += `\n[killed after ${RUN_TIMEOUT_MS} ms]`;
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  }, RUN_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  const parts = output.split(new RegExp(`^${PART} \\d+\\n`, 'm')).slice(1);
  return { code, output, parts };
}

/** The JSON documents gql printed (pretty-printed: from a `{` line to the next `}` line). */
function printedData(text: string): any[] {
  return [...text.matchAll(/^\{\n[\s\S]*?^\}$/gm)].map((m) => JSON.parse(m[0]));
}

/** The part printed by the first snippet whose source contains `needle`. */
function partOf(run: Run, needle: string): string {
  const index = SNIPPETS.findIndex((s) => s.includes(needle));
  if (index < 0) throw new Error(`no README snippet contains ${needle}`);
  return run.parts[index] ?? '';
}

// Run once, after the walk-through, in the same session: the gql helper's error path (a duplicate email).
const CHECKS = `
DUP="readme-dup-$(date +%s)-$$@example.com"
SIGN_UP='mutation($email: String!) { signUp(input: { email: $email }) { ownerToken } }'
gql "$SIGN_UP" '' email="$DUP" > /dev/null
if ERR=$(gql "$SIGN_UP" '' email="$DUP" 2>&1 > /dev/null); then echo 'UNEXPECTED: duplicate sign-up succeeded'; fi
echo "duplicate stderr: $ERR"
OUT=$(gql "$SIGN_UP" '' email="$DUP" 2> /dev/null) && echo 'UNEXPECTED: duplicate sign-up succeeded'
echo "duplicate stdout: [$OUT]"
`;

describe('README walk-through', () => {
  let dataDir: string;
  let gateway: GatewayProcess | undefined;
  let first: Run;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'nexus-readme-'));
    gateway = await startGatewayProcess({ NEXUS_DATA_DIR: dataDir });
    first = await runWalkThrough(gateway.url, CHECKS);
  }, 180_000);

  afterAll(async () => {
    await gateway?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('has marked snippets in both sections, and none of them installs or starts anything', () => {
    expect(walkThrough.length).toBeGreaterThanOrEqual(4);
    expect(liveEvents.length).toBeGreaterThanOrEqual(1);
    expect(textSearch.length).toBeGreaterThanOrEqual(1);
    for (const s of SNIPPETS) expect(s).not.toMatch(/\bnpm\b/);
    // Every shell block of the two sections is one the test runs.
    for (const title of ['A first walk-through', 'Live events', 'Text']) {
      expect(section(title).split('```sh').length - 1).toBe(markedBlocks(section(title)).length);
    }
  });

  it('runs from start to end with bash -euo pipefail', () => {
    if (first.code !== 0) console.error(first.output);
    expect(first.code).toBe(0);
    expect(first.parts).toHaveLength(SNIPPETS.length + 1);
    expect(first.output).not.toMatch(/UNEXPECTED|killed after/);
  });

  it('shows no error but the one it means to', () => {
    const codes = [...first.parts.slice(0, SNIPPETS.length).join('').matchAll(/^([A-Z_]+): /gm)].map((m) => m[1]);
    expect(codes).toEqual(['FORBIDDEN']);
  });

  it('keeps words without a vector and finds them by text, then by text and a vector', () => {
    const [written, byText, hybrid] = printedData(partOf(first, 'squats and lunges'));
    expect(written.remember.records).toEqual([{ id: expect.any(String), hasVector: false }]);
    expect(byText.search.hits[0]).toMatchObject({ distance: null, record: { text: 'Heavy leg day: squats and lunges' } });
    expect(byText.search.hits[0].score).toBeGreaterThan(0);
    // Hybrid: the text-only note (no distance) and the vector records near "leg day" meet in one ranking.
    const texts = hybrid.search.hits.map((h: { record: { text: string } }) => h.record.text);
    expect(texts).toContain('Heavy leg day: squats and lunges');
    expect(hybrid.search.hits.some((h: { distance: number | null }) => typeof h.distance === 'number')).toBe(true);
  });

  it('creates the God View as a dashboard reading health and business, and tokens it can use', () => {
    const created = printedData(partOf(first, 'createSurface')).find((d) => d.godView);
    expect(created.godView.kind).toBe('DASHBOARD');
    expect(created.godView.mounts).toEqual(
      expect.arrayContaining([
        { domain: { key: 'health' }, access: 'READ' },
        { domain: { key: 'business' }, access: 'READ' },
      ]),
    );
    expect(created.sleep.mounts).toEqual(expect.arrayContaining([{ domain: { key: 'health' }, access: 'READ' }]));
    const viewer = printedData(partOf(first, 'createSurface')).find((d) => d.viewer);
    expect(viewer.viewer).toMatchObject({ role: 'SURFACE', surface: { key: 'god-view', kind: 'DASHBOARD' } });
    expect(viewer.viewer.tenant.domains.map((d: { key: string }) => d.key).sort()).toEqual(['business', 'finance', 'health']);
  });

  it('remembers records in three domains', () => {
    const written = printedData(partOf(first, 'remember(')).flatMap((d) => d.remember.records);
    expect(new Set(written.map((r: any) => r.domain.key))).toEqual(new Set(['health', 'business', 'finance']));
  });

  it('finds the leg day in health for Sleep, and fuses several domains for the God View', () => {
    const printed = printedData(partOf(first, '$GOD_VIEW" v='));
    const sleep = printed.find((d) => d.domain);
    expect(sleep.domain.search[0].record).toEqual({ text: 'heavy leg day', domain: { key: 'health' }, surface: { key: 'vo2' } });
    const hits = printed.find((d) => d.search).search.hits as { score: number; record: { text: string; domain: { key: string } } }[];
    expect(hits[0]?.record).toEqual({ text: 'heavy leg day', domain: { key: 'health' } });
    expect(hits.map((h) => h.record.text)).toContain('invoice Acme for consulting');
    expect(new Set(hits.map((h) => h.record.domain.key)).size).toBeGreaterThan(1);
  });

  it('shows that AGNx is FORBIDDEN on health, with the code', () => {
    const part = partOf(first, '"$AGNX" v=');
    expect(part).toMatch(/^FORBIDDEN: .*health/m);
    expect(part).toContain('refused, as it should be');
  });

  it('streams the REMEMBERED event to Sleep over SSE', () => {
    const part = partOf(first, 'text/event-stream');
    const events = [...part.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1] as string));
    expect(events).toContainEqual({
      data: { nexusEvents: { type: 'REMEMBERED', domain: { key: 'health' }, surface: { key: 'vo2' }, record: { text: 'tempo run intervals' } } },
    });
  });

  it('prints CODE: message on stderr (and nothing on stdout) when gql fails, as for a duplicate email', () => {
    const checks = first.parts[SNIPPETS.length] ?? '';
    expect(checks).toContain('duplicate stderr: CONFLICT: an account with this email already exists');
    expect(checks).toContain('duplicate stdout: []');
  });

  it('runs again, as it is, against the same server', async () => {
    const second = await runWalkThrough(gateway!.url);
    if (second.code !== 0) console.error(second.output);
    expect(second.code).toBe(0);
    expect(second.output).toMatch(/^FORBIDDEN: /m);
    expect(second.output).toContain('"type":"REMEMBERED"');
  }, RUN_TIMEOUT_MS + 10_000);
});
