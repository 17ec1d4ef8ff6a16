import type { Socket } from "node:net";
import { headersTooLarge, invalidRequest, type ApiError } from "../protocol/errors.ts";

/**
 * Answers what Node's HTTP parser refuses before any route sees it (headers past maxHeaderSize,
 * a malformed request line) in the OpenAI error shape, then closes the connection.
 */
export function clientErrorHandler(maxHeaderBytes: number): (error: Error & { code?: string }, socket: Socket) => void {
  return (error, socket) => {
    if (!socket.writable) return socket.destroy();
    const apiError: ApiError = error.code === "HPE_HEADER_OVERFLOW" ? headersTooLarge(maxHeaderBytes) : invalidRequest("The HTTP request is malformed.", null, "bad_request");
    const body = JSON.stringify(apiError.toBody());
    socket.end(`HTTP/1.1 ${apiError.status} ${apiError.status === 431 ? "Request Header Fields Too Large" : "Bad Request"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  };
}
