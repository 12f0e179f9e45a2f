// Reads a GraphQL-over-SSE response event by event, for subscription tests.
// The body is pumped eagerly: a stream nobody reads never starts its subscription.

export interface SseEvent {
  /** The SSE id: line of the event, when it had one. */
  id?: string;
  data?: any;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export interface SseStream {
  /** The next `next` event's payload; rejects after timeoutMs or when the stream ends first. */
  next(timeoutMs?: number): Promise<SseEvent>;
  close(): Promise<void>;
  /** How many comment lines (heartbeats) have arrived so far. */
  comments(): number;
}

export function readSse(res: Response): SseStream {
  if (!res.body) throw new Error('no response body');
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const queue: SseEvent[] = [];
  let waiting: (() => void) | undefined;
  let ended = false;
  let buffer = '';
  let comments = 0;

  void (async () => {
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const lines = buffer.slice(0, end).split('\n');
          buffer = buffer.slice(end + 2);
          const event = lines.find((l) => l.startsWith('event:'))?.slice(6).trim() ?? 'message';
          const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
          const id = lines.find((l) => l.startsWith('id:'))?.slice(3).trim();
          comments += lines.filter((l) => l.startsWith(':')).length;
          if (data && event !== 'complete') queue.push({ ...(JSON.parse(data) as SseEvent), ...(id ? { id } : {}) });
        }
        waiting?.();
      }
    } catch {
      // cancelled by close()
    } finally {
      ended = true;
      waiting?.();
    }
  })();

  return {
    async next(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (queue.length === 0) {
        if (ended) throw new Error('stream ended before an event arrived');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('timed out waiting for an event');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiting = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return queue.shift() as SseEvent;
    },
    async close() {
      // An in-process stream learns of the cancel only at its next write (a heartbeat): not waited for past a moment.
      await Promise.race([reader.cancel().catch(() => undefined), new Promise((r) => setTimeout(r, 50))]);
    },
    comments: () => comments,
  };
}
