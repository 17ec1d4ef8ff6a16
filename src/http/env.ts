import type { RequestLog } from "../logging/request-log.ts";

/** Per-request values the middleware hands to routes. */
export interface GatewayEnv {
  Variables: {
    requestId: string;
    log: RequestLog;
  };
}
