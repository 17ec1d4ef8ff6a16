import type { ChunkSink } from "../service/generation-flow.ts";

export interface SseHandlers {
  /** The response is committed (200) once the first chunk is sent; errors before that are thrown. */
  run(send: ChunkSink): Promise<void>;
  /** An error after the stream started: its payload is sent as a final event. */
  errorPayload(error: unknown): unknown;
  isClientGone(error: unknown): boolean;
  /** Called once when the stream ends, with whether the client saw all of it (and the error when it failed). */
  done(outcome: "complete" | "failed" | "client_closed", error?: unknown): void;
  headers: Record<string, string>;
}

const encoder = new TextEncoder();
const bufferedChunks = 64;

/**
 * Data-only server-sent events as OpenAI sends them: `data: {json}\n\n` per chunk, ending with
 * `data: [DONE]`. Up to `bufferedChunks` chunks may wait for the client; beyond that `send`
 * waits (backpressure). Generation does not wait for each chunk to reach the socket, so the
 * sequences of concurrent requests keep landing in the same llama.cpp batch. A reader that goes
 * away makes the next send fail, which ends generation.
 */
export async function sseResponse(handlers: SseHandlers): Promise<Response> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>({}, new CountQueuingStrategy({ highWaterMark: bufferedChunks }));
  const writer = writable.getWriter();
  let started!: () => void;
  const firstChunk = new Promise<void>((resolve) => (started = resolve));
  const send: ChunkSink = async (payload) => {
    started();
    await writer.ready;
    // Failures surface through writer.ready on the next send, and through close() at the end.
    writer.write(encoder.encode(`data: ${JSON.stringify(payload)}\n\n`)).catch(() => undefined);
  };
  const finish = async (outcome: "complete" | "failed" | "client_closed", error?: unknown): Promise<void> => {
    try {
      if (outcome === "failed") await writer.write(encoder.encode(`data: ${JSON.stringify(handlers.errorPayload(error))}\n\n`));
      if (outcome !== "client_closed") await writer.write(encoder.encode("data: [DONE]\n\n"));
      await writer.close();
    } catch {
      outcome = "client_closed";
    }
    handlers.done(outcome, error);
  };
  const running = handlers.run(send);
  // Until the first chunk, a failure (validation, 429, timeout in the queue) is still a plain HTTP error.
  await Promise.race([firstChunk, running]);
  running.then(
    () => finish("complete"),
    (error: unknown) => finish(handlers.isClientGone(error) || writer.desiredSize === null ? "client_closed" : "failed", error),
  );
  return new Response(readable, {
    status: 200,
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", ...handlers.headers },
  });
}
