import type { Context } from "hono";
import type { z } from "zod";
import { linkSignals } from "../../lifecycle/linked-signal.ts";
import type { RequestLog } from "../../logging/request-log.ts";
import type { ChunkSink } from "../../service/generation-flow.ts";
import type { Gateway } from "../../service/gateway.ts";
import { readJsonBody } from "../body.ts";
import type { GatewayEnv } from "../env.ts";
import { clientClosedStatus, isClientClosed, toApiError } from "../error-response.ts";
import { sseResponse } from "../sse.ts";
import { validate } from "../validate.ts";

type Handler<Request> = (gateway: Gateway, request: Request, signal: AbortSignal, log: RequestLog) => Promise<unknown>;
type StreamHandler<Request> = (gateway: Gateway, request: Request, signal: AbortSignal, log: RequestLog, send: ChunkSink) => Promise<void>;

/**
 * The HTTP side of a generation endpoint: body -> zod -> service, JSON or SSE out. The client's
 * disconnect signal goes to the service, which stops generation and frees the sequences.
 */
export function generationRoute<Schema extends z.ZodType<{ stream?: boolean | null }>>(
  gateway: Gateway,
  schema: Schema,
  handle: Handler<z.infer<Schema>>,
  stream: StreamHandler<z.infer<Schema>>,
) {
  return async (c: Context<GatewayEnv>): Promise<Response> => {
    const request = validate(schema, await readJsonBody(c.req.raw, gateway.config.maxBodyBytes));
    // The client's disconnect, or the server's own cut at shutdown's deadline (whose reason is the
    // error to report); unlinked from the gateway's long-lived signal once the request has ended.
    const linked = linkSignals([c.req.raw.signal, gateway.deadlineSignal]);
    const signal = linked.signal;
    const log = c.get("log");
    if (gateway.config.logPrompts) log.set({ prompt: "messages" in request ? request.messages : (request as { prompt?: unknown }).prompt });
    if (request.stream !== true) {
      try {
        return c.json(await handle(gateway, request, signal, log));
      } finally {
        linked[Symbol.dispose]();
      }
    }
    log.deferred = true;
    try {
      return await sseResponse({
        run: (send) => stream(gateway, request, signal, log, send),
        errorPayload: (error) => toApiError(error).toBody(),
        isClientGone: isClientClosed,
        done: (outcome, error) => {
          linked[Symbol.dispose]();
          if (outcome === "complete") return log.finish(200);
          if (outcome === "client_closed") return log.finish(clientClosedStatus);
          // The status the server chose (504 timeout, 503 shutdown, ...), though the client saw 200 and then the error event.
          const apiError = toApiError(error);
          log.set({ error: `after streaming started: ${apiError.message}` });
          log.finish(apiError.status);
        },
        headers: { "x-request-id": c.get("requestId") },
      });
    } catch (error) {
      linked[Symbol.dispose]();
      log.deferred = false;
      throw error;
    }
  };
}
