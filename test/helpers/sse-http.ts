// A GraphQL-over-SSE subscriber on a real HTTP socket (node:http), for soak and load runs: parses `id:`, `event:`
// and `data:` lines as they arrive, can be paused (a slow reader), dropped mid-stream and resumed with Last-Event-ID.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';

export interface SseHttpEvent {
  /** The SSE id: line of the event, when it had one. */
  id?: string;
  data?: any;
  errors?: { message: string; extensions?: { code?: string; reason?: string; [k: string]: unknown } }[];
}

export interface SseHttpOptions {
  /** The gateway's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  token: string;
  query: string;
  variables?: Record<string, unknown>;
  /** Sent as the Last-Event-ID header (a resume). */
  lastEventId?: string;
  /** Called for each `next` event as it is parsed. */
  onEvent?: (event: SseHttpEvent) => void;
  /** Keep every event in `events` (default true; a soak of a million events turns it off and counts in onEvent). */
  keep?: boolean;
}

export interface SseHttpStream {
  /** Resolves once a 200 arrived; rejects with the status and body otherwise (or when the request fails). */
  readonly opened: Promise<void>;
  /** Every `next` event so far, in order (empty with keep: false). */
  readonly events: SseHttpEvent[];
  /** Whether the response ended (the server closed it, or close() was called). */
  ended(): boolean;
  /** Whether the server sent `event: complete`. */
  completed(): boolean;
  /** Comment lines (heartbeats) so far. */
  comments(): number;
  /** Stops reading from the socket (its buffers fill, then the server's stream backs up). */
  pause(): void;
  resume(): void;
  /** Drops the connection at once, whatever is in flight. */
  close(): void;
  /** Resolves when the response has ended or its socket closed. */
  readonly done: Promise<void>;
}

export function openSseHttp(options: SseHttpOptions): SseHttpStream {
  const events: SseHttpEvent[] = [];
  const keep = options.keep ?? true;
  const url = new URL(options.url);
  let buffer = '';
  let response: IncomingMessage | undefined;
  let request: ClientRequest | undefined;
  let ended = false;
  let completed = false;
  let comments = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const over = () => {
    ended = true;
    finish();
  };

  const parse = (block: string) => {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments += 1;
      else if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('id:')) id = line.slice(3).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (event === 'complete') completed = true;
    if (event !== 'next' || data.length === 0) return;
    const parsed = { ...(JSON.parse(data.join('\n')) as SseHttpEvent), ...(id ? { id } : {}) };
    if (keep) events.push(parsed);
    options.onEvent?.(parsed);
  };

  const opened = new Promise<void>((resolve, reject) => {
    request = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          authorization: `Bearer ${options.token}`,
          ...(options.lastEventId ? { 'last-event-id': options.lastEventId } : {}),
        },
      },
      (res) => {
        response = res;
        res.setEncoding('utf8');
        res.on('end', over);
        res.on('close', over);
        if (res.statusCode !== 200) {
          let body = '';
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => reject(new Error(`SSE subscription answered HTTP ${res.statusCode}: ${body.slice(0, 500)}`)));
          return;
        }
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end).replace(/\r/g, '');
            buffer = buffer.slice(end + 2);
            parse(block);
          }
        });
        resolve();
      },
    );
    request.on('error', (error) => {
      over();
      reject(error);
    });
    request.end(JSON.stringify({ query: options.query, variables: options.variables ?? {} }));
  });
  // A rejection nobody awaited must not crash the process: the caller sees it through `opened` when it looks.
  opened.catch(() => undefined);

  return {
    opened,
    events,
    ended: () => ended,
    completed: () => completed,
    comments: () => comments,
    pause: () => response?.pause(),
    resume: () => response?.resume(),
    close: () => {
      if (response) response.destroy();
      else request?.destroy();
      over();
    },
    done,
  };
}
