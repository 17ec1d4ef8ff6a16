import type { MiddlewareHandler } from "hono";
import { uriTooLong } from "../../protocol/errors.ts";
import type { GatewayEnv } from "../env.ts";

/**
 * Refuses (414) a request whose path and query exceed `maxBytes`, before any route reads them
 * or the request log writes them. Headers as a whole are bounded by the HTTP server (see client-errors.ts).
 */
export function urlLimit(maxBytes: number): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const url = c.req.url;
    const target = url.slice(url.indexOf("/", url.indexOf("//") + 2));
    if (Buffer.byteLength(target) > maxBytes) throw uriTooLong(maxBytes);
    return next();
  };
}
