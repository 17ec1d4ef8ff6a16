import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { forbidden, unauthorized } from "../../protocol/errors.ts";
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
  const matches = keyMatcher(options.keys);
  return async (c, next) => {
    if (options.keys.length === 0 || options.publicPaths.has(c.req.path)) return next();
    if (!matches(c.req.header("authorization"))) throw unauthorized();
    return next();
  };
}

/**
 * For admin routes, after `auth`: when any key is configured, only ADMIN_API_KEYS pass (403 for
 * other valid keys). With no keys at all the gateway is open, admin routes included, as `auth` is.
 */
export function adminOnly(options: { apiKeys: readonly string[]; adminKeys: readonly string[] }): MiddlewareHandler<GatewayEnv> {
  const matches = keyMatcher(options.adminKeys);
  const open = options.apiKeys.length + options.adminKeys.length === 0;
  return async (c, next) => {
    if (!open && !matches(c.req.header("authorization"))) throw forbidden();
    return next();
  };
}

/** Whether an Authorization header carries one of `keys`. */
function keyMatcher(keys: readonly string[]): (header: string | undefined) => boolean {
  const digests = keys.map(digest);
  return (header = "") => {
    const presented = digest(bearerToken(header));
    let matched = false;
    for (const known of digests) matched = timingSafeEqual(known, presented) || matched;
    return matched;
  };
}

/** The credentials of `Bearer <token>`; the scheme is case-insensitive (RFC 7235 section 2.1). */
function bearerToken(header: string): string {
  const match = /^bearer[ \t]+(.*)$/is.exec(header.trim());
  return match === null ? "" : match[1]!.trim();
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}
