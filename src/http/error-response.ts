import { UnsupportedTensorTypeError } from "../../kernels/gguf/errors.ts";
import { ApiError, ClientClosed, internalError, invalidRequest, storeUnavailable } from "../protocol/errors.ts";
import { StoreUnavailable } from "../store/store-unavailable.ts";

/** The one place an error becomes an HTTP status and an OpenAI-shaped body. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof StoreUnavailable) return storeUnavailable(error.retryAfterSeconds);
  // A GGUF tensor type the tfjs side cannot decode is a property of the file, not a server fault (no server path in the message).
  if (error instanceof UnsupportedTensorTypeError) {
    const tensor = error.tensor === undefined ? "A GGUF tensor" : `GGUF tensor ${error.tensor}`;
    return invalidRequest(`${tensor} has type ${error.typeName}, which this server cannot decode.`, null, "unsupported_tensor_type");
  }
  return internalError();
}

export function errorResponse(error: ApiError, requestId: string): Response {
  const headers = new Headers({ "content-type": "application/json", "x-request-id": requestId });
  if (error.retryAfter !== undefined) headers.set("retry-after", String(error.retryAfter));
  return new Response(JSON.stringify(error.toBody()), { status: error.status, headers });
}

/** Nginx's convention for "client closed request": logged, never sent. */
export const clientClosedStatus = 499;

export function isClientClosed(error: unknown): boolean {
  return error instanceof ClientClosed;
}
