// Server-Sent Events for subscriptions, in place of Yoga's own writer: each event carries its id (the SSE `id:`
// line, which EventSource sends back as Last-Event-ID when it reconnects), a heartbeat comment keeps idle streams
// open through proxies (NEXUS_EVENT_HEARTBEAT), and the stream is pulled only as fast as the socket drains, so a
// slow reader backs up into its own bounded queue (and is ended TOO_SLOW there), never into the server's memory.
import type { IncomingMessage } from 'node:http';
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export interface EventCursor {
  id: string | null;
}

const encoder = new TextEncoder();

/** The result as the client sees it: errors as JSON, without the internal `http` extensions. */
function serialise(result: ExecutionResult): string {
  const errors = result.errors?.map((error) => {
    const json = error instanceof GraphQLError ? error.toJSON() : { message: String((error as Error).message) };
    if (json.extensions) {
      const { http: _http, unexpected: _unexpected, ...extensions } = json.extensions as Record<string, unknown>;
      return Object.keys(extensions).length ? { ...json, extensions } : { ...json, extensions: undefined };
    }
    return json;
  });
  const { http: _http, ...extensions } = (result.extensions ?? {}) as Record<string, unknown>;
  return JSON.stringify({ ...result, errors, extensions: Object.keys(extensions).length ? extensions : undefined });
}

function eventStreamResponse(
  results: AsyncIterable<ExecutionResult>,
  cursor: EventCursor | undefined,
  heartbeatMs: number,
  req: IncomingMessage | undefined,
  fetchAPI: { Response: typeof Response; ReadableStream: typeof ReadableStream },
) {
  let iterator: AsyncIterator<ExecutionResult> | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  // The client going away ends the subscription at once (Node's writer would notice only at its next write, and a
  // write to a closed socket never drains: the stream would be held for good).
  const socket = req?.socket;
  const gone = () => {
    clearInterval(heartbeat);
    void iterator?.return?.();
  };
  const body = new fetchAPI.ReadableStream<Uint8Array>({
    start(controller) {
      socket?.once('close', gone);
      // Some clients wait for a first byte before they report the stream open.
      controller.enqueue(encoder.encode(':\n\n'));
      heartbeat = setInterval(() => {
        if (controller.desiredSize === null) return clearInterval(heartbeat);
        // Nothing is added while the reader is behind (its socket is full): it is not idle.
        if (controller.desiredSize > 0) controller.enqueue(encoder.encode(':\n\n'));
      }, heartbeatMs);
      heartbeat.unref?.();
      iterator = results[Symbol.asyncIterator]();
    },
    async pull(controller) {
      try {
        const next = await iterator!.next();
        if (next.value != null) {
          const id = cursor?.id;
          controller.enqueue(encoder.encode(`${id ? `id: ${id}\n` : ''}event: next\ndata: ${serialise(next.value)}\n\n`));
        }
        if (next.done) {
          controller.enqueue(encoder.encode('event: complete\ndata:\n\n'));
          clearInterval(heartbeat);
          socket?.off('close', gone);
          controller.close();
        }
      } catch (error) {
        clearInterval(heartbeat);
        socket?.off('close', gone);
        controller.error(error);
      }
    },
    async cancel() {
      clearInterval(heartbeat);
      socket?.off('close', gone);
      await iterator?.return?.();
    },
  });
  return new fetchAPI.Response(body, {
    status: 200,
    headers: { 'content-type': 'text/event-stream', connection: 'keep-alive', 'cache-control': 'no-cache', 'content-encoding': 'none', 'x-accel-buffering': 'no' },
  });
}

/** Takes over streamed subscription results for clients that accept text/event-stream. */
export function useEventStream(cursorOf: (request: Request) => EventCursor | undefined, heartbeatMs: number): Plugin {
  return {
    onResultProcess({ request, result, setResultProcessor, serverContext }) {
      if (!(result && typeof result === 'object' && Symbol.asyncIterator in result)) return;
      const accept = request.headers.get('accept') ?? '';
      if (!/(^|,)\s*text\/event-stream/i.test(accept)) return;
      const cursor = cursorOf(request);
      setResultProcessor((results, fetchAPI) => eventStreamResponse(results as AsyncIterable<ExecutionResult>, cursor, heartbeatMs, (serverContext as { req?: IncomingMessage }).req, fetchAPI as never), 'text/event-stream');
    },
  };
}
