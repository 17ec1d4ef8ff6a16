import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { unauthorized } from "../../protocol/errors.ts";
import type { GatewayEnv } from "../env.ts";

export interface AuthOptions {
  keys: readonly string[];
  /** Paths anyone may call. */
  publicPaths: ReadonlySet<string>;
}

/**
 * One rule for every route: `Authorization: Bearer <key>` with a configured key. Keys are
 * compared as SHA-256 digests with timingSafeEqual, against every key, so timing reveals
 * neither the key nor which one matched. No keys configured: everything is open.
 */
export function auth(options: AuthOptions): MiddlewareHandler<GatewayEnv> {
  const digests = options.keys.map(digest);
  return async (c, next) => {
    if (digests.length === 0 || options.publicPaths.has(c.req.path)) return next();
    const header = c.req.header("authorization") ?? "";
    const presented = digest(header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : "");
    let matched = false;
    for (const known of digests) matched = timingSafeEqual(known, presented) || matched;
    if (!matched) throw unauthorized();
    return next();
  };
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}
