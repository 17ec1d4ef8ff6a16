import { randomUUID } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { Logger } from "pino";
import { RequestLog } from "../../logging/request-log.ts";
import type { Activity } from "../../lifecycle/activity.ts";
import type { Metrics } from "../../metrics/metrics.ts";
import type { GatewayEnv } from "../env.ts";

const acceptableRequestId = /^[\w.:-]{1,128}$/;
/** Paths are bounded by MAX_URL_BYTES; a refused (414) one is logged cut to this. */
const loggedPathChars = 512;

/**
 * Gives every request an id (the client's x-request-id when sane), echoes it, logs one line when
 * done, and counts it as open until then (shutdown drains on that count).
 */
export function requestContext(logger: Logger, metrics: Metrics, requests: Activity): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming !== undefined && acceptableRequestId.test(incoming) ? incoming : `req_${randomUUID().replaceAll("-", "")}`;
    const log = new RequestLog(logger, requestId, c.req.method, c.req.path.slice(0, loggedPathChars), requests.begin());
    c.set("requestId", requestId);
    c.set("log", log);
    c.header("x-request-id", requestId);
    await next();
    metrics.httpRequests.inc({ method: c.req.method, route: c.req.routePath, status: String(c.res.status) });
    if (!log.deferred) log.finish(c.res.status);
  };
}
