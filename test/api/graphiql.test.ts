// GraphiQL must work on a machine with no internet: the page served on GET
// /graphql references nothing outside the server, and a real browser renders it
// and runs a query while making no request to any other host.
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse, print } from 'graphql';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, noticeIfChromiumMissing, requireChromium, chromiumInstalled, CHROMIUM_PATH } from '../helpers/chromium.js';
import { startNexus, type TestNexus } from '../helpers/nexus.js';

// ---------------------------------------------------------------------------
// Finding references to other hosts in an HTML page (inline scripts included).

interface ExternalReference {
  rule: string;
  url: string;
  host: string;
}

/** Host (with port) a URL would be fetched from over the network, or undefined for relative, data:, blob:, etc. */
function networkHost(value: string): string | undefined {
  const m = /^\s*(?:(?:https?|wss?|ftp):)?\/\/([^/?#\s\\'"`]+)/i.exec(value);
  return m?.[1]?.toLowerCase();
}

// A quoted ("…", '…', `…`) or unquoted value, as HTML attributes and JS/CSS arguments allow.
const VALUE = String.raw`(?:"([^"]*)"|'([^']*)'|\x60([^\x60]*)\x60|([^\s"'\x60<>()]+))`;

const RULES: [string, RegExp][] = [
  // Markup that loads or links: <script src>, <link href>, <img srcset>, <form action>, …
  ['attribute', new RegExp(String.raw`\b(?:src|href|srcset|action|formaction|poster|data|background|ping|xlink:href)\s*=\s*` + VALUE, 'gi')],
  ['css url()', new RegExp(String.raw`\burl\(\s*` + VALUE, 'gi')],
  ['css @import', new RegExp(String.raw`@import\s+` + VALUE, 'gi')],
  // Script that loads: import(), fetch(), importScripts(), new Worker(), …
  ['script call', new RegExp(String.raw`\b(?:import|fetch|importScripts|Worker|SharedWorker|EventSource|WebSocket|sendBeacon)\s*\(\s*` + VALUE, 'g')],
];

// Absolute URLs of loadable files written anywhere, e.g. worker URLs kept in a JS object and fetched later.
const RESOURCE_LITERAL =
  /\b(?:https?|wss?):\/\/[^\s"'`<>()\\]+?\.(?:m?js|css|wasm|ico|png|svg|gif|jpe?g|webp|avif|woff2?|ttf|otf|eot|json|map)(?=[?#"'`\s<>()\\]|$)/gi;

/**
 * Every reference in `page` that would make a browser contact a host other than
 * `ownHost`. The page is scanned as written and with JS string escapes removed
 * (`src=\"https://…\"` inside a script string counts too).
 */
function externalReferences(page: string, ownHost: string): ExternalReference[] {
  const own = ownHost.toLowerCase();
  const found = new Map<string, ExternalReference>();
  const note = (rule: string, url: string) => {
    const host = networkHost(url);
    if (host !== undefined && host !== own) found.set(`${rule} ${url}`, { rule, url: url.trim().slice(0, 200), host });
  };
  for (const text of [page, page.replace(/\\+(["'`/])/g, '$1')]) {
    for (const [rule, re] of RULES) {
      for (const m of text.matchAll(re)) {
        const value = m[1] ?? m[2] ?? m[3] ?? m[4] ?? '';
        // srcset holds "url descriptor, url descriptor"; the rest hold one URL.
        for (const url of rule === 'attribute' && /^\s*srcset/i.test(m[0]) ? value.split(',').map((c) => c.trim().split(/\s+/)[0] ?? '') : [value]) {
          note(rule, url);
        }
      }
    }
    for (const m of text.matchAll(RESOURCE_LITERAL)) note('resource URL', m[0]);
  }
  return [...found.values()];
}

describe('externalReferences (the checker itself)', () => {
  it('flags what a CDN-backed GraphiQL page contains', () => {
    // Shaped like a page that loads GraphiQL from a CDN: unquoted attributes,
    // worker URLs as string literals fetched later, escaped strings, CSS.
    const page = [
      '<link rel=icon href=https://raw.example.org/favicon.ico>',
      '<link crossorigin rel=stylesheet href="https://cdn.example.com/x/graphiql.css">',
      '<script src=https://cdn.example.com/x/graphiql.umd.js></script>',
      '<script>const workerUrls={json:"https://cdn.example.com/x/json.worker.js"};fetch(o)</script>',
      '<script>import("//esm.example.net/react");fetch(`https://api.example.net/q`)</script>',
      '<script>el.innerHTML="<img src=\\"https://img.example.net/a\\">"</script>',
      '<style>@font-face{src:url(https://fonts.example.com/f)}@import "https://css.example.com/b";</style>',
      '<img srcset="/a.png 1x, https://img2.example.net/b.png 2x">',
    ].join('\n');
    const hosts = new Set(externalReferences(page, 'nexus.test').map((r) => r.host));
    expect([...hosts].sort()).toEqual(
      [
        'api.example.net',
        'cdn.example.com',
        'css.example.com',
        'esm.example.net',
        'fonts.example.com',
        'img.example.net',
        'img2.example.net',
        'raw.example.org',
      ].sort(),
    );
  });

  it('accepts data: URIs, relative and same-host URLs, and URLs that are only text', () => {
    const page = [
      '<link rel="icon" href="data:image/x-icon;base64,AAAB">',
      '<script src="/static/app.js"></script><a href="http://nexus.test/graphql">self</a>',
      '<script>const s="http://www.w3.org/2000/svg";const d="see https://github.com/graphql/graphiql";',
      'const u="monaco://variables-schema.json";fetch(url);import(`${base}/x.js`);</script>',
      '<div style="background:url(data:image/png;base64,AAAA)"></div>',
    ].join('\n');
    expect(externalReferences(page, 'nexus.test')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------

const SERVER_INFO_QUERY = '{ serverInfo { vectorDimension version } }';

noticeIfChromiumMissing('GraphiQL');
const browserIt = requireChromium ? it : it.skip;

describe('GraphiQL', () => {
  let nexus: TestNexus;
  let withoutGraphiql: TestNexus;

  beforeAll(async () => {
    [nexus, withoutGraphiql] = await Promise.all([startNexus(), startNexus({ env: { NEXUS_GRAPHIQL: 'false' } })]);
  });
  afterAll(async () => {
    await Promise.all([nexus?.close(), withoutGraphiql?.close()]);
  });

  it('is served as one self-contained HTML page that references no other host', async () => {
    const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html\b/);
    const page = await res.text();
    expect(page).toMatch(/^\s*<!doctype html>/i);
    expect(page).toContain('<title>Nexus</title>');
    expect(page).toContain('query ServerInfo'); // our default query, not Yoga's
    expect(page.length).toBeGreaterThan(1_000_000); // GraphiQL, Monaco and its workers are inlined
    expect(externalReferences(page, 'nexus.test')).toEqual([]);
  });

  it('is not served when NEXUS_GRAPHIQL=false', async () => {
    const res = await withoutGraphiql.server.yoga.fetch('http://nexus.test/graphql', { headers: { accept: 'text/html' } });
    const body = await res.text();
    expect(res.status).not.toBe(200);
    expect(res.headers.get('content-type') ?? '').not.toMatch(/html/);
    expect(body).not.toMatch(/<html|graphiql/i);
    // The API itself still answers.
    const info = await withoutGraphiql.gql(SERVER_INFO_QUERY);
    expect(info.data?.serverInfo).toMatchObject({ vectorDimension: 8 });
  });

  browserIt('renders in Chromium offline and runs a query, requesting nothing from other hosts', async () => {
    if (!chromiumInstalled) throw new Error(`CI=true but ${CHROMIUM_PATH} is missing: apt-get install -y chromium`);
    const server = http.createServer(nexus.server.yoga);
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let browser: Browser | undefined;
    let page: Page | undefined;
    const requests: { url: string; method: string; postData: string | null }[] = [];
    const failures: string[] = [];
    try {
      browser = await launchChromium();
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 } }); // fresh: no stored GraphiQL tabs
      context.on('request', (r) => requests.push({ url: r.url(), method: r.method(), postData: r.postData() }));
      context.on('requestfailed', (r) => failures.push(`${r.url().slice(0, 120)}: ${r.failure()?.errorText}`));
      context.on('response', (r) => {
        if (r.status() >= 400) failures.push(`${r.url().slice(0, 120)}: HTTP ${r.status()}`);
      });
      page = await context.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));

      await page.goto(`${origin}/graphql`, { waitUntil: 'load', timeout: 15_000 });
      // Monaco renders spaces as no-break spaces.
      const editorText = (selector: string) =>
        page!.locator(selector).innerText().then((t) => t.replace(/\u00a0/g, ' '));
      const waitForText = (selector: string, text: string) =>
        page!.waitForFunction(
          ([s, t]) => (document.querySelector(s)?.textContent ?? '').replace(/\u00a0/g, ' ').includes(t),
          [selector, text] as const,
          { timeout: 10_000 },
        );
      const QUERY_LINES = '.graphiql-query-editor .view-lines';
      const RESULT_LINES = '.graphiql-response .view-lines';

      // The editor shows our default query: a fresh profile has no stored tabs.
      await waitForText(QUERY_LINES, 'query ServerInfo');

      // Replace the query. Monaco auto-closes braces even for inserted text, so
      // drop whatever is left after the cursor and check the editor holds exactly our query.
      await page.locator(QUERY_LINES).click();
      await page.keyboard.press('Control+A');
      await page.keyboard.insertText(SERVER_INFO_QUERY);
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+Shift+End');
      await page.keyboard.press('Delete');
      await page.waitForFunction(
        ([s, t]) => (document.querySelector(s)?.textContent ?? '').replace(/\u00a0/g, ' ').trim() === t,
        [QUERY_LINES, SERVER_INFO_QUERY] as const,
        { timeout: 5_000 },
      );

      // GraphiQL re-parses the editor after a delay. Until it has, it still sees the
      // default query's two operations and the run button only opens an operation
      // menu (aria-haspopup); clicking it then runs nothing. Click the plain button.
      await page.locator('button.graphiql-execute-button:not([aria-haspopup])').click({ timeout: 5_000 });
      await waitForText(RESULT_LINES, 'vectorDimension');
      const result = JSON.parse(await editorText(RESULT_LINES));
      expect(result).toEqual({ data: { serverInfo: { vectorDimension: 8, version: expect.stringMatching(/^\d+\.\d+\.\d+/) } } });

      // What the run button sent is our query (GraphiQL strips ignored characters).
      const sent = requests
        .filter((r) => r.method === 'POST' && r.postData && !r.postData.includes('IntrospectionQuery'))
        .map((r) => print(parse(JSON.parse(r.postData!).query)));
      expect(sent).toEqual([print(parse(SERVER_INFO_QUERY))]);

      // Every request stayed on this server; data: and blob: (Monaco workers) are local.
      const elsewhere = requests
        .map((r) => r.url)
        .filter((url) => {
          if (url.startsWith('data:')) return false;
          const target = url.startsWith('blob:') ? url.slice('blob:'.length) : url;
          try {
            return new URL(target).origin !== origin;
          } catch {
            return true;
          }
        })
        .map((url) => url.slice(0, 120));
      expect(elsewhere).toEqual([]);
      expect(requests.some((r) => r.url === `${origin}/graphql` && r.method === 'GET')).toBe(true);
      expect(failures).toEqual([]);
      expect(pageErrors).toEqual([]);
    } catch (error) {
      // A page that waits for a CDN never renders: say which requests went where.
      await page?.screenshot({ path: path.join(tmpdir(), 'graphiql-failure.png') }).catch(() => undefined);
      console.error(
        `GraphiQL browser test failed (screenshot: ${path.join(tmpdir(), 'graphiql-failure.png')}).\nrequests:\n${requests
          .map((r) => `  ${r.method} ${r.url.slice(0, 120)}`)
          .join('\n')}\nfailed:\n${failures.map((f) => `  ${f}`).join('\n')}`,
      );
      throw error;
    } finally {
      await browser?.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
