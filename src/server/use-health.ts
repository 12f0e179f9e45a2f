// GET /health (the process answers: Yoga's built-in check, its empty 200 given a JSON body) and GET /ready
// (Yoga's useReadinessCheck: 200 when every check of readiness.ts passes, 503 otherwise, each check in the body).
import { useReadinessCheck, type Plugin } from 'graphql-yoga';
import type { Readiness } from './readiness.js';

export const HEALTH_PATH = '/health';
export const READY_PATH = '/ready';

const json = (body: unknown, status: number, headers?: Headers) => {
  const h = new Headers(headers);
  h.set('content-type', 'application/json; charset=utf-8');
  h.set('cache-control', 'no-store');
  return new Response(JSON.stringify(body), { status, headers: h });
};

export function useHealth(readiness: Readiness): Plugin[] {
  return [
    useReadinessCheck({
      endpoint: READY_PATH,
      check: async () => {
        const report = await readiness.report();
        return json(report, report.status === 'ready' ? 200 : 503);
      },
    }),
    {
      // Yoga answers /health before any plugin of ours runs, with no body; the answer keeps its headers (CORS, the
      // x-yoga-id) and gains a JSON body. Matched as Yoga matches it.
      onResponse({ request, response, setResponse }) {
        if (!request.url.endsWith(HEALTH_PATH) || response.status !== 200 || !response.headers.has('x-yoga-id') || response.body !== null) return;
        setResponse(json({ status: 'ok' }, 200, response.headers));
      },
    },
  ];
}
