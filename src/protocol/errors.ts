/**
 * Errors are values: every failure the gateway reports is an ApiError, mapped to HTTP in one
 * place (src/http/error-response.ts) and rendered in the OpenAI shape.
 */
export type ApiErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "timeout_error"
  | "service_unavailable_error"
  | "server_error";

export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ApiErrorType,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Seconds for a Retry-After header. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }

  toBody(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null): ApiError =>
  new ApiError(400, "invalid_request_error", message, param, code);

export const contextLengthExceeded = (message: string, param: string): ApiError =>
  new ApiError(400, "invalid_request_error", message, param, "context_length_exceeded");

export const unauthorized = (): ApiError =>
  new ApiError(401, "authentication_error", "Incorrect or missing API key.", null, "invalid_api_key");

export const forbidden = (): ApiError =>
  new ApiError(403, "permission_error", "This API key may not call this route; it needs an admin key (ADMIN_API_KEYS).", null, "insufficient_permissions");

export const modelNotFound = (model: string): ApiError =>
  new ApiError(404, "invalid_request_error", `The model \`${model}\` does not exist.`, "model", "model_not_found");

export const routeNotFound = (path: string): ApiError =>
  new ApiError(404, "not_found_error", `No route for ${path}.`, null, "not_found");

export const payloadTooLarge = (limit: number): ApiError =>
  new ApiError(413, "invalid_request_error", `Request body exceeds ${limit} bytes.`, null, "payload_too_large");

export const unsupportedMediaType = (): ApiError =>
  new ApiError(415, "invalid_request_error", "This route takes a JSON body: send it with Content-Type: application/json.", null, "unsupported_media_type");

export const originNotAllowed = (origin: string): ApiError =>
  new ApiError(403, "permission_error", `Requests from the browser origin ${JSON.stringify(origin.slice(0, 200))} may not change state here; list it in CORS_ORIGINS to allow it.`, null, "origin_not_allowed");

export const uriTooLong = (limit: number): ApiError =>
  new ApiError(414, "invalid_request_error", `The request URL exceeds ${limit} bytes.`, null, "uri_too_long");

export const headersTooLarge = (limit: number): ApiError =>
  new ApiError(431, "invalid_request_error", `The request line and headers exceed ${limit} bytes.`, null, "headers_too_large");

export const queueFull = (retryAfter: number): ApiError =>
  new ApiError(429, "rate_limit_error", "The server is at capacity; retry later.", null, "rate_limit_exceeded", retryAfter);

export const requestTimeout = (ms: number): ApiError =>
  new ApiError(504, "timeout_error", `The request did not finish within ${ms} ms.`, null, "request_timeout");

export const shuttingDown = (): ApiError =>
  new ApiError(503, "service_unavailable_error", "The server is shutting down.", null, "shutting_down");

export const shutdownDeadline = (ms: number): ApiError =>
  new ApiError(503, "service_unavailable_error", `The server shut down before this request finished (SHUTDOWN_DEADLINE_MS is ${ms}).`, null, "shutting_down");

export const notReady = (): ApiError =>
  new ApiError(503, "service_unavailable_error", "The models are still loading.", null, "not_ready");

export const storeUnavailable = (retryAfter: number): ApiError =>
  new ApiError(503, "service_unavailable_error", "The shared store (Redis) is unreachable; this route needs it. Retry later.", null, "store_unavailable", retryAfter);

export const internalError = (): ApiError =>
  new ApiError(500, "server_error", "The server had an error while processing your request.", null, "internal_error");

/** The client went away; nothing is sent, but the work must stop. */
export class ClientClosed extends Error {
  constructor() {
    super("Client closed the connection");
    this.name = "ClientClosed";
  }
}
