import type { MiddlewareHandler } from "hono";
import { originNotAllowed } from "../../protocol/errors.ts";
import type { GatewayEnv } from "../env.ts";

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses (403) state-changing requests a browser sends on behalf of another site: an `Origin`
 * that is neither listed in CORS_ORIGINS nor this server's own origin, or (browsers that send no
 * Origin) `Sec-Fetch-Site: cross-site`. Clients that are not browsers send neither and pass.
 * "Own origin" counts only when the Host is an IP address or localhost: a DNS name could be
 * rebound to this machine by the very page making the request.
 */
export function originGuard(allowedOrigins: readonly string[]): MiddlewareHandler<GatewayEnv> {
  const allowed = new Set(allowedOrigins);
  return async (c, next) => {
    if (safeMethods.has(c.req.method)) return next();
    const origin = c.req.header("origin");
    if (origin === undefined) {
      if (c.req.header("sec-fetch-site") === "cross-site") throw originNotAllowed("(cross-site)");
      return next();
    }
    if (allowed.has(origin) || isOwnOrigin(origin, c.req.header("host"))) return next();
    throw originNotAllowed(origin);
  };
}

function isOwnOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return url.host === host.toLowerCase() && (url.protocol === "http:" || url.protocol === "https:") && unrebindable(url.hostname);
}

/** An IP literal or localhost (which browsers resolve to loopback themselves). */
function unrebindable(hostname: string): boolean {
  return hostname === "localhost" || /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.startsWith("[");
}
